"""Domain honesty with the embedded demo model: held-out phantoms are in its domain, real films are not, and
`vald run` refuses non-radiographs and lateral views (exit 2), warns on films the model does not know and writes
the verdict into every output."""

from __future__ import annotations

import glob
import json
import os
from pathlib import Path

import numpy as np
import pytest
from engine_helpers import png_record
from PIL import Image

from vald_desktop.cli import main
from vald_desktop.core.engine.domain import read_model_domain
from vald_desktop.core.engine.models import demo_model_dir

FAST = ["--steps", "6", "--strength", "0.5", "--quiet"]
DEMO = demo_model_dir()


@pytest.fixture(scope="session")
def demo_engine():
    from vald_desktop.core.engine.sampler import Engine

    eng = Engine(DEMO, device="cpu")
    eng.load()
    return eng


def _score(engine, image: np.ndarray) -> float:
    from vald_desktop.core.engine.domain_features import measure_image

    cal = read_model_domain(DEMO).calibration
    assert cal is not None
    return cal.score(measure_image(engine, image, cal.timesteps, cal.noise_seed))


def _davidson() -> Path | None:
    """The davidson CR chest film from the rsna-anonymizer sdist's test assets, when it was unpacked here."""
    named = os.environ.get("VALD_DAVIDSON_FILM")
    if named and Path(named).is_file():
        return Path(named)
    root = Path(__file__).resolve().parents[2] / ".cache"
    hits = sorted(glob.glob(str(root / "**" / "davidson*.dcm"), recursive=True))
    return Path(hits[0]) if hits else None


def _pydicom_file(name: str) -> Path:
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"{name} is not shipped here")
    return Path(str(path))


def test_the_demo_model_carries_its_calibration_and_card() -> None:
    from vald_desktop.core.engine.manifest import read_manifest, verify_manifest

    model = read_model_domain(DEMO)
    assert model.calibration is not None and model.calibration.films >= 32
    assert (
        model.notice
        == "Demo model trained on synthetic phantoms \u2014 for trying the app, not for reading films"
    )
    assert model.trained_on and "phantoms" in model.trained_on
    assert verify_manifest(DEMO)
    assert "vald-domain.json" in read_manifest(DEMO)["files"]


def test_held_out_phantoms_are_in_the_demo_model_s_domain(demo_engine) -> None:
    from vald_phantoms.phantom import FINDINGS, make_phantom, phantom_seed

    cal = read_model_domain(DEMO).calibration
    assert cal is not None
    # Seed 7301: a set the model never saw (it trained on seeds 1, 2 and 4) and the README's numbers do not use.
    scores = [
        _score(demo_engine, make_phantom(phantom_seed(7301, i), FINDINGS[i % 7], 128).image)
        for i in range(70)
    ]
    assert np.mean(np.array(scores) <= cal.threshold) >= 0.95


def test_real_chest_films_are_outside_the_demo_model_s_domain(demo_engine, rg1_path) -> None:
    from vald_desktop.core.films.load import load_film

    cal = read_model_domain(DEMO).calibration
    assert cal is not None
    films = [rg1_path] + ([d] if (d := _davidson()) is not None else [])
    for path in films:
        assert _score(demo_engine, load_film(path).display()) > cal.threshold, path.name


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "US1_UNCR.dcm"])
def test_vald_run_refuses_non_radiographs_with_exit_2(name, tiny_model_dir, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert (
        main(["run", str(_pydicom_file(name)), "--out", str(out), "--model", str(tiny_model_dir), *FAST]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "chest radiographs only" in err[0]
    assert not out.exists(), "a refused film leaves no output at all"


def test_vald_run_refuses_a_lateral_view(tiny_model_dir, tmp_path, capsys) -> None:
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    from vald_phantoms.phantom import make_phantom

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.Modality, ds.BodyPartExamined, ds.ViewPosition = "DX", "CHEST", "LL"
    ds.set_pixel_data((make_phantom(5).image * 4095).astype(np.uint16), "MONOCHROME2", 12)
    path = tmp_path / "lateral.dcm"
    pydicom.dcmwrite(path, ds, enforce_file_format=True)
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--model", str(tiny_model_dir), *FAST]) == 2
    assert "lateral view (LL)" in capsys.readouterr().err


def test_header_less_pictures_the_pixels_and_the_model_both_reject_are_refused(
    demo_engine, rg1_path, tmp_path, capsys
):
    from vald_desktop.core.films.load import load_film

    mr = tmp_path / "mr.png"
    Image.fromarray((load_film(_pydicom_file("MR_small.dcm")).display() * 255).astype(np.uint8)).save(mr)
    out = tmp_path / "mr"
    assert main(["run", str(mr), "--out", str(out), "--model", str(DEMO), "--no-mask", *FAST]) == 2
    assert "does not look like a frontal chest radiograph" in capsys.readouterr().err and not out.exists()
    # A real chest film exported as PNG looks like one: it gets its map, said to be outside the model's domain.
    chest = tmp_path / "chest.png"
    Image.fromarray((load_film(rg1_path).display()[::4, ::4] * 255).astype(np.uint8)).save(chest)
    out = tmp_path / "chest"
    assert main(["run", str(chest), "--out", str(out), "--model", str(DEMO), "--no-mask", *FAST]) == 0
    domain = json.loads((out / "run.json").read_text())["domain"]
    assert domain["in_domain"] is False and domain["film_kind"]["looks_like_chest"] is True


def test_a_model_without_calibration_says_domain_unknown(tiny_model_dir, tmp_path, capsys) -> None:
    from vald_phantoms.phantom import make_phantom

    film = tmp_path / "phantom.png"
    Image.fromarray((make_phantom(9, size=128).image * 255).astype(np.uint8)).save(film)
    out = tmp_path / "out"
    assert (
        main(["run", str(film), "--out", str(out), "--model", str(tiny_model_dir), "--no-mask", *FAST]) == 0
    )
    domain = json.loads((out / "run.json").read_text())["domain"]
    assert domain["in_domain"] is None and domain["score"] is None and domain["threshold"] is None
    assert any("no domain calibration" in r for r in domain["reasons"])
    assert "warning: phantom.png: Domain unknown" in capsys.readouterr().err


@pytest.mark.slow
def test_vald_run_on_a_real_film_warns_and_every_output_carries_the_verdict(
    rg1_path, tmp_path, capsys
) -> None:
    out = tmp_path / "out"
    argv = ["run", str(rg1_path), "--out", str(out), "--model", str(DEMO), "--no-mask", *FAST]
    assert main([*argv, "--report", "r.pdf"]) == 0
    err = capsys.readouterr().err
    assert "warning: RG1_UNCI.dcm: Outside this model's training domain" in err
    domain = json.loads((out / "run.json").read_text())["domain"]
    assert domain["in_domain"] is False and domain["score"] > domain["threshold"]
    assert domain["film_kind"]["modality"] == "CR" and domain["film_kind"]["view"] == "PA"
    for png in ("counterfactual.png", "overlay.png", "composite.png"):
        assert png_record(out / png)["domain"]["in_domain"] is False
    assert (out / "r.pdf").is_file()
    assert json.loads((out / "r.pdf.json").read_text())["domain"]["in_domain"] is False
