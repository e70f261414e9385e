"""Load the pieces of a diffusers img2img folder for training (local files, safetensors only)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vald_desktop.core.base.errors import ModelError

if TYPE_CHECKING:  # diffusers' top-level names are placeholders to a type checker: import from the modules
    from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
    from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
    from diffusers.schedulers.scheduling_ddpm import DDPMScheduler
    from diffusers.schedulers.scheduling_pndm import PNDMScheduler
    from transformers import BertModel, BertTokenizer


@dataclass
class Parts:
    vae: AutoencoderKL
    unet: UNet2DConditionModel
    text_encoder: BertModel
    tokenizer: BertTokenizer
    noise_scheduler: DDPMScheduler  # DDPM view of the model's schedule, for adding noise during training
    scheduler: PNDMScheduler  # the model's own inference scheduler (saved with the output)


def load_parts(base: str | Path) -> Parts:
    from diffusers import AutoencoderKL, DDPMScheduler, PNDMScheduler, UNet2DConditionModel
    from transformers import BertModel, BertTokenizer

    root = Path(base)
    if not (root / "model_index.json").is_file():
        raise ModelError(f"{root} is not a diffusers model folder (model_index.json is missing).")
    for sub in ("vae", "unet", "text_encoder", "tokenizer", "scheduler"):
        if not (root / sub).is_dir():
            raise ModelError(f"The model in {root.name} is incomplete: the {sub} folder is missing.")
    try:
        vae = AutoencoderKL.from_pretrained(
            root, subfolder="vae", local_files_only=True, use_safetensors=True
        )
        unet = UNet2DConditionModel.from_pretrained(
            root, subfolder="unet", local_files_only=True, use_safetensors=True
        )
        text_encoder = BertModel.from_pretrained(
            root / "text_encoder", local_files_only=True, use_safetensors=True
        )
        tokenizer = BertTokenizer.from_pretrained(root / "tokenizer", local_files_only=True)
        scheduler_config = PNDMScheduler.load_config(root, subfolder="scheduler", local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelError(f"The model in {root.name} cannot be loaded ({str(exc).splitlines()[0]}).") from None
    scheduler = PNDMScheduler.from_config(scheduler_config)
    noise_scheduler = DDPMScheduler.from_config(scheduler_config)
    hidden = int(text_encoder.config.hidden_size)
    if hidden != int(unet.config.cross_attention_dim):
        raise ModelError(
            f"The text encoder's hidden size ({hidden}) does not match the UNet's cross-attention size "
            f"({unet.config.cross_attention_dim})."
        )
    return Parts(vae, unet, text_encoder, tokenizer, noise_scheduler, scheduler)
