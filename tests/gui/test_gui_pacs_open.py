"""File > Open from PACS… in the real window: search, choose, open; errors with Retry; Cancel; a PACS lung SEG.

A private Orthanc on loopback holds small synthetic films (tests/pacs_films.py); the saved node and the cache of
opened series live in temporary folders, never the user's.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
from orthanc_server import orthanc_fixture  # noqa: F401 - the shared ``orthanc`` fixture
from pacs_films import Film, archive, make_film
from PIL import Image
from PySide6.QtCore import Qt

from vald_desktop.core.export import pacs_cache
from vald_desktop.core.export.pacs import PacsNode, save_node

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def private_places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VALD_PACS_CONFIG", str(tmp_path / "config" / "pacs.json"))
    monkeypatch.setenv(pacs_cache.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def films(orthanc) -> list[Film]:  # type: ignore[no-untyped-def]
    stock = archive()
    for film in stock:
        orthanc.upload(film.data)
    return stock


def _save(server, port: int | None = None, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    save_node(
        PacsNode("127.0.0.1", port or server.dicom_port, server.aet, server.allowed_aet, timeout=timeout)
    )


def _click(qtbot, button) -> None:  # type: ignore[no-untyped-def]
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_open_from_pacs_is_in_the_file_menu_and_asks_for_a_node_first(make_window) -> None:  # type: ignore[no-untyped-def]
    w = make_window(engine=object())
    file_menu = w.menuBar().actions()[0].menu()
    assert "Open from PACS…" in [a.text() for a in file_menu.actions()]
    assert w.pacs_opener.open_dialog() is None
    assert "Set up the PACS node first" in (w.last_error or "")


@pytest.mark.orthanc
@pytest.mark.slow
def test_search_choose_a_series_and_open_it(
    make_window, orthanc, films: list[Film], private_places: Path, qtbot
) -> None:  # type: ignore[no-untyped-def]
    _save(orthanc)
    w = make_window(engine=object())
    dlg = w.pacs_opener.open_dialog()
    assert dlg is not None
    qtbot.keyClicks(dlg.patient_id, "PAT-001")
    _click(qtbot, dlg.search_button)
    qtbot.waitUntil(lambda: dlg.study_table.rowCount() == 2, timeout=20000)
    assert (
        dlg.study_table.item(0, 0).text() == "2024-01-15" and dlg.study_table.item(0, 2).text() == "Doe Jane"
    )
    dlg.study_table.selectRow(0)
    qtbot.waitUntil(
        lambda: dlg.series_table.rowCount() == 2 and not w.pacs_opener.browser.busy, timeout=20000
    )
    row = [s.series_uid for s in dlg.series].index(films[1].series_uid)
    dlg.series_table.selectRow(row)
    _click(qtbot, dlg.open_button)
    qtbot.waitUntil(lambda: w.film is not None, timeout=60000)
    assert w.film.dataset.SOPInstanceUID in {films[1].sop_uid, films[2].sop_uid}
    qtbot.waitUntil(lambda: len(w.files.folder_films) == 2, timeout=20000)  # PgDown reaches the other film
    assert all(p.is_relative_to(private_places) for p in w.pacs_opener.last_opened.files)
    assert w.pacs_opener.dialog is None  # closed once the series was opened
    dlg = w.pacs_opener.open_dialog()
    _click(qtbot, dlg.clear_cache_button)
    assert "Cache emptied" in dlg.status_label.text() and pacs_cache.usage(private_places).series == 0


@pytest.mark.orthanc
def test_a_failed_search_is_one_sentence_with_retry(make_window, orthanc, closed_port: int, qtbot) -> None:  # type: ignore[no-untyped-def]
    _save(orthanc, port=closed_port)
    w = make_window(engine=object())
    dlg = w.pacs_opener.open_dialog()
    qtbot.keyClicks(dlg.dates, "someday")
    _click(qtbot, dlg.search_button)
    assert "FROM-TO" in dlg.error_label.text() and dlg.retry_button.isHidden()  # nothing was sent
    dlg.dates.clear()
    _click(qtbot, dlg.search_button)
    qtbot.waitUntil(lambda: "Cannot reach the PACS" in dlg.error_label.text(), timeout=20000)
    assert "\n" not in dlg.error_label.text() and not dlg.retry_button.isHidden()
    _click(qtbot, dlg.retry_button)
    assert dlg.error_label.text() == ""  # the request went again
    qtbot.waitUntil(lambda: "Cannot reach the PACS" in dlg.error_label.text(), timeout=20000)


@pytest.fixture
def silent_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        yield listener.getsockname()[1]


@pytest.mark.slow
def test_cancel_stops_a_search_at_a_silent_pacs(make_window, silent_port: int, qtbot) -> None:  # type: ignore[no-untyped-def]
    save_node(PacsNode("127.0.0.1", silent_port, "SILENT", "VALDTEST", timeout=30.0))
    w = make_window(engine=object())
    dlg = w.pacs_opener.open_dialog()
    _click(qtbot, dlg.search_button)
    qtbot.waitUntil(lambda: dlg.cancel_button.isVisible(), timeout=5000)
    assert not dlg.search_button.isEnabled()
    t0 = time.monotonic()
    _click(qtbot, dlg.cancel_button)
    qtbot.waitUntil(lambda: dlg.status_label.text() == "Cancelled.", timeout=15000)
    assert time.monotonic() - t0 < 10, "cancel must not wait for the 30 s timeout"
    assert dlg.search_button.isEnabled() and dlg.error_label.text() == ""


@pytest.mark.orthanc
@pytest.mark.slow
def test_a_lung_segmentation_from_the_pacs_becomes_the_film_s_mask(
    make_window, orthanc, tmp_path: Path, qtbot
) -> None:  # type: ignore[no-untyped-def]
    from vald_desktop.core.export.dicom_derived import prepare_source
    from vald_desktop.core.export.dicom_sc import write_dicom
    from vald_desktop.core.export.dicom_seg import build_segmentation
    from vald_desktop.core.masks.lung_mask import LungMask

    film = make_film("PAT-SEG", "Seg^Case", "20240601", "ACC-SEG", "CR", shape=(96, 80))
    orthanc.upload(film.data)
    path = tmp_path / "film.dcm"
    path.write_bytes(film.data)
    left = np.zeros((96, 80), bool)
    right = np.zeros((96, 80), bool)
    right[20:80, 10:34] = True  # image left = the patient's right lung
    left[24:76, 46:70] = True
    source = prepare_source(pydicom.dcmread(path), deidentified=False)
    seg = build_segmentation(source, LungMask(left | right, left, right, "file"), None)
    orthanc.upload(write_dicom(tmp_path / "seg.dcm", seg).read_bytes())
    _save(orthanc)
    drawn = np.zeros((96, 80), np.uint8)
    drawn[30:60, 5:75] = 255  # the mask the film came with, replaced by the radiologist's SEG below
    Image.fromarray(drawn).save(tmp_path / "film-lungmask.png")
    w = make_window(engine=object())
    assert w.open_path(path)
    qtbot.waitUntil(lambda: w.film is not None and w.mask_editor.edit is not None, timeout=60000)
    dlg = w.pacs_opener.open_dialog()
    qtbot.keyClicks(dlg.accession, "ACC-SEG")
    _click(qtbot, dlg.search_button)
    qtbot.waitUntil(lambda: len(dlg.series) == 2 and not w.pacs_opener.browser.busy, timeout=20000)
    dlg.series_table.selectRow([s.modality for s in dlg.series].index("SEG"))
    _click(qtbot, dlg.open_button)
    qtbot.waitUntil(lambda: "PACS segmentation" in w.statusBar().currentMessage(), timeout=30000)
    mask = w.mask_editor.lung_mask()
    assert mask is not None and np.array_equal(mask.mask, left | right)
