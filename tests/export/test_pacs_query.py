"""Query/retrieve over DIMSE against a real Orthanc on loopback: C-FIND, C-GET, C-MOVE to our SCP, the cache."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from export_helpers import free_port
from pacs_films import Film, archive, make_film

from vald_desktop.core.base.errors import Cancelled, PacsError
from vald_desktop.core.export import pacs_cache, remote
from vald_desktop.core.export.pacs import PacsNode
from vald_desktop.core.export.pacs_query import find_series, find_studies, retrieve
from vald_desktop.core.export.remote_types import StudyQuery

pytestmark = pytest.mark.orthanc


@pytest.fixture(scope="module")
def films(orthanc) -> list[Film]:  # type: ignore[no-untyped-def]
    stock = archive()
    for film in stock:
        orthanc.upload(film.data)
    return stock


def _node(server, **kw) -> PacsNode:  # type: ignore[no-untyped-def]
    return PacsNode("127.0.0.1", server.dicom_port, server.aet, server.allowed_aet, timeout=5.0, **kw)


def _study_uids(matches) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.study_uid for m in matches]


@pytest.mark.slow
def test_find_by_patient_id_name_dates_accession_and_modality(orthanc, films: list[Film]) -> None:  # type: ignore[no-untyped-def]
    node = _node(orthanc)
    jane_new, jane_old, richard, ann = films[0], films[3], films[4], films[5]
    by_id = find_studies(node, StudyQuery(patient_id="PAT-001"))
    assert _study_uids(by_id) == [jane_new.study_uid, jane_old.study_uid]  # newest first
    assert by_id[0].patient_name == "Doe^Jane" and by_id[0].accession == "ACC-1001"
    assert by_id[0].series_count == 2 and by_id[0].instance_count == 3
    assert _study_uids(find_studies(node, StudyQuery(patient_name="Doe"))) == _study_uids(by_id)
    in_2024 = find_studies(node, StudyQuery.from_form(dates="20240101-20241231"))
    assert set(_study_uids(in_2024)) == {jane_new.study_uid, richard.study_uid}
    assert _study_uids(find_studies(node, StudyQuery.from_form(dates="-20221231"))) == [ann.study_uid]
    assert _study_uids(find_studies(node, StudyQuery(accession="ACC-1002"))) == [richard.study_uid]
    dx = find_studies(node, StudyQuery(modality="DX"))
    assert set(_study_uids(dx)) == {jane_old.study_uid, richard.study_uid}
    assert find_studies(node, StudyQuery(patient_id="NOBODY")) == []
    assert len(find_studies(node, StudyQuery(limit=2))) == 2


def test_a_match_never_shows_identity_in_its_repr(orthanc, films: list[Film]) -> None:  # type: ignore[no-untyped-def]
    match = find_studies(_node(orthanc), StudyQuery(patient_id="PAT-002"))[0]
    assert "Roe" not in repr(match) and "PAT-002" not in repr(match) and "ACC-1002" not in repr(match)
    assert match.line().startswith(films[4].study_uid + "\t")


def test_names_beyond_ascii_are_found(orthanc, films: list[Film]) -> None:  # type: ignore[no-untyped-def]
    film = make_film("PAT-ÜML", "Müller^Zoë", "20250505", "ACC-UML", "CR")  # outside the other tests' ranges
    orthanc.upload(film.data)
    found = find_studies(_node(orthanc), StudyQuery(patient_name="Müller"))
    assert [(m.study_uid, m.patient_name) for m in found] == [(film.study_uid, "Müller^Zoë")]


def test_series_level_search_lists_each_series_with_its_size(orthanc, films: list[Film]) -> None:  # type: ignore[no-untyped-def]
    series = find_series(_node(orthanc), films[0].study_uid)
    assert {s.series_uid: s.instance_count for s in series} == {
        films[0].series_uid: 1,
        films[1].series_uid: 2,
    }
    assert all(s.modality == "CR" for s in series)


def test_c_get_fetches_one_series_or_the_whole_study(orthanc, films: list[Film], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    node = _node(orthanc)
    seen: list[tuple[int, int]] = []
    got = retrieve(
        node, films[1].study_uid, films[1].series_uid, tmp_path / "series", lambda d, t: seen.append((d, t))
    )
    assert {pydicom.dcmread(f).SOPInstanceUID for f in got.files} == {films[1].sop_uid, films[2].sop_uid}
    assert seen[-1] == (2, 2) and got.failed == 0
    names = " ".join(p.name for p in got.files)
    assert "Doe" not in names and "PAT" not in names  # file names carry no identity
    assert sorted(p.name for p in (tmp_path / "series").iterdir()) == sorted(p.name for p in got.files)
    study = retrieve(node, films[0].study_uid, None, tmp_path / "study")
    assert len(study.files) == 3


def test_c_move_delivers_to_our_own_storage_scp(orthanc, films: list[Film], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    # Tell Orthanc where this workstation's SCP listens (what a PACS administrator does once).
    body = f'{{"AET": "{orthanc.allowed_aet}", "Host": "127.0.0.1", "Port": {port}}}'.encode()
    orthanc.rest("/modalities/vald", data=body, method="PUT")
    node = _node(orthanc, retrieve="move", store_port=port)
    got = retrieve(node, films[4].study_uid, films[4].series_uid, tmp_path)
    assert [pydicom.dcmread(f).SOPInstanceUID for f in got.files] == [films[4].sop_uid]


def test_a_cancelled_retrieve_leaves_nothing_behind(orthanc, films: list[Film], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        retrieve(_node(orthanc), films[0].study_uid, None, tmp_path, cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_series_is_one_sentence_and_no_files(orthanc, films: list[Film], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PacsError, match="sent no images|could not send"):
        retrieve(_node(orthanc), films[0].study_uid, "1.2.3.4.5.6.7", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_and_refused_nodes_say_so(orthanc, closed_port: int, films: list[Film]) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PacsError, match="Cannot reach the PACS"):
        find_studies(PacsNode("127.0.0.1", closed_port, timeout=2.0), StudyQuery())
    stranger = PacsNode("127.0.0.1", orthanc.dicom_port, orthanc.aet, "STRANGER", timeout=5.0)
    with pytest.raises(PacsError, match="refused the connection from AE title STRANGER"):
        find_studies(stranger, StudyQuery())


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "cache"
    monkeypatch.setenv(pacs_cache.CACHE_ENV, str(root))
    yield root


def test_open_series_uses_the_cache_and_keeps_it_bounded(
    orthanc,
    films: list[Film],
    cache: Path,
    closed_port: int,  # type: ignore[no-untyped-def]
) -> None:
    node = _node(orthanc)
    first = remote.open_series(node, films[1].study_uid, films[1].series_uid)
    assert len(first.files) == 2 and first.files[0].is_relative_to(cache)
    offline = PacsNode("127.0.0.1", closed_port, timeout=1.0)
    again = remote.open_series(offline, films[1].study_uid, films[1].series_uid)  # no network needed
    assert again.files == first.files
    other = remote.open_series(node, films[4].study_uid, films[4].series_uid)
    assert pacs_cache.usage(cache).series == 2
    pacs_cache.prune(limit=1, keep=other.folder, root=cache)  # the least recently used series goes
    assert pacs_cache.usage(cache).series == 1 and all(p.exists() for p in other.files)
    assert pacs_cache.clear(cache) > 0 and pacs_cache.usage(cache).series == 0
