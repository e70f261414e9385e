"""Send exports to a PACS: C-ECHO ("Test connection") and C-STORE with pynetdicom.

Every failure becomes a :class:`PacsError` with one sentence saying what to check: unreachable, association
refused (typically an AE title the PACS does not know), no answer within the timeout, or a non-zero C-STORE status.
The exported file is only read, never moved or deleted, so it can be re-sent.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from vald_desktop.core.base.errors import PacsError

DEFAULT_CALLING_AET = "VALDMD"
_VERIFICATION = "1.2.840.10008.1.1"
RETRIEVE_METHODS = ("get", "move")


@dataclass(frozen=True)
class PacsNode:
    """A DICOM node: where to send (host, port, called AE title) and who we are (calling AE title)."""

    host: str
    port: int
    ae_title: str = "ANY-SCP"
    calling_ae_title: str = DEFAULT_CALLING_AET
    timeout: float = 10.0  # seconds, for connecting, association and each DIMSE answer
    # How series come back: "get" (C-GET on the same connection) or "move" (C-MOVE to this workstation's own
    # storage SCP, listening on ``store_port`` under the calling AE title; the PACS must know that address).
    retrieve: str = "get"
    store_port: int = 11112

    def __post_init__(self) -> None:
        if not self.host:
            raise PacsError("The PACS host is empty; enter a host name or IP address.")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise PacsError(f"The PACS port must be a number between 1 and 65535 (got {self.port}).")
        for label, aet in (("called", self.ae_title), ("calling", self.calling_ae_title)):
            if not aet or len(aet) > 16 or not aet.isascii() or "\\" in aet or not aet.strip():
                raise PacsError(f"The {label} AE title must be 1 to 16 plain characters (got {aet!r}).")
        if not self.timeout > 0:
            raise PacsError("The PACS timeout must be more than 0 seconds.")
        if self.retrieve not in RETRIEVE_METHODS:
            raise PacsError(
                f"Series are retrieved with C-GET or C-MOVE (get or move), not {self.retrieve!r}."
            )
        if (
            isinstance(self.store_port, bool)
            or not isinstance(self.store_port, int)
            or not 0 < self.store_port < 65536
        ):
            raise PacsError(f"The storage port must be a number between 1 and 65535 (got {self.store_port}).")

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PacsNode:
        keys = ("host", "port", "ae_title", "calling_ae_title", "timeout", "retrieve", "store_port")
        return cls(**{k: data[k] for k in keys if k in data})


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``[v6]:PORT``) -> (host, port), with a clear error for anything else."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit():
        raise PacsError(f"Give the PACS address as HOST:PORT, for example 127.0.0.1:4242 (got {text!r}).")
    return host, int(port)


def echo(node: PacsNode) -> None:
    """C-ECHO: raise :class:`PacsError` unless the node answers with Success."""
    assoc = _associate(node, [_VERIFICATION])
    try:
        status = assoc.send_c_echo()
    finally:
        release(assoc)
    check_status(node, status, "test connection")


def store(node: PacsNode, item: str | os.PathLike[str] | Dataset) -> None:
    """C-STORE one DICOM file (a path) or dataset; raise :class:`PacsError` unless the node reports Success.

    Warning statuses (0xB000, 0xB007, 0xB006: stored with coercion) count as stored.
    """
    dataset = load_for_sending(item)
    assoc = _associate(node, [str(dataset.SOPClassUID)], dataset)
    try:
        status = assoc.send_c_store(dataset)
    finally:
        release(assoc)
    check_status(node, status, "store the image")


def load_for_sending(item: str | os.PathLike[str] | Dataset) -> Dataset:
    """The dataset of a DICOM file (or the dataset itself), refused unless it has SOP Class and Instance UIDs."""
    if isinstance(item, Dataset):
        dataset = item
    else:
        path = Path(item)
        try:
            dataset = dcmread(path)
        except FileNotFoundError:
            raise PacsError(f"{path.name} does not exist, so there is nothing to send.") from None
        except (InvalidDicomError, OSError, ValueError):
            raise PacsError(f"{path.name} is not a readable DICOM file, so it cannot be sent.") from None
    if not str(dataset.get("SOPClassUID", "")) or "SOPInstanceUID" not in dataset:
        raise PacsError("This file has no SOP Class or Instance UID, so it cannot be sent to a PACS.")
    return dataset


def _associate(node: PacsNode, sop_classes: list[str], dataset: Dataset | None = None) -> Any:
    ae = new_ae(node)
    syntaxes = None
    if dataset is not None and getattr(dataset, "file_meta", None) is not None:
        ts = dataset.file_meta.get("TransferSyntaxUID")
        # Offer the file's own syntax plus the uncompressed defaults so the SCP can pick one.
        if ts:
            syntaxes = list(dict.fromkeys([str(ts), "1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]))
    for uid in sop_classes:
        if syntaxes:
            ae.add_requested_context(uid, syntaxes)
        else:
            ae.add_requested_context(uid)
    return associate(node, ae)


def new_ae(node: PacsNode) -> Any:
    """A pynetdicom AE with this node's calling AE title and timeouts (no presentation contexts yet)."""
    from pynetdicom import AE  # imported here: pynetdicom is only needed when a user talks to a PACS

    ae = AE(ae_title=node.calling_ae_title)
    ae.connection_timeout = node.timeout
    ae.acse_timeout = node.timeout
    ae.dimse_timeout = node.timeout
    ae.network_timeout = node.timeout
    # pynetdicom logs every PDU (and every identifier: patient data) at INFO/DEBUG; keep the app's log clean.
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    return ae


def associate(
    node: PacsNode, ae: Any, ext_neg: list[Any] | None = None, evt_handlers: list[Any] | None = None
) -> Any:
    """Open an association from ``ae`` to ``node``; every failure is one :class:`PacsError` sentence.

    ``ext_neg`` (e.g. SCP roles for C-GET) and ``evt_handlers`` (its C-STORE handler) go to pynetdicom as they are.
    """
    _probe(node)
    started = time.monotonic()
    assoc = ae.associate(
        node.host, node.port, ae_title=node.ae_title, ext_neg=ext_neg, evt_handlers=evt_handlers
    )
    if assoc.is_established:
        return assoc
    refused = (
        f"The PACS at {node.address} refused the connection from AE title {node.calling_ae_title}; "
        f"ask its administrator to allow this AE title, or check the called AE title {node.ae_title}."
    )
    if assoc.is_rejected:
        raise PacsError(refused)
    if time.monotonic() - started >= 0.9 * node.timeout:
        raise PacsError(
            f"The PACS at {node.address} did not answer within {node.timeout:g} s; check the address."
        )
    # Closed early without a proper rejection: some servers (and races with a fast close) look like this.
    raise PacsError(refused)


def _probe(node: PacsNode) -> None:
    # A plain TCP connect first, so "nothing listens there" and "no such host" get their own sentence.
    try:
        with socket.create_connection((node.host, node.port), timeout=node.timeout):
            pass
    except socket.gaierror:
        raise PacsError(f"The PACS host {node.host} is unknown; check its name.") from None
    except TimeoutError:
        raise PacsError(
            f"The PACS at {node.address} did not answer within {node.timeout:g} s; check the address."
        ) from None
    except OSError:
        raise PacsError(
            f"Cannot reach the PACS at {node.address}; check the host and port and that the server is running."
        ) from None


def release(assoc: Any) -> None:
    if assoc.is_established:
        assoc.release()


def check_status(node: PacsNode, status: Dataset | None, what: str) -> None:
    if status is None or "Status" not in status:
        raise PacsError(
            f"The PACS at {node.address} did not answer the request to {what} within {node.timeout:g} s; "
            "the file was not confirmed as stored."
        )
    code = int(status.Status)
    if code == 0x0000 or code in (0xB000, 0xB006, 0xB007):
        return
    raise PacsError(
        f"The PACS at {node.address} rejected the request to {what} (status 0x{code:04X}); "
        "the file stays on disk and can be sent again."
    )


def config_path() -> Path:
    """Where the configured PACS node is kept ($VALD_PACS_CONFIG overrides, for tests and shared set-ups)."""
    override = os.environ.get("VALD_PACS_CONFIG")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("vald-desktop")) / "pacs.json"


def load_node(path: str | os.PathLike[str] | None = None) -> PacsNode | None:
    """The saved PACS node, or None when none was saved."""
    path = Path(path) if path is not None else config_path()
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
        return PacsNode.from_dict(data)
    except (OSError, ValueError, TypeError):
        raise PacsError(f"The saved PACS settings in {path.name} are unreadable; enter them again.") from None


def save_node(node: PacsNode, path: str | os.PathLike[str] | None = None) -> Path:
    """Persist ``node`` (atomically) so the GUI and ``vald send`` find it next time."""
    from vald_desktop.core.base.atomic import write_text

    path = Path(path) if path is not None else config_path()
    return write_text(path, json.dumps(node.to_dict(), indent=2) + "\n")
