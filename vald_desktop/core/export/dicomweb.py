"""DICOMweb with dicomweb-client: QIDO-RS searches, WADO-RS retrieves and STOW-RS stores against one base URL.

A :class:`DicomWebNode` is the base URL plus how to sign in (HTTP basic auth with a user name and password, or a
bearer token) and how to trust the server (TLS certificates are verified, against the system's authorities or a
CA bundle the user names; turning verification off is a per-node choice for test servers). It is saved beside the
DIMSE node (``dicomweb.json``, readable by the user only, since it may hold a password or token).

Every failure becomes one :class:`PacsError` sentence (unreachable, untrusted certificate, refused credentials,
no DICOMweb service at that address, refused store); answers (patient data) are never logged.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydicom.dataset import Dataset

from vald_desktop.core.base.errors import Cancelled, PacsError
from vald_desktop.core.export.incoming import Retrieved, Staging, nothing_received
from vald_desktop.core.export.remote_types import (
    Cancel,
    Progress,
    SeriesMatch,
    StudyMatch,
    StudyQuery,
    as_int,
    cancellable,
    series_matches,
    sort_studies,
    study_match,
)

PASSWORD_ENV = "VALD_DICOMWEB_PASSWORD"
TOKEN_ENV = "VALD_DICOMWEB_TOKEN"
_STUDY_FIELDS = [
    "PatientBirthDate",
    "StudyDescription",
    "ModalitiesInStudy",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
]
_SERIES_FIELDS = ["SeriesDescription", "SeriesNumber", "NumberOfSeriesRelatedInstances"]


@dataclass(frozen=True)
class DicomWebNode:
    """A DICOMweb service: base URL (QIDO, WADO and STOW under it), sign-in and TLS trust."""

    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    verify_tls: bool = True
    ca_bundle: str = ""  # a PEM file of the authorities to trust instead of the system's
    timeout: float = 30.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PacsError(
                f"Give the DICOMweb address as a URL, for example https://pacs.example/dicom-web (got {self.url!r})."
            )
        if parts.username or parts.password:
            raise PacsError("Put the user name and password in their own fields, not in the DICOMweb URL.")
        if self.token and (self.username or self.password):
            raise PacsError(
                "Sign in to the DICOMweb server with a user name and password or a token, not both."
            )
        if self.password and not self.username:
            raise PacsError("A DICOMweb password needs a user name.")
        if not self.timeout > 0:
            raise PacsError("The DICOMweb timeout must be more than 0 seconds.")

    @property
    def address(self) -> str:
        return self.url.strip().rstrip("/")

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or self.url

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DicomWebNode:
        keys = ("url", "username", "password", "token", "verify_tls", "ca_bundle", "timeout")
        return cls(**{k: data[k] for k in keys if k in data})


# -- the saved node ---------------------------------------------------------------------------------------------
def config_path() -> Path:
    """``dicomweb.json`` beside the DIMSE node's file (``$VALD_PACS_CONFIG`` moves both)."""
    from vald_desktop.core.export.pacs import config_path as dimse_path

    return dimse_path().with_name("dicomweb.json")


def load_node(path: str | os.PathLike[str] | None = None) -> DicomWebNode | None:
    path = Path(path) if path is not None else config_path()
    if not path.is_file():
        return None
    try:
        return DicomWebNode.from_dict(json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, TypeError):
        raise PacsError(
            f"The saved DICOMweb settings in {path.name} are unreadable; enter them again."
        ) from None


def save_node(node: DicomWebNode, path: str | os.PathLike[str] | None = None) -> Path:
    """Persist ``node`` atomically, readable by this user only (it may hold a password or token)."""
    from vald_desktop.core.base.atomic import atomic_path

    path = Path(path) if path is not None else config_path()
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(node.to_dict(), indent=2) + "\n", encoding="utf-8")
        tmp.chmod(0o600)
    return path


# -- the client -------------------------------------------------------------------------------------------------
def _client(node: DicomWebNode) -> Any:
    import logging

    import requests
    from dicomweb_client.api import DICOMwebClient

    class Session(requests.Session):
        """The node's TLS choice on every request (requests would let $REQUESTS_CA_BUNDLE override a session's
        CA bundle), and QIDO wildcards sent as ``*`` (some servers, Orthanc's plugin among them, do not decode
        ``%2A``)."""

        def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("verify", self.verify)
            if isinstance(url, str) and "?" in url:
                path, _, query = url.partition("?")
                url = f"{path}?{query.replace('%2A', '*')}"
            return super().request(method, url, *args, **kwargs)

    if node.verify_tls and node.ca_bundle and not Path(node.ca_bundle).is_file():
        raise PacsError(f"The CA bundle {Path(node.ca_bundle).name} for the DICOMweb server does not exist.")
    # dicomweb-client logs every URL (search values: patient data) at DEBUG; keep the app's log clean.
    logging.getLogger("dicomweb_client").setLevel(logging.WARNING)
    session = Session()
    if node.username:
        session.auth = (node.username, node.password)
    if node.token:
        session.headers["Authorization"] = f"Bearer {node.token}"
    session.verify = (node.ca_bundle or True) if node.verify_tls else False
    client = DICOMwebClient(url=node.address, session=session, timeout=node.timeout)
    client.set_http_retry_params(retry=False)  # the user has a Retry button; a failure is said at once
    return client


@contextlib.contextmanager
def _errors(node: DicomWebNode, what: str) -> Iterator[None]:
    """Turn requests / dicomweb-client failures into one sentence about ``what``."""
    import requests

    where = f"The DICOMweb server at {node.address}"
    try:
        yield
    except requests.exceptions.SSLError:
        raise PacsError(
            f"{where} presented a certificate this computer does not trust; name its CA certificate in the "
            "DICOMweb settings (or, for a test server only, turn certificate checks off)."
        ) from None
    except requests.exceptions.Timeout:
        raise PacsError(f"{where} did not answer within {node.timeout:g} s; check the address.") from None
    except requests.exceptions.ConnectionError:
        raise PacsError(
            f"Cannot reach the DICOMweb server at {node.address}; check the address and that the server is running."
        ) from None
    except requests.exceptions.HTTPError as exc:
        code = exc.response.status_code if exc.response is not None else 0
        raise PacsError(_http_sentence(where, code, what)) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise PacsError(
            f"{where} answered the request to {what} with something that is not DICOMweb ({type(exc).__name__})."
        ) from None


def _http_sentence(where: str, code: int, what: str) -> str:
    if code == 401:
        return f"{where} refused the sign-in (HTTP 401); check the user name and password, or the token."
    if code == 403:
        return f"{where} does not allow this account to {what} (HTTP 403)."
    if code == 404:
        return (
            f"{where} has no such DICOMweb resource (HTTP 404); check the base URL, or the study may be gone."
        )
    if code == 409:
        return (
            f"{where} refused to {what} (HTTP 409: conflict); the file stays on disk and can be sent again."
        )
    return f"{where} could not {what} (HTTP {code})."


# -- QIDO-RS ----------------------------------------------------------------------------------------------------
def find_studies(node: DicomWebNode, query: StudyQuery, cancel: Cancel | None = None) -> list[StudyMatch]:
    filters = {
        k: v
        for k, v in (
            ("PatientID", query.patient_id),
            ("PatientName", query.name_pattern),
            ("StudyDate", query.date_range),
            ("AccessionNumber", query.accession),
            ("ModalitiesInStudy", query.modality),
        )
        if v
    }
    with _errors(node, "search"):
        client = _client(node)
        answers = cancellable(
            lambda: client.search_for_studies(
                search_filters=filters, fields=_STUDY_FIELDS, limit=query.limit
            ),
            cancel,
        )
        matches = [study_match(Dataset.from_json(a)) for a in answers]
    matches = [m for m in matches if m.study_uid]
    if query.modality:
        matches = [m for m in matches if not m.modalities or query.modality in m.modalities]
    return sort_studies(matches, query.limit)


def find_series(node: DicomWebNode, study_uid: str, cancel: Cancel | None = None) -> list[SeriesMatch]:
    with _errors(node, "search"):
        client = _client(node)
        answers = cancellable(
            lambda: client.search_for_series(study_instance_uid=study_uid, fields=_SERIES_FIELDS), cancel
        )
        found = [Dataset.from_json(a) for a in answers]
    return series_matches(study_uid, found)


# -- WADO-RS ----------------------------------------------------------------------------------------------------
def retrieve(
    node: DicomWebNode,
    study_uid: str,
    series_uid: str | None,
    target: Path,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Retrieved:
    """Fetch one series (or the whole study) into ``target``; files arrive one by one, cancel between them."""
    staging = Staging(Path(target), progress, study_uid=study_uid)

    def fetch() -> None:
        client = _client(node)
        if series_uid:
            staging.total = _series_size(client, study_uid, series_uid)
            datasets = client.iter_series(study_uid, series_uid)
        else:
            datasets = client.iter_study(study_uid)
        for ds in datasets:
            _check_cancel(cancel)
            staging.add_dataset(ds)

    try:
        with _errors(node, "send the images"):
            cancellable(fetch, cancel)  # a cancel does not wait for a slow server's next instance
        if not staging.names:
            raise nothing_received(f"The DICOMweb server at {node.address}")
        return staging.commit()
    finally:
        staging.discard()


def _series_size(client: Any, study_uid: str, series_uid: str) -> int:
    try:
        found = client.search_for_series(
            study_instance_uid=study_uid,
            search_filters={"SeriesInstanceUID": series_uid},
            fields=["NumberOfSeriesRelatedInstances"],
        )
    except Exception:  # noqa: BLE001 - only for the progress bar: the retrieve itself says what went wrong
        return 0
    sizes = [as_int(Dataset.from_json(a).get("NumberOfSeriesRelatedInstances", "")) for a in found]
    return sum(s for s in sizes if s)


# -- STOW-RS ----------------------------------------------------------------------------------------------------
def store(node: DicomWebNode, item: str | os.PathLike[str] | Dataset) -> None:
    """STOW-RS one DICOM file (a path) or dataset; raise :class:`PacsError` unless the server stored it."""
    from vald_desktop.core.export.pacs import load_for_sending

    ds = load_for_sending(item)
    with _errors(node, "store the file"):
        answer = _client(node).store_instances([ds])
    failed = answer.get("FailedSOPSequence") if answer is not None else None
    if failed:
        reason = as_int(failed[0].get("FailureReason", "")) or 0
        raise PacsError(
            f"The DICOMweb server at {node.address} refused to store the file (reason 0x{reason:04X}); "
            "the file stays on disk and can be sent again."
        )


def _check_cancel(cancel: Cancel | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("Cancelled by the user.")
