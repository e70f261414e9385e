"""Phantom sets on disk (labels.csv, layouts), the CLI, the PNG encoder and the lung-shape source."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vald_desktop.cli import main
from vald_desktop.core.base.errors import DataError
from vald_desktop.core.base.graypng import encode_gray_png, to_u8
from vald_desktop.core.masks import shapes as lungshapes
from vald_phantoms.phantom import LABEL_COLUMNS, make_phantom, phantom_seed, write_phantoms


def _rows(labels: Path) -> list[dict[str, str]]:
    with open(labels, newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == LABEL_COLUMNS
        return list(reader)


def test_flat_set_has_labels_and_every_file_matches_its_phantom(tmp_path: Path) -> None:
    labels = write_phantoms(tmp_path, n=8, seed=3, size=64)
    rows = _rows(labels)
    assert [r["finding"] for r in rows][:7] == [
        "normal",
        "lung_opacity",
        "nodule",
        "cardiomegaly",
        "viral_pneumonia",
        "covid19",
        "effusion",
    ]
    for i, row in enumerate(rows):
        ph = make_phantom(phantom_seed(3, i), row["finding"], size=64)
        assert row["prompt"] == ph.prompt and row["laterality"] == ph.laterality
        image = np.asarray(Image.open(tmp_path / row["image"]))
        assert image.shape == (64, 64) and image.dtype == np.uint8
        assert np.array_equal(image, to_u8(ph.image))
        assert np.array_equal(np.asarray(Image.open(tmp_path / row["lung_mask"])) > 127, ph.lung_mask)
        assert np.array_equal(np.asarray(Image.open(tmp_path / row["lesion_mask"])) > 127, ph.lesion_mask)
        healthy = np.asarray(Image.open(tmp_path / row["healthy"]))
        assert np.array_equal(healthy[~ph.lesion_mask], image[~ph.lesion_mask])


def test_covid19_layout_mirrors_the_dataset_folders(tmp_path: Path) -> None:
    labels = write_phantoms(
        tmp_path,
        n=8,
        seed=1,
        layout="covid19-radiography",
        size=64,
        findings=("normal", "lung_opacity", "covid19", "viral_pneumonia"),
    )
    rows = _rows(labels)
    for folder in ("Normal", "Lung_Opacity", "COVID", "Viral Pneumonia"):
        images = sorted((tmp_path / folder / "images").glob("*.png"))
        masks = sorted((tmp_path / folder / "masks").glob("*.png"))
        assert len(images) == 2 and [p.name for p in images] == [p.name for p in masks]
        assert images[0].name.startswith(f"{folder}-")
    assert all((tmp_path / r["image"]).is_file() for r in rows)


def test_same_seed_writes_identical_files(tmp_path: Path) -> None:
    a = write_phantoms(tmp_path / "a", n=4, seed=9, size=48)
    b = write_phantoms(tmp_path / "b", n=4, seed=9, size=48)
    assert a.read_bytes() == b.read_bytes()
    for row in _rows(a):
        assert (a.parent / row["image"]).read_bytes() == (b.parent / row["image"]).read_bytes()


def test_bad_set_requests_raise_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="layout"):
        write_phantoms(tmp_path, n=2, seed=0, layout="nested")
    with pytest.raises(DataError):
        write_phantoms(tmp_path, n=0, seed=0)
    with pytest.raises(DataError, match="Unknown finding"):
        write_phantoms(tmp_path, n=2, seed=0, findings=("normal", "tumour"))


def test_cli_writes_a_set_and_reports_its_speed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["phantoms", "--n", "7", "--seed", "2", "--out", str(tmp_path), "--size", "64"])
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 7 and report["phantoms_per_s"] > 0
    assert len(_rows(tmp_path / "labels.csv")) == 7


def test_cli_bad_finding_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["phantoms", "--n", "2", "--out", str(tmp_path), "--findings", "normal,foo"])
    assert rc == 2
    assert capsys.readouterr().err.startswith("error: Unknown finding 'foo'")


@pytest.mark.parametrize(
    "arr",
    [
        np.linspace(0, 1, 35 * 17, dtype=np.float32).reshape(35, 17),
        np.eye(9, dtype=bool),
        np.random.default_rng(0).integers(0, 256, (5, 300), dtype=np.uint8),
    ],
)
def test_png_encoder_round_trips_through_pillow(arr: np.ndarray) -> None:
    back = np.asarray(Image.open(io.BytesIO(encode_gray_png(arr))))
    assert np.array_equal(back, to_u8(arr))


def test_two_blob_mask_normalises_and_one_blob_is_rejected() -> None:
    mask = np.zeros((120, 140), bool)
    mask[20:100, 15:60] = True
    mask[25:105, 75:125] = True
    norm = lungshapes.normalise(mask, grid=32)
    assert norm is not None
    shape, aspect = norm
    assert shape.shape == (2, 32, 32) and aspect == pytest.approx(85 / 110, rel=0.01)
    # Channel 0 is the image-left blob, channel 1 the image-right one.
    assert shape[0][:, :10].mean() > shape[0][:, -10:].mean()
    assert shape[1][:, -10:].mean() > shape[1][:, :10].mean()
    single = np.zeros((100, 100), bool)
    single[10:90, 10:90] = True
    assert lungshapes.normalise(single) is None


def test_real_lung_shapes_come_from_the_wheel() -> None:
    if lungshapes.find_wheel() is None:
        pytest.skip("torchxrayvision wheel not downloaded (make setup)")
    shapes = lungshapes.load_shapes()
    assert shapes.source == "wheel" and len(shapes) > 300
    assert shapes.masks.shape[1:] == (2, lungshapes.GRID, lungshapes.GRID)


def test_without_the_wheel_phantoms_fall_back_to_procedural_lungs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(lungshapes, "find_wheel", lambda: None)
    lungshapes.load_shapes.cache_clear()
    try:
        with caplog.at_level("WARNING"):
            shapes = lungshapes.load_shapes()
            ph = make_phantom(4, "lung_opacity", size=96)
        assert shapes.source == "procedural"
        assert "procedural lung shapes" in caplog.text
        assert ph.lesion_mask.any() and 0.15 < ph.lung_mask.mean() < 0.5
    finally:
        lungshapes.load_shapes.cache_clear()


def test_single_named_phantom_writes_four_matching_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["phantoms", "--name", "demo", "--finding", "effusion", "--laterality", "right", "--seed", "4"]
    assert main([*args, "--out", str(tmp_path), "--size", "64"]) == 0
    paths = json.loads(capsys.readouterr().out)
    ph = make_phantom(4, "effusion", size=64, laterality="right")
    assert np.array_equal(np.asarray(Image.open(paths["image"])), to_u8(ph.image))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "demo-lungmask.png")) > 127, ph.lung_mask)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "demo-lesion.png")) > 127, ph.lesion_mask)
    assert (tmp_path / "demo-healthy.png").is_file()


def test_bundled_sample_film_is_what_its_readme_command_makes(repo_root: Path, tmp_path: Path) -> None:
    sample = repo_root / "vald_desktop" / "resources" / "sample"
    assert (sample / "phantom-opacity-left.png").is_file(), "make run needs the bundled sample film"
    if lungshapes.find_wheel() is None:
        pytest.skip("the sample was drawn with the real lung shapes (torchxrayvision wheel)")
    main(["phantoms", "--name", "phantom-opacity-left", "--finding", "lung_opacity", "--laterality", "left",
          "--seed", "6", "--out", str(tmp_path)])  # fmt: skip
    for suffix in ("", "-healthy", "-lesion", "-lungmask"):
        name = f"phantom-opacity-left{suffix}.png"
        committed = np.asarray(Image.open(sample / name)).astype(int)
        fresh = np.asarray(Image.open(tmp_path / name)).astype(int)
        # Equal up to last-bit float differences between CPUs; a changed generator shows up as many pixels.
        assert committed.shape == fresh.shape and np.abs(committed - fresh).max() <= 1, f"{name} is stale"
        assert (committed != fresh).mean() < 0.001, f"{name} is stale: regenerate it (see its README)"
    image = np.asarray(Image.open(sample / "phantom-opacity-left.png"))
    lesion = np.asarray(Image.open(sample / "phantom-opacity-left-lesion.png")) > 127
    assert image.shape == (256, 256) and image.dtype == np.uint8
    assert np.nonzero(lesion)[1].mean() > 128, "the opacity on the patient's left must be on the image right"


def test_any_number_of_workers_writes_the_same_files(tmp_path: Path) -> None:
    # 32 phantoms: enough for two processes (one per 16 phantoms at most).
    one = write_phantoms(tmp_path / "one", n=32, seed=5, size=48, workers=1)
    two = write_phantoms(tmp_path / "two", n=32, seed=5, size=48, workers=2)
    assert one.read_bytes() == two.read_bytes()
    rows = _rows(one)
    assert len(rows) == 32 and [r["id"] for r in rows] == [f"{i:06d}" for i in range(32)]
    for row in rows[::5] + rows[-1:]:
        for key in ("image", "healthy", "lesion_mask", "lung_mask"):
            assert (one.parent / row[key]).read_bytes() == (two.parent / row[key]).read_bytes()


def test_worker_counts(tmp_path: Path) -> None:
    from vald_phantoms.phantom import worker_count

    assert worker_count(8, 4) == 1  # a small set stays in-process
    assert worker_count(64, 2) == 2 and worker_count(64, 1) == 1
    assert 1 <= worker_count(1000) <= 1000 // 16
    with pytest.raises(DataError, match="worker"):
        write_phantoms(tmp_path, n=2, seed=0, workers=0)


def test_both_sides_writes_each_sided_prompt_twice_on_one_anatomy(tmp_path: Path) -> None:
    # A model learns "on the left" only if the side named in the prompt is what tells two films apart.
    labels = write_phantoms(
        tmp_path,
        n=4,
        seed=9,
        size=64,
        findings=("lung_opacity", "normal", "effusion", "nodule"),
        both_sides=True,
    )
    rows = _rows(labels)
    assert [r["id"] for r in rows] == [
        "000000-left",
        "000000-right",
        "000001",
        "000002-left",
        "000002-right",
        "000003",
    ]
    assert len({r["image"] for r in rows}) == len(rows)  # no file written over another
    for a, b in ((rows[0], rows[1]), (rows[3], rows[4])):
        assert (a["laterality"], b["laterality"]) == ("left", "right")
        assert a["prompt"].endswith("on the left") and b["prompt"].endswith("on the right")
        assert (tmp_path / a["healthy"]).read_bytes() == (tmp_path / b["healthy"]).read_bytes()
        cols_a = np.nonzero(np.asarray(Image.open(tmp_path / a["lesion_mask"])))[1].mean()
        cols_b = np.nonzero(np.asarray(Image.open(tmp_path / b["lesion_mask"])))[1].mean()
        assert cols_a > 32 > cols_b  # patient left = image right
    # The parallel writer (one process per 16 phantoms) writes the same pairs.
    sided = ("lung_opacity", "normal")
    one = write_phantoms(tmp_path / "one", n=32, seed=9, size=48, findings=sided, both_sides=True, workers=1)
    two = write_phantoms(tmp_path / "two", n=32, seed=9, size=48, findings=sided, both_sides=True, workers=2)
    assert one.read_bytes() == two.read_bytes() and len(_rows(two)) == 48
