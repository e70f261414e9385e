"""Assemble a VALD-MD base model: a local Stable Diffusion v1.x folder + a local BERT checkpoint (e.g. RadBERT).

The result is one diffusers img2img folder whose ``model_index.json`` names ``BertModel`` / ``BertTokenizer``:
VAE, UNet and scheduler from SD (its CLIP text encoder, safety checker and feature extractor are left out), the BERT
encoder without its pooler (the pipeline never uses it) and without masked-LM heads, the tokenizer capped at 77
tokens (RadBERT's maximum length is unset), safetensors only, and a manifest. Works offline: local folders only.
Used by ``vald models assemble``, ``vald models fetch`` and the app's Model ▸ Get base weights; :func:`save_pipeline`
is also how training writes its model folders.

A ``.bin`` checkpoint (RadBERT ships ``pytorch_model.bin``) is read once with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from vald_desktop.core.base.errors import ModelError
from vald_desktop.core.engine.manifest import write_manifest

log = logging.getLogger(__name__)
MAX_TOKENS = 77
_HEAD_PREFIXES = ("cls.", "pooler.", "bert.pooler.")


def save_pipeline(
    components: dict[str, Any], out_dir: str | Path, extra: dict[str, Any] | None = None
) -> Path:
    """Save components as a safetensors img2img folder and write its manifest."""
    from diffusers import StableDiffusionImg2ImgPipeline

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pipe = StableDiffusionImg2ImgPipeline(
        vae=components["vae"],
        text_encoder=components["text_encoder"],
        tokenizer=components["tokenizer"],
        unet=components["unet"],
        scheduler=components["scheduler"],
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    # diffusers' top-level pipeline name is a placeholder class to a type checker.
    pipe.save_pretrained(out, safe_serialization=True)  # type: ignore[attr-defined]
    _write_vocab_txt(out / "tokenizer", components["tokenizer"])
    write_manifest(out, extra)
    return out


def _write_vocab_txt(folder: Path, tokenizer: Any) -> None:
    # tokenizer.json is enough for transformers 5; vocab.txt keeps the folder readable by 4.x and by people.
    vocab = tokenizer.get_vocab()
    lines = [tok for tok, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    (folder / "vocab.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _state_dict_from_folder(folder: Path, names: tuple[str, ...]) -> dict[str, Any]:
    import torch
    from safetensors.torch import load_file

    for name in names:
        path = folder / name
        if path.is_file():
            if name.endswith(".safetensors"):
                return load_file(str(path))
            try:
                state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
                return state
            except Exception as exc:  # pickles with code in them are refused by weights_only
                raise ModelError(
                    f"{path.name} in {folder.name} cannot be read safely ({type(exc).__name__})."
                ) from None
    raise ModelError(f"{folder.name} has no weights ({' or '.join(names)}).")


def _load_diffusers(cls: Any, folder: Path) -> Any:
    """A diffusers model from its folder: safetensors if present, otherwise the .bin read with weights_only."""
    if not (folder / "config.json").is_file():
        raise ModelError(f"The Stable Diffusion folder has no {folder.name}/config.json.")
    if (folder / "diffusion_pytorch_model.safetensors").is_file():
        return cls.from_pretrained(folder, local_files_only=True, use_safetensors=True)
    model = cls.from_config(cls.load_config(folder, local_files_only=True))
    model.load_state_dict(_state_dict_from_folder(folder, ("diffusion_pytorch_model.bin",)))
    return model


def load_bert_encoder(folder: Path, use_attention_mask: bool = True) -> Any:
    """``BertModel`` (no pooler) from a local BERT / RadBERT checkpoint, masked-LM heads dropped."""
    from transformers import BertConfig, BertModel

    if not (folder / "config.json").is_file():
        raise ModelError(f"The text encoder folder {folder.name} has no config.json.")
    config = BertConfig.from_pretrained(folder, local_files_only=True)
    if config.model_type != "bert":
        raise ModelError(f"The text encoder in {folder.name} is a {config.model_type!r} model, not BERT.")
    state = _state_dict_from_folder(folder, ("model.safetensors", "pytorch_model.bin"))
    cleaned = {}
    for key, value in state.items():
        if key.startswith(_HEAD_PREFIXES):
            continue
        cleaned[key.removeprefix("bert.")] = value
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(cleaned, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing:
        raise ModelError(
            f"The BERT checkpoint in {folder.name} lacks {len(missing)} weight(s), e.g. {missing[0]}."
        )
    if unexpected:
        log.info("ignored %d extra BERT weights (e.g. %s)", len(unexpected), unexpected[0])
    model.config.use_attention_mask = bool(use_attention_mask)
    return model


def assemble_model(
    sd_dir: str | Path, text_encoder_dir: str | Path, out_dir: str | Path, use_attention_mask: bool = True
) -> Path:
    """Write the assembled img2img folder to ``out_dir`` and return it (see the module docstring)."""
    from diffusers import AutoencoderKL, PNDMScheduler, UNet2DConditionModel
    from transformers import BertTokenizer

    sd, te_dir = Path(sd_dir), Path(text_encoder_dir)
    for folder, what in ((sd, "Stable Diffusion"), (te_dir, "text encoder")):
        if not folder.is_dir():
            raise ModelError(f"The {what} folder {folder} does not exist.")
    for sub in ("vae", "unet", "scheduler"):
        if not (sd / sub).is_dir():
            raise ModelError(f"{sd.name} is not a Stable Diffusion diffusers folder: {sub}/ is missing.")
    # Check the widths before loading any large weights.
    unet_cfg = json.loads((sd / "unet" / "config.json").read_text("utf-8"))
    te_cfg = (
        json.loads((te_dir / "config.json").read_text("utf-8")) if (te_dir / "config.json").is_file() else {}
    )
    hidden, cross = te_cfg.get("hidden_size"), unet_cfg.get("cross_attention_dim")
    if hidden != cross:
        raise ModelError(
            f"The text encoder's hidden size ({hidden}) does not match the UNet's cross-attention size ({cross})."
        )
    vae = _load_diffusers(AutoencoderKL, sd / "vae")
    unet = _load_diffusers(UNet2DConditionModel, sd / "unet")
    scheduler = PNDMScheduler.from_pretrained(sd, subfolder="scheduler", local_files_only=True)
    text_encoder = load_bert_encoder(te_dir, use_attention_mask)
    try:
        tokenizer = BertTokenizer.from_pretrained(te_dir, local_files_only=True)
    except (OSError, ValueError):
        raise ModelError(
            f"The text encoder folder {te_dir.name} has no usable BERT tokenizer (vocab.txt)."
        ) from None
    tokenizer.model_max_length = MAX_TOKENS  # RadBERT leaves it unset (~1e30), which overflows the pipeline
    extra = {
        "name": Path(out_dir).name,
        "origin": "vald models assemble",
        "sd": sd.name,
        "text_encoder": te_dir.name,
        "use_attention_mask": bool(use_attention_mask),
    }
    components = {
        "vae": vae,
        "unet": unet,
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "scheduler": scheduler,
    }
    return save_pipeline(components, out_dir, extra)
