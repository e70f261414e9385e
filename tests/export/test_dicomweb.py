"""DICOMweb against Orthanc's DICOMweb plugin on loopback: QIDO-RS, WADO-RS, STOW-RS, sign-in and TLS trust."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from dicomweb_proxy import TOKEN, gateway
from orthanc_server import WEB_PASSWORD, WEB_USER
from pacs_films import Film, archive
from pydicom.dataset import Dataset

from vald_desktop.core.base.errors import PacsError
from vald_desktop.core.export import dicomweb, remote
from vald_desktop.core.export.dicom_sc import build_secondary_capture, write_dicom
from vald_desktop.core.export.dicomweb import DicomWebNode
from vald_desktop.core.export.remote_types import StudyQuery

pytestmark = pytest.mark.orthanc


@pytest.fixture(scope="module")
def films(orthanc_web) -> list[Film]:  # type: ignore[no-untyped-def]
    stock = archive()
    for film in stock:
        orthanc_web.upload(film.data)
    return stock


def _node(server, **kw) -> DicomWebNode:  # type: ignore[no-untyped-def]
    return DicomWebNode(server.dicomweb_url, username=WEB_USER, password=WEB_PASSWORD, timeout=10.0, **kw)


@pytest.mark.slow
def test_qido_finds_studies_and_series(orthanc_web, films: list[Film]) -> None:  # type: ignore[no-untyped-def]
    node = _node(orthanc_web)
    by_id = dicomweb.find_studies(node, StudyQuery(patient_id="PAT-001"))
    assert [m.study_uid for m in by_id] == [films[0].study_uid, films[3].study_uid]
    assert by_id[0].patient_name == "Doe^Jane" and by_id[0].study_date == "20240115"
    assert [m.study_uid for m in dicomweb.find_studies(node, StudyQuery(accession="ACC-1002"))] == [
        films[4].study_uid
    ]
    in_2024 = dicomweb.find_studies(node, StudyQuery.from_form(dates="20240101-20241231"))
    assert {m.study_uid for m in in_2024} == {films[0].study_uid, films[4].study_uid}
    dx = dicomweb.find_studies(node, StudyQuery(modality="DX"))
    assert {m.study_uid for m in dx} == {films[3].study_uid, films[4].study_uid}
    assert [m.study_uid for m in dicomweb.find_studies(node, StudyQuery(patient_name="Smi"))] == [
        films[5].study_uid
    ]
    series = dicomweb.find_series(node, films[0].study_uid)
    assert {s.series_uid: s.instance_count for s in series} == {
        films[0].series_uid: 1,
        films[1].series_uid: 2,
    }


def test_wado_retrieves_a_series_and_a_study(orthanc_web, films: list[Film], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    node = _node(orthanc_web)
    seen: list[tuple[int, int]] = []
    got = dicomweb.retrieve(
        node, films[1].study_uid, films[1].series_uid, tmp_path / "s", lambda d, t: seen.append((d, t))
    )
    read = [pydicom.dcmread(f) for f in got.files]
    assert {d.SOPInstanceUID for d in read} == {films[1].sop_uid, films[2].sop_uid}
    assert seen[-1] == (2, 2)
    original = pydicom.dcmread(pydicom.filebase.DicomBytesIO(films[1].data))
    back = next(d for d in read if d.SOPInstanceUID == films[1].sop_uid)
    assert np.array_equal(back.pixel_array, original.pixel_array)
    assert len(dicomweb.retrieve(node, films[0].study_uid, None, tmp_path / "all").files) == 3


def test_stow_stores_an_export_that_wado_gives_back(
    orthanc_web,
    films: list[Film],
    source_dataset: Dataset,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    rgb = np.random.default_rng(3).integers(0, 256, (40, 120, 3), dtype=np.uint8)
    sc = build_secondary_capture(source_dataset, rgb)
    path = write_dicom(tmp_path / "overlay.dcm", sc)
    node = _node(orthanc_web)
    remote.send(node, path)
    assert path.exists()
    got = remote.retrieve(node, sc.StudyInstanceUID, sc.SeriesInstanceUID, tmp_path / "back")
    back = pydicom.dcmread(got.files[0])
    assert back.SOPInstanceUID == sc.SOPInstanceUID and np.array_equal(back.pixel_array, rgb)


@pytest.mark.slow
def test_wrong_credentials_and_wrong_address_are_one_sentence(orthanc_web, closed_port: int) -> None:  # type: ignore[no-untyped-def]
    bad = DicomWebNode(orthanc_web.dicomweb_url, username=WEB_USER, password="wrong", timeout=5.0)
    with pytest.raises(PacsError, match=r"refused the sign-in \(HTTP 401\)"):
        remote.echo(bad)
    with pytest.raises(PacsError, match="Cannot reach the DICOMweb server"):
        remote.echo(DicomWebNode(f"http://127.0.0.1:{closed_port}/dicom-web", timeout=2.0))
    wrong_root = DicomWebNode(
        f"http://127.0.0.1:{orthanc_web.http_port}/nothing-here", username=WEB_USER, password=WEB_PASSWORD
    )
    with pytest.raises(PacsError, match="HTTP 404"):
        remote.echo(wrong_root)


def test_a_bearer_token_signs_in_through_a_gateway(orthanc_web, films: list[Film], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with gateway(orthanc_web, tmp_path) as gw:
        node = DicomWebNode(gw.url, token=TOKEN, timeout=10.0)
        assert [m.study_uid for m in remote.find_studies(node, StudyQuery(accession="ACC-0500"))] == [
            films[5].study_uid
        ]
        with pytest.raises(PacsError, match="HTTP 401"):
            remote.echo(DicomWebNode(gw.url, token="not-the-token", timeout=5.0))


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_is_verified_unless_the_node_trusts_the_certificate(
    orthanc_web, films: list[Film], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with gateway(orthanc_web, tmp_path, tls=True) as gw:
        assert gw.cert is not None
        with pytest.raises(PacsError, match="certificate this computer does not trust"):
            remote.echo(DicomWebNode(gw.url, token=TOKEN, timeout=5.0))
        trusted = DicomWebNode(gw.url, token=TOKEN, ca_bundle=str(gw.cert), timeout=10.0)
        assert (
            remote.find_studies(trusted, StudyQuery(patient_id="PAT-002"))[0].study_uid == films[4].study_uid
        )
        unchecked = DicomWebNode(gw.url, token=TOKEN, verify_tls=False, timeout=10.0)
        remote.echo(unchecked)
