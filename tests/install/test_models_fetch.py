"""``vald models fetch`` against a local stand-in for the Hub (HF_ENDPOINT): install, resume, checksum, offline."""

from __future__ import annotations

import io
import json
import sys
import threading
from pathlib import Path

import pytest
from hub_stand_in import PICKLE_COMMIT, SAFETY_PICKLE, HubStandIn

from vald_desktop import cli
from vald_desktop.core.engine import base_weights as bw


def _fetch(*flags: str) -> int:
    return cli.main(["models", "fetch", "--quiet", *flags])


def _resolves(hub: HubStandIn) -> list[dict[str, str]]:
    return [r for r in hub.requests if "/resolve/" in r["path"]]


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_fetch_installs_a_verified_model_that_lookup_finds(
    hub: HubStandIn, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from vald_desktop.core.engine.models import check_model_dir, load_pipeline, resolve_model_dir

    assert _fetch("--accept-licence") == 0
    out = capsys.readouterr().out
    assert "CreativeML OpenRAIL-M" in out
    doc = json.loads(out.strip().splitlines()[-1])
    model = home / bw.MODEL_NAME
    assert doc["model"] == str(model) and doc["sources"][bw.SD_REPO] == bw.SD_REVISION
    check_model_dir(model)
    _, info = load_pipeline(model, "cpu")
    assert info.text_encoder == "bert"
    # Only the allow-listed files, from the pinned commit, with the token from HF_TOKEN; nothing left behind.
    fetched = {r["path"].split("/resolve/")[1].split("/", 1)[1] for r in _resolves(hub)}
    assert SAFETY_PICKLE not in fetched and "text_encoder/model.safetensors" not in fetched
    assert "unet/diffusion_pytorch_model.safetensors" in fetched and "model.safetensors" in fetched
    assert all(f"/resolve/{bw.SD_REVISION}/" in r["path"] or f"/resolve/{bw.RADBERT_REVISION}/" in r["path"]
               for r in _resolves(hub))  # fmt: skip
    assert {r["auth"] for r in hub.requests} == {"Bearer hf_standin"}
    assert sorted(p.name for p in home.iterdir() if p.name != ".staging") == [".downloads", bw.MODEL_NAME]
    assert not any((home / ".downloads").iterdir())
    # Found by name, as --model or VALD_MODEL; a second fetch sees it installed and stays offline.
    assert resolve_model_dir(bw.MODEL_NAME) == model
    hub.reset()
    assert _fetch() == 0 and not hub.requests
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["already_installed"] is True


def test_a_connection_dropped_mid_file_resumes_with_a_ranged_request(hub: HubStandIn, home: Path) -> None:
    unet = "unet/diffusion_pytorch_model.safetensors"
    hub.drop_once.add(f"{bw.SD_REPO}/{unet}")
    assert _fetch("--accept-licence") == 0
    gets = [r for r in _resolves(hub) if r["path"].endswith(unet) and r["method"] == "GET"]
    assert len(gets) == 2 and gets[0]["range"] == ""
    assert gets[1]["range"].startswith("bytes=") and gets[1]["range"] != "bytes=0-"
    from vald_desktop.core.engine.models import check_model_dir

    check_model_dir(home / bw.MODEL_NAME)


def test_a_wrong_checksum_is_refused_and_nothing_is_installed(
    hub: HubStandIn, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vae = "vae/diffusion_pytorch_model.safetensors"
    hub.corrupt.add(f"{bw.SD_REPO}/{vae}")
    assert _fetch("--accept-licence") == 2
    line = _error_line(capsys)
    assert vae in line and "checksum" in line
    assert not (home / bw.MODEL_NAME).exists()
    leftovers = [p for p in home.rglob("*") if p.is_file() and p.name.startswith("diffusion_pytorch_model")]
    assert all("unet" in p.parts for p in leftovers), leftovers  # the bad VAE is gone, verified files stay


def test_cancel_keeps_the_part_file_and_the_next_run_resumes_it(hub: HubStandIn, home: Path) -> None:
    from vald_desktop.core.base.errors import Cancelled
    from vald_desktop.core.engine.hub import download_plan, plan_repo

    plan = plan_repo(bw.SD_REPO, "main", bw.SD_FILES)
    assert plan.commit == bw.SD_REVISION
    cancel = threading.Event()
    unet = "unet/diffusion_pytorch_model.safetensors"

    unet_start: list[int] = []

    def stop_inside_the_unet(done: int, total: int, name: str) -> None:
        if name == unet:
            unet_start.append(done)
            if done > unet_start[0]:
                cancel.set()

    dest = home / "sd"
    with pytest.raises(Cancelled):
        download_plan(plan, dest, progress=stop_inside_the_unet, cancel=cancel)
    part = dest / (unet + ".part")
    size = next(f.size for f in plan.files if f.path == unet)
    assert 0 < part.stat().st_size < size
    have = part.stat().st_size
    hub.reset()
    download_plan(plan, dest)
    assert not part.exists() and (dest / unet).stat().st_size == size
    gets = [r for r in _resolves(hub) if r["path"].endswith(unet)]
    assert [r["range"] for r in gets] == [f"bytes={have}-"]
    assert not any(r["path"].endswith("vae/config.json") for r in _resolves(hub))  # finished files stay


def test_a_pickle_only_revision_is_refused_before_any_download(
    hub: HubStandIn, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _fetch("--accept-licence", "--radbert-revision", PICKLE_COMMIT) == 2
    line = _error_line(capsys)
    assert "only pickle weights" in line and "pytorch_model.bin" in line
    assert not _resolves(hub)


def test_an_unknown_revision_is_one_sentence(
    hub: HubStandIn, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _fetch("--accept-licence", "--sd-revision", "c" * 40) == 2
    assert f"{bw.SD_REPO} has no revision {'c' * 40}" in _error_line(capsys)


def test_no_network_is_one_sentence(
    home: Path, closed_port: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port}")
    assert _fetch("--accept-licence") == 2
    assert "cannot be reached" in _error_line(capsys)
    assert not (home / bw.MODEL_NAME).exists()


def test_the_licence_must_be_accepted_before_anything_is_fetched(
    hub: HubStandIn, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal: nobody to ask
    assert _fetch() == 2
    captured = capsys.readouterr()
    assert "CreativeML OpenRAIL-M" in captured.out and "--accept-licence" in captured.err
    assert not hub.requests


def test_an_installed_model_is_found_by_its_name_and_paths_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vald_desktop.core.base.errors import ModelError
    from vald_desktop.core.engine.models import resolve_model_dir

    home = tmp_path / "models"
    (home / "mine").mkdir(parents=True)
    monkeypatch.setenv("VALD_MODELS_DIR", str(home))
    monkeypatch.chdir(tmp_path)
    assert resolve_model_dir("mine") == home / "mine"
    monkeypatch.setenv("VALD_MODEL", "mine")
    assert resolve_model_dir() == home / "mine"
    (tmp_path / "mine").mkdir()  # a folder of that name where the command runs comes first
    assert resolve_model_dir("mine") == Path("mine")
    with pytest.raises(ModelError, match="does not exist"):
        resolve_model_dir("sub/mine")
