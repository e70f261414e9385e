"""Build SD 1.x-format img2img model folders (VAE f=8, UNet, BERT text encoder) from a config dict.

One code path for every size: the tests' tiny random-weight model is just :data:`TINY_CONFIG`, and the demo model is
built from a bigger config by the training code. The folder is what ``StableDiffusionImg2ImgPipeline.from_pretrained``
loads (``model_index.json`` names ``BertModel``/``BertTokenizer``; diffusers only warns about the type), written as
safetensors with a ``vald-manifest.json``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

# Writing a model folder is the engine's (assembly and fetch use it too); re-exported for training code.
from vald_desktop.core.engine.assemble import save_pipeline as save_pipeline

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Whole-word tokens for every prompt preset, so prompts do not fall apart into letters in the tiny vocabulary.
PROMPT_WORDS = [
    "normal",
    "chest",
    "x",
    "ray",
    "scan",
    "large",
    "small",
    "lung",
    "lungs",
    "opacity",
    "opacities",
    "on",
    "the",
    "left",
    "right",
    "cardiomegaly",
    "carcinoma",
    "nodule",
    "mass",
    "viral",
    "pneumonia",
    "covid",
    "19",
    "bilateral",
    "peripheral",
    "pleural",
    "effusion",
    "healthy",
    "no",
    "acute",
    "finding",
    "findings",
    "disease",
    "heart",
    "enlarged",
    "consolidation",
    "edema",
    "atelectasis",
    "pneumothorax",
    "of",
    "and",
    "with",
    "in",
    "a",
]
_PUNCT = list("-.,;:()/'\"!?%+")
_ALNUM = list("abcdefghijklmnopqrstuvwxyz0123456789")

# Stable Diffusion v1.x noise schedule (PNDM as in the paper; other schedulers are derived from this config).
SD_SCHEDULER: dict[str, Any] = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "set_alpha_to_one": False,
}

# 64 px native size: UNet sample_size 8 x VAE factor 8 (four VAE blocks = three downsamples).
TINY_CONFIG: dict[str, Any] = {
    "name": "tiny-random-bert",
    "vae": {
        "block_out_channels": [16, 16, 32, 32],
        "layers_per_block": 1,
        "norm_num_groups": 8,
        "latent_channels": 4,
        "sample_size": 64,
    },
    "unet": {
        "sample_size": 8,
        "block_out_channels": [32, 64],
        "layers_per_block": 1,
        "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
        "attention_head_dim": 8,
        "norm_num_groups": 8,
    },
    "text_encoder": {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "max_position_embeddings": 128,
        "use_attention_mask": False,
    },
    "tokenizer": {"model_max_length": 77},
    "scheduler": SD_SCHEDULER,
}


def default_vocab(extra_words: list[str] | None = None) -> list[str]:
    """Specials, the prompt words, single characters and their ``##`` continuations (so no word becomes [UNK])."""
    tokens: list[str] = list(SPECIAL_TOKENS)
    for tok in [*PROMPT_WORDS, *(extra_words or []), *_PUNCT, *_ALNUM, *(f"##{c}" for c in _ALNUM)]:
        if tok not in tokens:
            tokens.append(tok)
    return tokens


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def build_components(config: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    """Random-weight pipeline components from ``config`` (missing sections fall back to the tiny config)."""
    import torch
    from diffusers import AutoencoderKL, PNDMScheduler, UNet2DConditionModel
    from transformers import BertConfig, BertModel, BertTokenizer

    cfg = _merged(TINY_CONFIG, config)
    vae_cfg = dict(cfg["vae"])
    n_vae = len(vae_cfg["block_out_channels"])
    vae_cfg.setdefault("down_block_types", ["DownEncoderBlock2D"] * n_vae)
    vae_cfg.setdefault("up_block_types", ["UpDecoderBlock2D"] * n_vae)
    vae_cfg.setdefault("in_channels", 3)
    vae_cfg.setdefault("out_channels", 3)
    vae_cfg.setdefault("scaling_factor", 0.18215)

    vocab = list(cfg.get("vocab") or default_vocab())
    te_cfg = dict(cfg["text_encoder"])
    use_mask = bool(te_cfg.pop("use_attention_mask", False))
    unet_cfg = dict(cfg["unet"])
    # The UNet attends to the text encoder's hidden states: the two widths must agree.
    unet_cfg["cross_attention_dim"] = te_cfg["hidden_size"]
    unet_cfg.setdefault("in_channels", vae_cfg["latent_channels"])
    unet_cfg.setdefault("out_channels", vae_cfg["latent_channels"])

    # Seed each component separately so changing one section does not reshuffle the others' weights.
    torch.manual_seed(seed)
    vae = AutoencoderKL(**vae_cfg)
    torch.manual_seed(seed + 1)
    unet = UNet2DConditionModel(**unet_cfg)
    torch.manual_seed(seed + 2)
    bert_config = BertConfig(vocab_size=len(vocab), **te_cfg)
    # diffusers reads this flag to decide whether to pass attention masks; training must do the same.
    bert_config.use_attention_mask = use_mask
    text_encoder = BertModel(bert_config)
    tokenizer = BertTokenizer(
        vocab={tok: i for i, tok in enumerate(vocab)},
        do_lower_case=True,
        model_max_length=int(cfg["tokenizer"].get("model_max_length", 77)),
    )
    scheduler = PNDMScheduler(**cfg["scheduler"])
    return {
        "vae": vae,
        "unet": unet,
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "scheduler": scheduler,
    }


def build_model(config: dict[str, Any], out_dir: str | Path, seed: int = 0) -> Path:
    """Build a random-weight model folder from ``config`` (see :data:`TINY_CONFIG` for the keys)."""
    seed = int(config.get("seed", seed))
    components = build_components(config, seed=seed)
    cfg = _merged(TINY_CONFIG, config)
    cfg.pop("vocab", None)  # the vocabulary is in tokenizer/, not repeated in the manifest
    extra = {
        "name": cfg.get("name", Path(out_dir).name),
        "origin": "random-init",
        "seed": seed,
        "config": cfg,
    }
    return save_pipeline(components, out_dir, json.loads(json.dumps(extra)))


def build_tiny_model(out_dir: str | Path, seed: int = 0, text: str = "bert") -> Path:
    """The tests' 64 px random-weight model with a BERT text encoder (hidden 32, 2 layers, 2 heads)."""
    if text != "bert":
        raise ValueError(f"Only a BERT text encoder is supported for the tiny model (got {text!r}).")
    return build_model(TINY_CONFIG, out_dir, seed=seed)
