"""Query/retrieve without a server: search forms, dates, node checks, cancel against a silent PACS, the cache."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from vald_desktop.core.base.errors import Cancelled, PacsError
from vald_desktop.core.export import dicomweb, pacs_cache
from vald_desktop.core.export.dicomweb import DicomWebNode
from vald_desktop.core.export.dicomweb import find_studies as web_find
from vald_desktop.core.export.pacs import PacsNode
from vald_desktop.core.export.pacs_query import find_studies, retrieve
from vald_desktop.core.export.remote_types import StudyMatch, StudyQuery, parse_dates


def test_date_ranges_are_checked() -> None:
    assert parse_dates("20240101-20240131") == ("20240101", "20240131")
    assert parse_dates("2024-01-01..2024-01-31") == ("20240101", "20240131")
    assert parse_dates("2024-01-01-2024-01-31") == ("20240101", "20240131")
    assert parse_dates("20240101-") == ("20240101", "") and parse_dates("-20240101") == ("", "20240101")
    assert parse_dates("20240105") == ("20240105", "20240105") and parse_dates("") == ("", "")
    for bad in ("yesterday", "20240231-", "20240201-20240101", "-"):
        with pytest.raises(PacsError):
            parse_dates(bad)


def test_the_search_form_is_checked_and_becomes_dicom_matching_values() -> None:
    q = StudyQuery.from_form(patient_name=" Doe ", dates="20240101-20240131", modality="dx")
    assert (q.name_pattern, q.date_range, q.modality) == ("Doe*", "20240101-20240131", "DX")
    assert StudyQuery(patient_name="Do?^J*").name_pattern == "Do?^J*"
    assert StudyQuery.from_form(dates="20240105").date_range == "20240105"
    assert StudyQuery(patient_name="Müller").needs_unicode and not q.needs_unicode
    for bad in ({"patient_id": "a\\b"}, {"accession": "x" * 17}, {"limit": 0}):
        with pytest.raises(PacsError):
            StudyQuery(**bad)  # type: ignore[arg-type]


def test_a_match_hides_identity_from_logs() -> None:
    m = StudyMatch(
        "1.2.3", patient_name="Doe^Jane", patient_id="PAT-9", birth_date="19600101", accession="A-7"
    )
    assert not any(x in repr(m) for x in ("Doe", "PAT-9", "19600101", "A-7"))
    assert m.line().split("\t")[:4] == ["1.2.3", "", "PAT-9", "Doe^Jane"]


def test_retrieve_method_and_storage_port_are_checked() -> None:
    with pytest.raises(PacsError, match="C-GET or C-MOVE"):
        PacsNode("127.0.0.1", 104, retrieve="push")
    with pytest.raises(PacsError, match="storage port"):
        PacsNode("127.0.0.1", 104, retrieve="move", store_port=0)
    node = PacsNode("127.0.0.1", 104, retrieve="move", store_port=4006)
    assert PacsNode.from_dict(node.to_dict()) == node


@pytest.fixture
def silent_port():  # type: ignore[no-untyped-def]
    """A socket that accepts TCP connections but never speaks DICOM or HTTP."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        yield listener.getsockname()[1]


def _cancel_after(seconds: float) -> threading.Event:
    cancel = threading.Event()
    threading.Timer(seconds, cancel.set).start()
    return cancel


@pytest.mark.slow
def test_cancel_stops_a_search_and_a_retrieve_at_a_silent_pacs(silent_port: int, tmp_path: Path) -> None:
    node = PacsNode("127.0.0.1", silent_port, "SILENT", "VALDTEST", timeout=40.0)
    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        find_studies(node, StudyQuery(), _cancel_after(0.3))
    with pytest.raises(Cancelled):
        retrieve(node, "1.2.3", None, tmp_path / "out", cancel=_cancel_after(0.3))
    assert time.monotonic() - t0 < 15, "cancel must not wait for the 40 s timeout"
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


@pytest.mark.slow
def test_a_silent_dicomweb_server_times_out_with_a_sentence(silent_port: int) -> None:
    node = DicomWebNode(f"http://127.0.0.1:{silent_port}/dicom-web", timeout=1.0)
    with pytest.raises(PacsError, match="did not answer within 1 s"):
        web_find(node, StudyQuery())


def test_the_cache_keys_hide_uids_and_prune_keeps_the_newest(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    folders = []
    for i in range(3):
        folder = pacs_cache.series_folder("1.2.840.99", f"1.2.840.99.{i}", root)
        folder.mkdir(parents=True)
        (folder / "x.dcm").write_bytes(b"x" * 1000)
        pacs_cache.mark_complete(folder)
        time.sleep(0.01)
        folders.append(folder)
    assert "1.2.840" not in str(folders[0].relative_to(root))
    assert pacs_cache.cached("1.2.840.99", "1.2.840.99.0", root) is not None  # now the most recently used
    pacs_cache.prune(limit=2000, root=root)
    assert [f.exists() for f in folders] == [True, False, True]
    unfinished = pacs_cache.series_folder("1.2.840.99", "9", root)
    unfinished.mkdir()
    (unfinished / "y.dcm").write_bytes(b"y")
    assert pacs_cache.cached("1.2.840.99", "9", root) is None  # never reused without its mark
    assert pacs_cache.clear(root) > 0 and pacs_cache.usage(root).series == 0


def test_the_node_is_checked_and_saved_for_this_user_only(tmp_path: Path) -> None:
    for bad in ("pacs.example", "ftp://pacs.example/", "https://user:pw@pacs.example/"):
        with pytest.raises(PacsError):
            DicomWebNode(bad)
    with pytest.raises(PacsError, match="not both"):
        DicomWebNode("https://pacs.example/dicom-web", username="u", password="p", token="t")
    node = DicomWebNode("https://pacs.example/dicom-web", username="u", password="hunter2-secret")
    assert "hunter2" not in repr(node)
    path = dicomweb.save_node(node, tmp_path / "dicomweb.json")
    assert path.stat().st_mode & 0o777 == 0o600
    assert dicomweb.load_node(path) == node
