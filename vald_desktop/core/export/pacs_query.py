"""Query/retrieve over DIMSE with pynetdicom: C-FIND (study and series level), C-GET, and C-MOVE to our own SCP.

Searches use the Study Root information model. A series (or a whole study) comes back either with C-GET on the
same association (the default: no firewall opening needed) or, for a PACS that only offers C-MOVE, with C-MOVE to
a storage SCP this module starts for the duration of the retrieve, under the node's calling AE title on its
``store_port``. Received files land through :class:`~.incoming.Staging`: a failed or cancelled retrieve leaves
nothing behind.

Cancel (a :class:`threading.Event`) aborts the association within a tenth of a second. Every failure is one
:class:`PacsError` sentence; identifiers and answers (patient data) are never logged.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import (
    JPEG2000,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from vald_desktop.core.base.errors import Cancelled, PacsError
from vald_desktop.core.export.incoming import Retrieved, Staging, nothing_received
from vald_desktop.core.export.pacs import PacsNode, associate, new_ae, release
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

STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3"

# What a chest-film study may hold: projection films, captures, our own derived objects, reports; plus the
# cross-sectional classes, so a whole-study retrieve does not fail on them (the app refuses to read them later).
STORAGE_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.1",  # CR
    "1.2.840.10008.5.1.4.1.1.1.1",  # DX for presentation
    "1.2.840.10008.5.1.4.1.1.1.1.1",  # DX for processing
    "1.2.840.10008.5.1.4.1.1.1.2",  # MG for presentation
    "1.2.840.10008.5.1.4.1.1.1.3",  # intra-oral
    "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture
    "1.2.840.10008.5.1.4.1.1.7.1",  # multi-frame single bit SC
    "1.2.840.10008.5.1.4.1.1.7.2",  # multi-frame grayscale byte SC
    "1.2.840.10008.5.1.4.1.1.7.3",  # multi-frame grayscale word SC
    "1.2.840.10008.5.1.4.1.1.7.4",  # multi-frame true colour SC
    "1.2.840.10008.5.1.4.1.1.66.4",  # Segmentation
    "1.2.840.10008.5.1.4.1.1.30",  # Parametric Map
    "1.2.840.10008.5.1.4.1.1.88.11",  # Basic Text SR
    "1.2.840.10008.5.1.4.1.1.88.22",  # Enhanced SR
    "1.2.840.10008.5.1.4.1.1.88.33",  # Comprehensive SR
    "1.2.840.10008.5.1.4.1.1.88.34",  # Comprehensive 3D SR
    "1.2.840.10008.5.1.4.1.1.88.59",  # Key Object Selection
    "1.2.840.10008.5.1.4.1.1.11.1",  # Grayscale Softcopy Presentation State
    "1.2.840.10008.5.1.4.1.1.104.1",  # Encapsulated PDF
    "1.2.840.10008.5.1.4.1.1.2",  # CT
    "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT
    "1.2.840.10008.5.1.4.1.1.4",  # MR
    "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR
    "1.2.840.10008.5.1.4.1.1.6.1",  # US
    "1.2.840.10008.5.1.4.1.1.3.1",  # US multi-frame
    "1.2.840.10008.5.1.4.1.1.20",  # NM
    "1.2.840.10008.5.1.4.1.1.128",  # PET
    "1.2.840.10008.5.1.4.1.1.12.1",  # X-ray angiography
)
TRANSFER_SYNTAXES = [
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    JPEG2000Lossless,
    JPEG2000,
    JPEGLSLossless,
    JPEGLSNearLossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    RLELossless,
]
_PENDING = (0xFF00, 0xFF01)
_WARNING = 0xB000
_MOVE_DESTINATION_UNKNOWN = 0xA801
_OUT_OF_RESOURCES = 0xA700


# -- searching --------------------------------------------------------------------------------------------------
def find_studies(node: PacsNode, query: StudyQuery, cancel: Cancel | None = None) -> list[StudyMatch]:
    """Studies matching ``query``, newest first (at most ``query.limit``)."""
    ident = Dataset()
    if query.needs_unicode:
        ident.SpecificCharacterSet = "ISO_IR 192"  # UTF-8: names beyond ASCII
    ident.QueryRetrieveLevel = "STUDY"
    ident.PatientName = query.name_pattern
    ident.PatientID = query.patient_id
    ident.PatientBirthDate = ""
    ident.StudyDate = query.date_range
    ident.StudyTime = ""
    ident.AccessionNumber = query.accession
    ident.ModalitiesInStudy = query.modality
    ident.StudyDescription = ""
    ident.StudyInstanceUID = ""
    ident.NumberOfStudyRelatedSeries = ""
    ident.NumberOfStudyRelatedInstances = ""
    answers = _find(node, ident, cancel, limit=query.limit)
    matches = [m for m in map(study_match, answers) if m.study_uid]
    # A PACS that ignores ModalitiesInStudy as a key still returns the attribute: filter here too.
    if query.modality:
        matches = [m for m in matches if not m.modalities or query.modality in m.modalities]
    return sort_studies(matches, query.limit)


def find_series(node: PacsNode, study_uid: str, cancel: Cancel | None = None) -> list[SeriesMatch]:
    """The series of one study, in series-number order."""
    ident = Dataset()
    ident.QueryRetrieveLevel = "SERIES"
    ident.StudyInstanceUID = study_uid
    ident.SeriesInstanceUID = ""
    ident.Modality = ""
    ident.SeriesNumber = ""
    ident.SeriesDescription = ""
    ident.NumberOfSeriesRelatedInstances = ""
    return series_matches(study_uid, _find(node, ident, cancel, limit=10000))


def _find(node: PacsNode, ident: Dataset, cancel: Cancel | None, limit: int) -> list[Dataset]:
    ae = new_ae(node)
    ae.add_requested_context(STUDY_ROOT_FIND)
    answers: list[Dataset] = []
    with _abort_on(cancel, ae):
        assoc = _associate(node, ae, cancel)
        try:
            _require_context(node, assoc, STUDY_ROOT_FIND, "study searches (C-FIND)")
            for status, answer in assoc.send_c_find(ident, STUDY_ROOT_FIND):
                code = _status_code(node, status, "search", cancel)
                if code in _PENDING:
                    if answer is not None:
                        answers.append(answer)
                    if len(answers) >= limit:
                        break
                    continue
                if code != 0x0000:
                    raise PacsError(f"The PACS at {node.address} refused the search (status 0x{code:04X}).")
                break
        finally:
            if len(answers) >= limit and assoc.is_established:
                assoc.abort()  # enough answers: do not wait for the rest
            release(assoc)
    return answers


# -- retrieving -------------------------------------------------------------------------------------------------
def retrieve(
    node: PacsNode,
    study_uid: str,
    series_uid: str | None,
    target: Path,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Retrieved:
    """Fetch one series (or the whole study when ``series_uid`` is None) into ``target`` by C-GET or C-MOVE."""
    ident = Dataset()
    ident.QueryRetrieveLevel = "SERIES" if series_uid else "STUDY"
    ident.StudyInstanceUID = study_uid
    if series_uid:
        ident.SeriesInstanceUID = series_uid
    staging = Staging(Path(target), progress, study_uid=study_uid)
    try:
        if node.retrieve == "move":
            failed = _move(node, ident, staging, cancel)
        else:
            failed = _get(node, ident, staging, cancel)
        if not staging.names:
            raise nothing_received(f"The PACS at {node.address}")
        return staging.commit(failed)
    finally:
        staging.discard()


def _store_handler(staging: Staging, cancel: Cancel | None) -> Any:
    def on_store(event: Any) -> int:
        if cancel is not None and cancel.is_set():
            return _OUT_OF_RESOURCES
        ds = event.dataset
        ds.file_meta = event.file_meta
        try:
            kept = staging.add(ds, event.encoded_dataset())
        except Exception:  # noqa: BLE001 - a full disk answers the PACS with a failure, then the retrieve fails
            return _OUT_OF_RESOURCES
        return (
            0x0000 if kept else 0xA900
        )  # another study's object: "does not match SOP class" family of refusals

    return on_store


def _get(node: PacsNode, ident: Dataset, staging: Staging, cancel: Cancel | None) -> int:
    from pynetdicom import build_role, evt

    ae = new_ae(node)
    ae.add_requested_context(STUDY_ROOT_GET)
    roles = []
    for uid in STORAGE_CLASSES:
        ae.add_requested_context(uid, TRANSFER_SYNTAXES)
        roles.append(build_role(uid, scp_role=True))
    handlers = [(evt.EVT_C_STORE, _store_handler(staging, cancel))]
    with _abort_on(cancel, ae):
        assoc = _associate(node, ae, cancel, ext_neg=roles, evt_handlers=handlers)
        try:
            _require_context(
                node, assoc, STUDY_ROOT_GET, "retrieving with C-GET (choose C-MOVE in its settings)"
            )
            return _drive(node, assoc.send_c_get(ident, STUDY_ROOT_GET), staging, cancel)
        finally:
            release(assoc)


def _move(node: PacsNode, ident: Dataset, staging: Staging, cancel: Cancel | None) -> int:
    from pynetdicom import evt

    scp = new_ae(node)
    for uid in STORAGE_CLASSES:
        scp.add_supported_context(uid, TRANSFER_SYNTAXES)
    handlers = [(evt.EVT_C_STORE, _store_handler(staging, cancel))]
    try:
        server = scp.start_server(("", node.store_port), block=False, evt_handlers=handlers)
    except OSError:
        raise PacsError(
            f"This computer's storage port {node.store_port} is taken by another program, so C-MOVE cannot "
            "receive; choose another port in the PACS settings (and tell the PACS)."
        ) from None
    try:
        ae = new_ae(node)
        ae.add_requested_context(STUDY_ROOT_MOVE)
        with _abort_on(cancel, ae):
            assoc = _associate(node, ae, cancel)
            try:
                _require_context(
                    node, assoc, STUDY_ROOT_MOVE, "retrieving with C-MOVE (choose C-GET in its settings)"
                )
                answers = assoc.send_c_move(ident, node.calling_ae_title, STUDY_ROOT_MOVE)
                return _drive(node, answers, staging, cancel)
            finally:
                release(assoc)
    finally:
        server.shutdown()


def _drive(
    node: PacsNode, answers: Iterator[tuple[Any, Any]], staging: Staging, cancel: Cancel | None
) -> int:
    """Follow C-GET / C-MOVE responses to the end; returns how many sub-operations failed."""
    failed = 0
    for status, _ in answers:
        code = _status_code(node, status, "retrieve", cancel)
        if code in _PENDING:
            counts = [as_int(status.get(k, "")) or 0 for k in _SUBOPS]
            staging.total = max(staging.total, sum(counts))
            continue
        failed = as_int(status.get("NumberOfFailedSuboperations", "")) or 0
        if code in (0x0000, _WARNING):
            return failed
        if code == _MOVE_DESTINATION_UNKNOWN:
            raise PacsError(
                f"The PACS at {node.address} does not know this computer ({node.calling_ae_title}) as a C-MOVE "
                f"destination; ask its administrator to add it with this computer's address and port "
                f"{node.store_port}, or use C-GET."
            )
        raise PacsError(f"The PACS at {node.address} could not send the images (status 0x{code:04X}).")
    raise PacsError(f"The PACS at {node.address} stopped answering during the retrieve.")


_SUBOPS = (
    "NumberOfRemainingSuboperations",
    "NumberOfCompletedSuboperations",
    "NumberOfFailedSuboperations",
    "NumberOfWarningSuboperations",
)


# -- helpers ----------------------------------------------------------------------------------------------------
def _require_context(node: PacsNode, assoc: Any, uid: str, what: str) -> None:
    if not any(cx.abstract_syntax == uid for cx in assoc.accepted_contexts):
        raise PacsError(f"The PACS at {node.address} does not offer {what}.")


def _status_code(node: PacsNode, status: Dataset | None, what: str, cancel: Cancel | None) -> int:
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"The {what} was cancelled.")
    if status is None or "Status" not in status:
        raise PacsError(f"The PACS at {node.address} did not answer the {what} within {node.timeout:g} s.")
    return int(status.Status)


def _associate(node: PacsNode, ae: Any, cancel: Cancel | None, **kwargs: Any) -> Any:
    # pynetdicom negotiates in the calling thread and cannot be interrupted there: given up on cancel, and an
    # association that still comes up afterwards is aborted.
    return cancellable(lambda: associate(node, ae, **kwargs), cancel, late=lambda assoc: assoc.abort())


@contextlib.contextmanager
def _abort_on(cancel: Cancel | None, ae: Any) -> Iterator[None]:
    """Abort ``ae``'s associations, negotiating ones included, as soon as ``cancel`` is set (a silent PACS would
    otherwise hold us for the whole timeout); what fails because of that is reported as :class:`Cancelled`."""
    if cancel is None:
        yield
        return
    if cancel.is_set():
        raise Cancelled("Cancelled by the user.")
    finished = threading.Event()

    def watch() -> None:
        while not finished.wait(0.1):
            if cancel.is_set():
                ae.shutdown()
                return

    watcher = threading.Thread(target=watch, name="vald-pacs-cancel", daemon=True)
    watcher.start()
    try:
        yield
    except PacsError:
        if cancel.is_set():
            raise Cancelled("Cancelled by the user.") from None
        raise
    finally:
        finished.set()
        watcher.join(1.0)
    if cancel.is_set():
        raise Cancelled("Cancelled by the user.")
