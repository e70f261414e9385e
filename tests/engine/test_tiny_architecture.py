"""The tiny model folder: every preset prompt tokenizes to whole words, widths agree, weights are safetensors."""

from __future__ import annotations

import json

from transformers import BertTokenizer


def test_preset_prompts_are_whole_tokens(tiny_model_dir, repo_root):
    tok = BertTokenizer.from_pretrained(tiny_model_dir / "tokenizer", local_files_only=True)
    presets = json.loads((repo_root / "vald_desktop" / "resources" / "prompts.json").read_text())["presets"]
    for preset in presets:
        ids = tok(preset["prompt"]).input_ids
        assert tok.unk_token_id not in ids, f"{preset['prompt']!r} has unknown words"
        words = preset["prompt"].lower().replace("-", " - ").split()
        assert len(ids) == len(words) + 2, f"{preset['prompt']!r} splits into word pieces"
    assert tok.model_max_length == 77


def test_cross_attention_follows_the_text_width_and_manifest_records_the_config(tmp_path):
    from vald_training.architecture import TINY_CONFIG, build_model

    cfg = {
        **TINY_CONFIG,
        "text_encoder": {**TINY_CONFIG["text_encoder"], "hidden_size": 48, "num_attention_heads": 4},
    }
    folder = build_model(cfg, tmp_path / "wide", seed=3)
    unet = json.loads((folder / "unet" / "config.json").read_text())
    text = json.loads((folder / "text_encoder" / "config.json").read_text())
    assert unet["cross_attention_dim"] == text["hidden_size"] == 48
    manifest = json.loads((folder / "vald-manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["config"]["text_encoder"]["hidden_size"] == 48
    assert not [p for p in folder.rglob("*") if p.suffix in (".bin", ".pt", ".ckpt")]
