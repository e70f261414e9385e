"""One face for both kinds of PACS node: DIMSE (:class:`~.pacs.PacsNode`) and DICOMweb (:class:`~.dicomweb.DicomWebNode`).

The app's dialog, its sender and the ``vald pacs`` / ``vald send`` commands call these functions and never ask
which protocol a node speaks: search (C-FIND / QIDO-RS), retrieve (C-GET or C-MOVE / WADO-RS), store (C-STORE /
STOW-RS), test (C-ECHO / a one-study QIDO-RS search). :func:`open_series` adds the local cache in front of a
retrieve.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeAlias

from pydicom.dataset import Dataset

from vald_desktop.core.base.errors import PacsError
from vald_desktop.core.export import dicomweb, pacs, pacs_cache, pacs_query
from vald_desktop.core.export.dicomweb import DicomWebNode
from vald_desktop.core.export.incoming import Retrieved
from vald_desktop.core.export.pacs import PacsNode
from vald_desktop.core.export.remote_types import Cancel, Progress, SeriesMatch, StudyMatch, StudyQuery

Node: TypeAlias = PacsNode | DicomWebNode


def describe(node: Node) -> str:
    """How messages name the node: ``ORTHANC at 10.0.0.5:104`` or ``the DICOMweb server at https://…``."""
    if isinstance(node, DicomWebNode):
        return f"the DICOMweb server at {node.address}"
    return f"{node.ae_title} at {node.address}"


def echo(node: Node) -> None:
    """Test the connection: C-ECHO, or for DICOMweb a search that asks for one study (sign-in and TLS included)."""
    if isinstance(node, DicomWebNode):
        dicomweb.find_studies(node, StudyQuery(limit=1))
    else:
        pacs.echo(node)


def find_studies(node: Node, query: StudyQuery, cancel: Cancel | None = None) -> list[StudyMatch]:
    if isinstance(node, DicomWebNode):
        return dicomweb.find_studies(node, query, cancel)
    return pacs_query.find_studies(node, query, cancel)


def find_series(node: Node, study_uid: str, cancel: Cancel | None = None) -> list[SeriesMatch]:
    if isinstance(node, DicomWebNode):
        return dicomweb.find_series(node, study_uid, cancel)
    return pacs_query.find_series(node, study_uid, cancel)


def retrieve(
    node: Node,
    study_uid: str,
    series_uid: str | None,
    target: Path,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Retrieved:
    """Fetch a series (or the whole study) into ``target``; nothing is left there when it fails."""
    if not study_uid:
        raise PacsError("Choose a study first.")
    if isinstance(node, DicomWebNode):
        return dicomweb.retrieve(node, study_uid, series_uid, target, progress, cancel)
    return pacs_query.retrieve(node, study_uid, series_uid, target, progress, cancel)


def send(node: Node, item: str | os.PathLike[str] | Dataset) -> None:
    """Store one DICOM file or dataset: C-STORE or STOW-RS."""
    if isinstance(node, DicomWebNode):
        dicomweb.store(node, item)
    else:
        pacs.store(node, item)


def open_series(
    node: Node,
    study_uid: str,
    series_uid: str | None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Retrieved:
    """The series' files in the local cache: from the cache when complete there, else retrieved into it.

    Afterwards the cache is trimmed to its limit (the least recently used series go first, never this one).
    """
    hit = pacs_cache.cached(study_uid, series_uid)
    if hit is not None:
        if progress is not None:
            progress(len(hit), len(hit))
        return Retrieved(files=hit)
    folder = pacs_cache.series_folder(study_uid, series_uid)
    got = retrieve(node, study_uid, series_uid, folder, progress, cancel)
    pacs_cache.mark_complete(folder)
    pacs_cache.prune(keep=folder)
    return got


def load_saved(kind: str | None = None) -> Node | None:
    """The saved node: ``kind`` "dimse" or "dicomweb", or None for the DIMSE node when there is one, else DICOMweb."""
    if kind == "dicomweb":
        return dicomweb.load_node()
    dimse = pacs.load_node()
    if dimse is not None or kind == "dimse":
        return dimse
    return dicomweb.load_node()
