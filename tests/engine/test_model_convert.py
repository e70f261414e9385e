"""`vald models convert` turns pickle weights into safetensors; `vald models verify` checks a folder."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from vald_desktop.cli import main
from vald_desktop.core.base.errors import ModelError
from vald_desktop.core.engine.models import check_model_dir


@pytest.fixture
def pickle_model(tiny_model_dir, tmp_path):
    """The tiny model as an old-style folder: .bin weights, no manifest."""
    src = tmp_path / "pickled"
    shutil.copytree(tiny_model_dir, src)
    (src / "vald-manifest.json").unlink()
    for part, name in (
        ("unet", "diffusion_pytorch_model"),
        ("vae", "diffusion_pytorch_model"),
        ("text_encoder", "model"),
    ):
        st = src / part / f"{name}.safetensors"
        bin_name = "pytorch_model.bin" if name == "model" else f"{name}.bin"
        torch.save(load_file(st), src / part / bin_name)
        st.unlink()
    return src


def test_convert_round_trip_gives_identical_tensors(pickle_model, tiny_model_dir, tmp_path, capsys):
    with pytest.raises(ModelError, match="vald models convert"):
        check_model_dir(pickle_model)
    dst = tmp_path / "converted"
    assert main(["models", "convert", str(pickle_model), str(dst)]) == 0
    assert json.loads(capsys.readouterr().out)["manifest_hash"]
    check_model_dir(dst)
    for part, name in (("unet", "diffusion_pytorch_model"), ("text_encoder", "model")):
        a = load_file(dst / part / f"{name}.safetensors")
        b = load_file(tiny_model_dir / part / f"{name}.safetensors")
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not list(dst.rglob("*.bin"))
    assert main(["models", "verify", str(dst), "--load"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["manifest"] and report["text_encoder"] == "bert"


def test_convert_refuses_code_pickles_and_full_outputs(pickle_model, tmp_path, capsys):
    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    torch.save({"w": Evil()}, pickle_model / "unet" / "diffusion_pytorch_model.bin")
    assert main(["models", "convert", str(pickle_model), str(tmp_path / "out")]) == 2
    err = capsys.readouterr()
    assert "owned" not in err.out and "cannot be converted safely" in err.err
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("keep")
    assert main(["models", "convert", str(pickle_model), str(full)]) == 2
    assert (full / "x").read_text() == "keep"


def test_verify_reports_a_broken_folder_with_exit_2(tiny_model_dir, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "unet" / "config.json").write_text("{}")
    assert main(["models", "verify", str(broken)]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_assemble_builds_a_folder_that_verifies(tiny_model_dir, tmp_path, capsys):
    bert = tmp_path / "bert"
    shutil.copytree(tiny_model_dir / "text_encoder", bert)
    for f in (tiny_model_dir / "tokenizer").iterdir():
        shutil.copy(f, bert / f.name)
    out = tmp_path / "assembled"
    assert (
        main(
            [
                "models",
                "assemble",
                "--sd",
                str(tiny_model_dir),
                "--text-encoder",
                str(bert),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["models", "verify", str(out)]) == 0
    assert (
        main(
            [
                "models",
                "assemble",
                "--sd",
                str(tmp_path / "no-sd"),
                "--text-encoder",
                str(bert),
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )
    assert "does not exist" in capsys.readouterr().err
