"""`vald run`: all outputs for one film, batch mode over a folder or list file, skipping, sharding, errors."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
from engine_helpers import png_record, write_chest_png
from PIL import Image

from vald_desktop.cli import main
from vald_desktop.commands.run import cancel_on_sigint
from vald_desktop.core.base.settings import RunSettings

FAST = ["--steps", "6", "--strength", "0.5", "--quiet"]
OUTPUTS = ("counterfactual.png", "map.npy", "overlay.png", "composite.png", "run.json")


@pytest.fixture
def films(tmp_path, film):
    folder = tmp_path / "films"
    folder.mkdir()
    for name, img in (("a.png", film), ("b.png", film[::-1]), ("c.png", film[:, ::-1])):
        Image.fromarray((img * 255).astype(np.uint8)).save(folder / name)
    return folder


def test_single_film_writes_every_output(films, tiny_model_dir, tmp_path, left_lung_mask):
    mask_png = tmp_path / "mask.png"
    Image.fromarray(left_lung_mask.mask.astype(np.uint8) * 255).save(mask_png)
    out = tmp_path / "out"
    argv = ["run", str(films / "a.png"), "--out", str(out), "--model", str(tiny_model_dir), *FAST]
    assert main([*argv, "--mask", str(mask_png), "--prompt", "cardiomegaly", "--seeds", "2"]) == 0
    for name in OUTPUTS:
        assert (out / name).is_file(), f"{name} was not written"
    m = np.load(out / "map.npy")
    assert m.dtype == np.float32 and m.shape == (72, 56)
    assert np.all(m[~left_lung_mask.mask] == 0) and np.abs(m).max() > 0
    assert np.load(out / "map_std.npy").shape == (72, 56)
    record = json.loads((out / "run.json").read_text())
    assert record["settings"]["prompt"] == "cardiomegaly" and record["film"] == "a.png"
    assert record["model"]["manifest_hash"] and record["film_sha256"]
    assert set(record["lung_stats"]) == {"left", "right"}
    restored = RunSettings.from_dict(png_record(out / "composite.png")["settings"])
    assert restored.prompt == "cardiomegaly" and restored.seeds == 2 and restored.mask_mode == "file"
    with Image.open(out / "counterfactual.png") as im:
        assert im.size == (56, 72)


def test_batch_folder_one_folder_per_film_and_skips_done_ones(films, tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "batch"
    argv = ["run", str(films), "--out", str(out), "--model", str(tiny_model_dir), "--no-mask", *FAST]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {
        "done": 3,
        "skipped_existing": 0,
        "films": 3,
    }
    assert sorted(p.name for p in out.iterdir()) == ["a", "b", "c"]
    (out / "b" / "run.json").unlink()  # an interrupted film: outputs without the completion marker
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["done"] == 1


def test_list_file_is_sharded_by_rank_and_world_size(films, tiny_model_dir, tmp_path, monkeypatch, capsys):
    listing = tmp_path / "films.txt"
    listing.write_text("# films to run\nfilms/a.png\nfilms/b.png\n\nfilms/c.png\n")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    out = tmp_path / "shard"
    assert (
        main(["run", str(listing), "--out", str(out), "--model", str(tiny_model_dir), "--no-mask", *FAST])
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == ["b"]
    monkeypatch.setenv("RANK", "2")
    assert main(["run", str(listing), "--out", str(out), "--model", str(tiny_model_dir), *FAST]) == 2
    assert "RANK" in capsys.readouterr().err


def test_bad_inputs_exit_2_with_one_line(tmp_path, tiny_model_dir, films, capsys):
    assert main(["run", str(tmp_path / "missing.png"), "--out", str(tmp_path / "o"), *FAST]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    argv = ["run", str(films / "a.png"), "--out", str(tmp_path / "o"), "--model", str(tiny_model_dir)]
    assert main([*argv, *FAST, "--strength", "1.5"]) == 2
    assert "Strength" in capsys.readouterr().err
    assert main([*argv, *FAST, "--model", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_a_bad_film_in_a_batch_is_skipped_not_fatal(films, tiny_model_dir, tmp_path, capsys):
    (films / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    out = tmp_path / "o"
    argv = ["run", str(films), "--out", str(out), "--model", str(tiny_model_dir), "--no-mask", *FAST]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "skipped broken.png" in captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["done"] == 3


def test_first_ctrl_c_requests_a_clean_cancel():
    # A test runner started in the background inherits SIGINT ignored: compare with what was there, not the default.
    before = signal.getsignal(signal.SIGINT)
    with cancel_on_sigint() as cancel:
        os.kill(os.getpid(), signal.SIGINT)
        assert cancel.wait(2), "Ctrl-C did not reach the cancel flag"
    assert signal.getsignal(signal.SIGINT) is before, "the previous Ctrl-C handler was not put back"


def test_auto_mask_restricts_the_map_to_the_found_lungs(tiny_model_dir, tmp_path):
    from vald_phantoms.phantom import make_phantom

    ph = make_phantom(3, "lung_opacity", 96)
    path = tmp_path / "phantom.png"
    Image.fromarray((np.clip(ph.image, 0, 1) * 255).astype(np.uint8)).save(path)
    out = tmp_path / "auto"
    argv = ["run", str(path), "--out", str(out), "--model", str(tiny_model_dir), "--auto-mask", *FAST]
    assert main(argv) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["settings"]["mask_mode"] == "auto" and record["mask_source"]
    assert set(record["lung_stats"]) == {"left", "right"}
    m = np.load(out / "map.npy")
    assert 0 < np.count_nonzero(m) < m.size, "the map is not restricted to the lungs"


def test_the_model_s_recommended_noise_and_confinement_apply_unless_overridden(
    films, tiny_model_dir, tmp_path
):
    # A model that recommends an inverted, lung-confined run gets one by default; the user's flags still win.
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    (model / "vald-settings.json").write_text(
        json.dumps({"recommended": {"noise": "inverted", "confine_to_mask": True}})
    )
    film = str(write_chest_png(tmp_path / "chest.png"))  # the automatic mask is asked for: a chest-like film

    def used(*flags: str) -> dict:
        out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        assert main(["run", film, "--out", str(out), "--model", str(model), *FAST, *flags]) == 0
        return json.loads((out / "run.json").read_text())["settings"]

    s = used()
    assert (s["noise"], s["confine_to_mask"]) == ("inverted", True)
    s = used("--noise", "random", "--no-confine")
    assert (s["noise"], s["confine_to_mask"]) == ("random", False)
    s = used("--no-mask")  # nothing to confine to
    assert (s["noise"], s["confine_to_mask"], s["mask_mode"]) == ("inverted", False, "none")
    s = used("--seeds", "2")  # several seeds need random start noise
    assert (s["noise"], s["seeds"]) == ("random", 2)


@pytest.mark.parametrize(
    ("key", "recommended", "flag", "given"),
    [("guidance_until", 0.5, "--guidance-until", 0.8), ("edit_floor", 0.01, "--edit-floor", 0.0)],
)
def test_the_model_s_recommended_value_applies_unless_the_flag_says_otherwise(
    films, tiny_model_dir, tmp_path, key, recommended, flag, given
):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    (model / "vald-settings.json").write_text(json.dumps({"recommended": {key: recommended}}))
    film = str(write_chest_png(tmp_path / "chest.png"))  # the automatic mask is asked for: a chest-like film
    runs = []
    for flags in ([], [flag, str(given)]):
        out = tmp_path / f"out{len(runs)}"
        assert main(["run", film, "--out", str(out), "--model", str(model), *FAST, *flags]) == 0
        runs.append(json.loads((out / "run.json").read_text())["settings"][key])
    assert runs == [recommended, given]
