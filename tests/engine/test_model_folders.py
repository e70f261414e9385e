"""Model folders: resolution order, structure and safety checks, manifest verification, width check."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from vald_desktop.core.base.errors import ManifestError, ModelError
from vald_desktop.core.base.settings import RunSettings
from vald_desktop.core.engine import models
from vald_desktop.core.engine.manifest import manifest_hash, write_manifest
from vald_desktop.core.engine.models import check_model_dir, load_pipeline, resolve_model_dir


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path):
    dst = tmp_path / "model"
    shutil.copytree(tiny_model_dir, dst)
    return dst


def test_resolution_order_choice_then_env_then_demo(tmp_path, monkeypatch):
    chosen, env = tmp_path / "chosen", tmp_path / "env"
    chosen.mkdir()
    env.mkdir()
    monkeypatch.setenv("VALD_MODEL", str(env))
    assert resolve_model_dir(chosen) == chosen
    assert resolve_model_dir(None) == env
    monkeypatch.delenv("VALD_MODEL")
    demo = tmp_path / "demo"
    monkeypatch.setattr(models, "demo_model_dir", lambda: demo)
    with pytest.raises(ModelError) as err:
        resolve_model_dir(None)
    message = str(err.value)
    assert "--model" in message and "VALD_MODEL" in message and str(demo) in message
    demo.mkdir()
    assert resolve_model_dir(None) == demo


def test_missing_chosen_or_env_folder_is_reported(tmp_path, monkeypatch):
    with pytest.raises(ModelError, match="does not exist"):
        resolve_model_dir(tmp_path / "nope")
    monkeypatch.setenv("VALD_MODEL", str(tmp_path / "gone"))
    with pytest.raises(ModelError, match="VALD_MODEL"):
        resolve_model_dir(None)


def test_tiny_model_passes_the_checks(tiny_model_dir):
    check_model_dir(tiny_model_dir)
    assert models.native_size(tiny_model_dir) == 64


def test_pickle_weights_are_refused_naming_the_converter(model_copy):
    (model_copy / "unet" / "diffusion_pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(ModelError, match="vald models convert"):
        check_model_dir(model_copy)


def test_training_checkpoints_beside_the_weights_do_not_block_loading(model_copy):
    # A model trained in place keeps optimizer/EMA pickles in hidden .checkpoints; diffusers never reads them, so
    # they are neither refused as pickles nor covered by the manifest, and the model loads as it is.
    checkpoint = model_copy / ".checkpoints" / "checkpoint-200"
    (checkpoint / "unet").mkdir(parents=True)
    (checkpoint / "optimizer.pt").write_bytes(b"state")
    (checkpoint / "unet" / "diffusion_pytorch_model.bin").write_bytes(b"not a pickle at all")
    assert models.pickle_files(model_copy) == []
    pipe, info = load_pipeline(model_copy, "cpu")
    assert info.path == model_copy.resolve() and info.manifest_hash == manifest_hash(model_copy)
    assert type(pipe.unet).__name__ == "UNet2DConditionModel" and info.native_size == 64


def test_a_changed_weight_file_fails_the_manifest(model_copy):
    weights = model_copy / "vae" / "diffusion_pytorch_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ManifestError, match="vae/diffusion_pytorch_model.safetensors"):
        check_model_dir(model_copy)
    with pytest.raises(ManifestError):
        load_pipeline(model_copy, "cpu")


def test_a_missing_file_fails_the_manifest(model_copy):
    (model_copy / "tokenizer" / "vocab.txt").unlink()
    with pytest.raises(ManifestError, match="missing"):
        check_model_dir(model_copy)


def test_text_width_must_match_unet_cross_attention(model_copy):
    cfg_path = model_copy / "unet" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["cross_attention_dim"] = 768
    cfg_path.write_text(json.dumps(cfg))
    write_manifest(model_copy)
    with pytest.raises(ModelError, match=r"\(32\).*\(768\)"):
        check_model_dir(model_copy)


def test_incomplete_folder_is_refused(model_copy):
    shutil.rmtree(model_copy / "scheduler")
    with pytest.raises(ModelError, match="scheduler"):
        check_model_dir(model_copy)


def test_loaded_bert_model_is_local_capped_and_described(tiny_model_dir):
    pipe, info = load_pipeline(tiny_model_dir, "cpu")
    assert type(pipe.text_encoder).__name__ == "BertModel"
    assert pipe.tokenizer.model_max_length == 77
    assert info.text_encoder == "bert" and info.native_size == 64 and info.dtype == "float32"
    assert info.attention_mask is False


def test_unavailable_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ModelError, match="CUDA"):
        models.pick_device("cuda")
    with pytest.raises(ModelError, match="Unknown device"):
        models.pick_device("tpu")
    assert models.pick_device("auto")[0] in ("cpu", "mps")


def test_radbert_style_folder_gets_capped_tokens_and_attention_masks(tmp_path, film):
    """RadBERT leaves model_max_length unset (~1e30) and may ask for attention masks: both must just work."""
    from vald_training.architecture import TINY_CONFIG, build_model

    from vald_desktop.core.base.settings import RunSettings
    from vald_desktop.core.engine.sampler import Engine

    cfg = {**TINY_CONFIG, "text_encoder": {**TINY_CONFIG["text_encoder"], "use_attention_mask": True}}
    folder = build_model(cfg, tmp_path / "radbert-like")
    tok_cfg_path = folder / "tokenizer" / "tokenizer_config.json"
    tok_cfg = json.loads(tok_cfg_path.read_text())
    tok_cfg.pop("model_max_length")
    tok_cfg_path.write_text(json.dumps(tok_cfg))
    write_manifest(folder)
    eng = Engine(folder, device="cpu")
    info = eng.load()
    assert info.attention_mask is True and eng.pipe.tokenizer.model_max_length == 77
    seen = {}
    real = eng.pipe.text_encoder.forward

    def forward(*args, **kwargs):
        seen["attention_mask"] = kwargs.get("attention_mask")
        return real(*args, **kwargs)

    eng.pipe.text_encoder.forward = forward
    result = eng.run(film, RunSettings(steps=4, strength=0.5, preview_every=0))
    assert seen["attention_mask"] is not None and int(seen["attention_mask"].sum()) < 77
    assert result.record["model"]["attention_mask"] is True


def test_recommended_settings_are_read_and_checked(model_copy):
    # A model folder may say which settings suit it; a broken file is a one-line model error, not a crash.
    from vald_desktop.core.engine.models import RECOMMENDED_NAME, recommended_settings

    assert recommended_settings(model_copy) == {} and recommended_settings(None) == {}
    path = model_copy / RECOMMENDED_NAME
    path.write_text(json.dumps({"recommended": {"noise": "inverted", "confine_to_mask": True}}))
    assert recommended_settings(model_copy) == {"noise": "inverted", "confine_to_mask": True}
    for bad in (
        '{"recommended": {"noise": "sideways"}}',
        '{"recommended": {"colour": 1}}',
        "{not json",
        "{}",
    ):
        path.write_text(bad)
        with pytest.raises(ModelError, match=RECOMMENDED_NAME):
            recommended_settings(model_copy)


def test_the_demo_model_recommends_an_inverted_confined_floored_run_with_guidance_on_half_the_steps():
    from vald_desktop.core.engine.models import demo_model_dir, recommended_settings

    rec = recommended_settings(demo_model_dir())
    assert rec == {"noise": "inverted", "confine_to_mask": True, "guidance_until": 0.5, "edit_floor": 0.015}
    RunSettings().replace(**rec)  # and they form valid settings
