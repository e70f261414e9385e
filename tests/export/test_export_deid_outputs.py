"""Every file a de-identified run writes, for a film carrying every PS3.15 Table E.1-1 attribute (``deid_film``).

``vald run --deidentify`` with every export (run folder PNGs and run.json, PDF report, DICOM SC with its record)
and the app's "everything into a folder" export of the same result: no marker of the film, nor its file name, its
SHA-256, the model's or any local path, in any file's content or name. Burned-in text is checked before anything is
written, and two exports of one study land in one pseudonymous study.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from deid_film import FILE_NAME, MarkedFilm, build_marked_film, dicom_text, leaks
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from vald_desktop.cli import main
from vald_desktop.commands import run as run_command
from vald_desktop.commands.run import plan_outputs
from vald_desktop.core.engine.result import RunResult
from vald_desktop.core.export.exporter import ExportOptions, RunExporter
from vald_desktop.core.export.pseudonyms import installation_key
from vald_desktop.core.films.load import load_film
from vald_desktop.gui.exporting import export_result

OVERLAY = {"mode": "signed", "opacity": 0.6, "threshold": 0.1}


def _small(rg1_path: Path) -> Dataset:
    """RG1's header over a small uncompressed picture, so a run takes seconds."""
    src = pydicom.dcmread(rg1_path)
    ds: Dataset = copy.deepcopy(src)
    small = src.pixel_array[::24, ::24].astype(np.uint16)
    ds.Rows, ds.Columns = small.shape
    ds.PixelData = small.tobytes()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


@pytest.fixture
def table_film(rg1_path: Path, tmp_path: Path) -> tuple[Path, MarkedFilm]:
    film = build_marked_film(_small(rg1_path))
    path = tmp_path / "Doe-John-4242" / FILE_NAME
    path.parent.mkdir()
    film.dataset.save_as(path, enforce_file_format=True)
    return path, film


def _pdf_text(path: Path) -> str:
    raw = path.read_bytes()
    parts = [raw.decode("latin-1")]
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", raw, flags=re.S):
        try:
            parts.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            continue
    tool = shutil.which("pdftotext")
    if tool is not None:
        parts.append(
            subprocess.run([tool, str(path), "-"], capture_output=True, text=True, timeout=30).stdout
        )
    return "\n".join(parts)


def output_texts(*folders: Path) -> dict[str, str]:
    """The text of every file under ``folders`` (DICOM walked recursively, PNG text chunks, PDF text), and their
    names."""
    texts: dict[str, str] = {}
    for folder in folders:
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        texts[f"file names in {folder.name}"] = "\n".join(str(p.relative_to(folder)) for p in files)
        for p in files:
            if p.suffix == ".dcm":
                texts[p.name] = dicom_text(pydicom.dcmread(p))
            elif p.suffix == ".png":
                with Image.open(p) as im:
                    im.load()
                    texts[p.name] = "\n".join(f"{k}\n{v}" for k, v in im.text.items())
            elif p.suffix == ".pdf":
                texts[p.name] = _pdf_text(p)
            elif p.suffix != ".npy":  # .npy: the map's numbers
                texts[p.name] = p.read_bytes().decode("latin-1")
    return texts


def _dciodvfy_errors(path: Path) -> list[str]:
    tool = shutil.which("dciodvfy")
    if tool is None:
        pytest.skip("dciodvfy (dicom3tools) is not installed")
    proc = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60)
    lines = (proc.stdout + proc.stderr).splitlines()
    assert any("SCImage" in line for line in lines), lines
    return [line for line in lines if line.startswith("Error")]


def _run(film: Path, out: Path, model: Path, *extra: str) -> list[str]:
    argv = ["run", str(film), "--out", str(out), "--model", str(model), "--device", "cpu"]
    return [*argv, "--steps", "2", "--strength", "0.5", "--no-mask", "--quiet", *extra]


@pytest.mark.slow
def test_a_deidentified_run_of_the_table_film_leaves_nothing_of_it_in_any_file(
    table_film: tuple[Path, MarkedFilm], tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, film = table_film
    results: list[RunResult] = []
    write_outputs = run_command.write_outputs

    def keep_result(out_dir: Path, result: RunResult, style: object) -> dict[str, Path]:
        results.append(result)
        return write_outputs(out_dir, result, style)  # type: ignore[arg-type]

    monkeypatch.setattr(run_command, "write_outputs", keep_result)
    out = tmp_path / "out"
    extra = ("--report", "r.pdf", "--dicom", "o.dcm", "--deidentify")
    assert main(_run(path, out, tiny_model_dir, *extra)) == 0
    # The app's export of the same result, from a record that still names the film and the model's folder.
    (result,) = results
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    result.record.update(film=path.name, film_sha256=sha256)
    result.record["model"] = {**result.record["model"], "path": str(tiny_model_dir)}
    export_result("folder", tmp_path / "app", load_film(path), result, dict(OVERLAY))

    texts = output_texts(out, tmp_path / "app")
    assert {"o.dcm", "r.pdf", "run.json", "composite.png", "vald.dcm", "vald-report.pdf"} <= set(texts)
    markers = {
        **film.markers,
        sha256: "the film's SHA-256",
        str(path.parent): "the film's folder",
        str(tiny_model_dir): "the model's folder",
        str(tmp_path): "a local path",
        installation_key().hex(): "this workstation's de-identification key",
    }
    assert leaks(texts, markers) == []
    run = json.loads((out / "run.json").read_text())
    assert run["model"]["name"] and run["model"]["manifest_hash"] and "path" not in run["model"]
    assert run["deidentification"]["burned_in_text"] == "none, as the source film declares"
    assert "2026c" in run["deidentification"]["table"]
    for dcm in (out / "o.dcm", tmp_path / "app" / "vald.dcm"):
        assert _dciodvfy_errors(dcm) == []
    sc, app = pydicom.dcmread(out / "o.dcm"), pydicom.dcmread(tmp_path / "app" / "vald.dcm")
    assert sc.StudyInstanceUID == app.StudyInstanceUID, "two exports of one film, one pseudonymous study"
    assert sc.PatientID == app.PatientID and sc.BurnedInAnnotation == "NO"


@pytest.mark.parametrize("declared", ["YES", None])
def test_burned_in_text_is_checked_before_anything_is_written(
    declared: str | None,
    rg1_path: Path,
    tiny_model_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ds = _small(rg1_path)
    if declared:
        ds.BurnedInAnnotation = declared
    film = tmp_path / "film.dcm"
    ds.save_as(film, enforce_file_format=True)
    out = tmp_path / "out"
    assert main(_run(film, out, tiny_model_dir, "--report", "r.pdf", "--dicom", "o.dcm", "--deidentify")) == 2
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1 and ("burned into its pixels" if declared else "--accept-burned-in-risk") in err
    )
    assert not out.exists(), "nothing may be written for a film whose pixels may show identity"


@pytest.mark.slow
def test_an_undeclared_film_confirmed_by_the_user_is_exported_and_says_so(
    rg1_path: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    film = tmp_path / "film.dcm"
    _small(rg1_path).save_as(film, enforce_file_format=True)
    out = tmp_path / "out"
    extra = ("--dicom", "o.dcm", "--deidentify", "--accept-burned-in-risk")
    assert main(_run(film, out, tiny_model_dir, *extra)) == 0
    sc = pydicom.dcmread(out / "o.dcm")
    assert "BurnedInAnnotation" not in sc, "never NO when nobody but the user checked"
    assert "burned-in text not declared by the source" in sc.DeidentificationMethod
    record = json.loads((out / "o.dcm.json").read_text())
    assert "the user confirmed" in record["export"]["deidentification"]["burned_in_text"]


def test_two_exports_of_one_study_land_in_one_pseudonymous_study(
    result: RunResult, source_dataset: Dataset, tmp_path: Path
) -> None:
    other_film = copy.deepcopy(source_dataset)  # another film of the same study
    other_film.SeriesInstanceUID, other_film.SOPInstanceUID = generate_uid(), generate_uid()
    options = ExportOptions(accept_burned_in_risk=True)
    written = [
        RunExporter(result, source_dataset, options).write_dicom(tmp_path / "a.dcm")[0],
        RunExporter(result, source_dataset, options).write_dicom(tmp_path / "b.dcm")[0],  # later, anew
        RunExporter(result, other_film, options).write_dicom(tmp_path / "c.dcm")[0],
    ]
    a, b, c = (pydicom.dcmread(p) for p in written)
    assert a.StudyInstanceUID == b.StudyInstanceUID == c.StudyInstanceUID != source_dataset.StudyInstanceUID
    assert a.PatientID == b.PatientID == c.PatientID != source_dataset.PatientID
    refs = [x.SourceImageSequence[0].ReferencedSOPInstanceUID for x in (a, b, c)]
    assert refs[0] == refs[1] != refs[2], "each export points at its own film's one pseudonymous instance"
    assert len({a.SOPInstanceUID, b.SOPInstanceUID, c.SOPInstanceUID}) == 3


def test_a_deidentified_batch_names_its_folders_by_keyed_hash_not_by_the_film(tmp_path: Path) -> None:
    films = [tmp_path / "Doe-John.dcm", tmp_path / "Roe-Jane.dcm"]
    plain = [out.name for _, out in plan_outputs(films, tmp_path / "out", True)]
    assert plain == ["Doe-John", "Roe-Jane"]
    named = [out.name for _, out in plan_outputs(films, tmp_path / "out", True, pseudonymous=True)]
    again = [out.name for _, out in plan_outputs(films, tmp_path / "out", True, pseudonymous=True)]
    assert named == again and len(set(named)) == 2, "stable names: finished films are skipped on a rerun"
    assert all(n.startswith("film-") and "Doe" not in n and "Roe" not in n for n in named)
