"""``vald pacs find / series / get / cache``, ``vald send --dicomweb`` and ``vald run --dicom-seg/-pmap/-sr --send``."""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path
from types import SimpleNamespace

import pydicom
import pytest
from orthanc_server import WEB_PASSWORD, WEB_USER
from pacs_films import Film, archive
from pydicom.dataset import Dataset

from vald_desktop.cli import main
from vald_desktop.commands.export_flags import add_export_arguments, apply_export_arguments
from vald_desktop.core.base.errors import ExportError
from vald_desktop.core.engine.result import RunResult
from vald_desktop.core.export import pacs_cache


@pytest.fixture(autouse=True)
def private_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Never read or write the user's real saved node, cache or DICOMweb secrets.
    monkeypatch.setenv("VALD_PACS_CONFIG", str(tmp_path / "config" / "pacs.json"))
    monkeypatch.setenv(pacs_cache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv("VALD_DICOMWEB_PASSWORD", raising=False)
    monkeypatch.delenv("VALD_DICOMWEB_TOKEN", raising=False)
    return tmp_path / "config"


@pytest.fixture(scope="module")
def films(orthanc) -> list[Film]:  # type: ignore[no-untyped-def]
    stock = archive()
    for film in stock:
        orthanc.upload(film.data)
    return stock


def _dimse(server) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        "--to",
        f"127.0.0.1:{server.dicom_port}",
        "--aet",
        server.aet,
        "--calling-aet",
        server.allowed_aet,
    ]


@pytest.mark.orthanc
def test_find_prints_one_study_per_line_uid_first(orthanc, films: list[Film], capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["pacs", "find", "--patient-id", "PAT-001", *_dimse(orthanc)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == [films[0].study_uid, films[3].study_uid]
    assert "2024-01-15" in lines[0] and "ACC-1001" in lines[0]
    assert main(["pacs", "find", "--dates", "20240201-20240301", "--json", *_dimse(orthanc)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["study_uid"], r["accession"], r["modalities"]) for r in rows] == [
        (films[4].study_uid, "ACC-1002", ["DX"])
    ]


@pytest.mark.orthanc
def test_the_saved_node_serves_find_series_and_get(
    orthanc, films: list[Film], tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    assert main(["send", "--echo", "--save", *_dimse(orthanc)]) == 0
    capsys.readouterr()
    assert main(["pacs", "find", "--accession", "ACC-1001", "--modality", "CR"]) == 0
    assert capsys.readouterr().out.split("\t")[0] == films[0].study_uid
    assert main(["pacs", "series", films[0].study_uid]) == 0
    series = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert {s[0] for s in series} == {films[0].series_uid, films[1].series_uid}
    out = tmp_path / "got"
    assert main(["pacs", "get", films[1].study_uid, "--series", films[1].series_uid, "--out", str(out)]) == 0
    paths = [Path(p) for p in capsys.readouterr().out.splitlines()]
    assert {pydicom.dcmread(p).SOPInstanceUID for p in paths} == {films[1].sop_uid, films[2].sop_uid}
    assert all(p.parent == out for p in paths)


def test_bad_searches_and_missing_nodes_are_one_line(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["pacs", "find", "--dates", "last week", "--to", "127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Give the dates as FROM-TO") and err.count("\n") == 1
    assert main(["pacs", "find"]) == 2
    assert "No PACS address" in capsys.readouterr().err


def test_cache_reports_and_clears(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = pacs_cache.series_folder("1.2.3", "1.2.3.4")
    folder.mkdir(parents=True)
    (folder / "a.dcm").write_bytes(b"x" * 1000)
    pacs_cache.mark_complete(folder)
    assert main(["pacs", "cache"]) == 0
    assert "1 series" in capsys.readouterr().out
    assert main(["pacs", "cache", "--clear"]) == 0
    assert not folder.exists()


@pytest.mark.orthanc
def test_dicomweb_find_get_and_send(  # type: ignore[no-untyped-def]
    orthanc_web, source_dataset: Dataset, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    stock = archive()
    for film in stock:
        orthanc_web.upload(film.data)
    web = ["--dicomweb", orthanc_web.dicomweb_url, "--user", WEB_USER]
    assert main(["pacs", "find", "--patient-name", "Roe", *web]) == 2  # no password yet
    assert "refused the sign-in" in capsys.readouterr().err
    monkeypatch.setenv("VALD_DICOMWEB_PASSWORD", WEB_PASSWORD)
    assert main(["pacs", "find", "--patient-name", "Roe", *web]) == 0
    assert capsys.readouterr().out.split("\t")[0] == stock[4].study_uid
    assert main(["pacs", "get", stock[4].study_uid, "--out", str(tmp_path / "w"), *web]) == 0
    assert pydicom.dcmread(capsys.readouterr().out.strip()).SOPInstanceUID == stock[4].sop_uid
    # STOW-RS through `vald send`, then the saved DICOMweb node without flags.
    from vald_desktop.core.export.dicom_sc import build_secondary_capture, write_dicom

    sc = write_dicom(tmp_path / "sc.dcm", build_secondary_capture(source_dataset, _rgb()))
    assert main(["send", str(sc), "--save", *web]) == 0
    assert "sent sc.dcm to the DICOMweb server" in capsys.readouterr().out
    monkeypatch.delenv("VALD_DICOMWEB_PASSWORD")
    uid = pydicom.dcmread(sc).StudyInstanceUID
    assert main(["pacs", "series", uid, "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["modality"] == "OT"


def _rgb():  # type: ignore[no-untyped-def]
    import numpy as np

    return np.random.default_rng(5).integers(0, 256, (24, 72, 3), dtype=np.uint8)


def _export_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=".")
    add_export_arguments(parser)
    return parser.parse_args(argv)


@pytest.mark.orthanc
@pytest.mark.slow
def test_run_flags_write_the_objects_and_send_them_all(  # type: ignore[no-untyped-def]
    orthanc, result: RunResult, source_dataset: Dataset, tmp_path: Path
) -> None:
    film = copy.deepcopy(source_dataset)
    film.Rows, film.Columns = 96, 80
    argv = ["--dicom-seg", "s.dcm", "--dicom-pmap", "p.dcm", "--dicom-sr", "r.dcm", "--deidentify"]
    argv += ["--accept-burned-in-risk", "--send", f"127.0.0.1:{orthanc.dicom_port}", "--aet", orthanc.aet]
    argv += ["--calling-aet", orthanc.allowed_aet]
    written = apply_export_arguments(_export_args(argv), result, SimpleNamespace(dataset=film), tmp_path)
    sent = {pydicom.dcmread(written[f"dicom_{k}"]).SOPInstanceUID for k in ("seg", "pmap", "sr")}
    stored = {
        orthanc.rest(f"/instances/{i}/simplified-tags")["SOPInstanceUID"] for i in orthanc.rest("/instances")
    }
    assert sent <= stored
    assert all((tmp_path / f"{n}.dcm.json").is_file() for n in "spr")
    with pytest.raises(ExportError, match="--dicom-seg needs a DICOM film"):
        from vald_desktop.commands.export_flags import check_film_before_run

        check_film_before_run(_export_args(["--dicom-seg", "x.dcm"]), SimpleNamespace(dataset=None))  # type: ignore[arg-type]
