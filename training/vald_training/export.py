"""Write the trained model: a diffusers img2img folder (safetensors), a model card, its domain calibration and a
manifest (main process only)."""

from __future__ import annotations

import json
import platform
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vald_desktop.core.base import atomic
from vald_desktop.core.engine.manifest import write_manifest
from vald_training.architecture import save_pipeline
from vald_training.domain_card import write_domain

if TYPE_CHECKING:
    import torch

    from vald_training.train_state import TrainState

DEFAULT_NOTICE = "Research model — not for clinical use."


def model_card(state: TrainState, result: dict[str, Any], samples: list[Path]) -> str:
    cfg = state.cfg
    counts = Counter(ex.klass for ex in state.ds.examples)
    name = cfg.name or Path(cfg.out).name
    plan = ", ".join(f"{k or 'all classes'}: {s}" for k, s in state.plan)
    loss = result.get("final_loss")
    lines = [
        f"# {name}",
        "",
        cfg.card_notes.strip() or DEFAULT_NOTICE,
        "",
        "A text-conditioned latent diffusion model in the VALD-MD layout (AutoencoderKL f=8, UNet2DConditionModel with",
        "cross-attention, BERT text encoder) for healthy counterfactuals of chest X-rays (SDEdit img2img).",
        "",
        "## Data",
        f"- source: `{cfg.data}` ({len(state.ds.examples)} images, {state.ds.skipped} unreadable skipped)",
        *[f"- {k}: {n} images" for k, n in sorted(counts.items())],
        "",
        "## Training",
        f"- base: `{cfg.base}`",
        f"- schedule: {cfg.schedule} ({plan}); {result.get('steps')} optimizer steps",
        f"- batch {cfg.train_batch_size} per process x {state.acc.num_processes} process(es) x "
        f"{cfg.gradient_accumulation_steps} accumulation; resolution {cfg.resolution} px",
        f"- lr {cfg.learning_rate} ({cfg.lr_scheduler}, {cfg.lr_warmup_steps} warm-up steps), AdamW, "
        f"grad clip {cfg.max_grad_norm}, mixed precision {cfg.mixed_precision}",
        f"- prior preservation: weight {cfg.prior_weight} on class {cfg.prior_class!r}",
        f"- text encoder trained: {cfg.train_text_encoder}; caption dropout {cfg.caption_dropout}; "
        f"attention masks {'on' if state.use_mask else 'off'} (text_encoder/config.json `use_attention_mask`)",
        f"- EMA: {cfg.ema}; seed {cfg.seed}",
        *([f"- timesteps {cfg.min_timestep}-999 only (`min_timestep`)"] if cfg.min_timestep else []),
        "",
        "## Architecture",
        *_architecture_lines(state),
        "",
        "## Metrics",
        f"- final training loss (mean of the last logged steps): {loss:.4f}"
        if loss is not None
        else "- no loss logged",
        f"- training time: {result.get('seconds', 0.0) / 60:.1f} min, {result.get('steps_per_second', 0.0):.3f} steps/s "
        f"on {state.acc.device.type} ({platform.machine()})",
        "",
        *_base_lines(cfg.base),
        "## Prompts",
        *[f'- {k}: "{p}"' for k, p in sorted({ex.klass: ex.prompt for ex in state.ds.examples}.items())],
        "",
        f"Written {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}.",
        "",
    ]
    return "\n".join(lines)


def _architecture_lines(state: TrainState) -> list[str]:
    p = state.parts

    def millions(model: torch.nn.Module) -> str:
        return f"{sum(t.numel() for t in model.parameters()) / 1e6:.2f} M parameters"

    unet, vae, te = p.unet.config, p.vae.config, p.text_encoder.config
    channels = list(vae["block_out_channels"])
    return [
        f"- native size {state.cfg.resolution} px -> latents {state.latent_shape[0]} x "
        f"{state.latent_shape[1]} x {state.latent_shape[2]}",
        f"- UNet: channels {list(unet['block_out_channels'])}, blocks {list(unet['down_block_types'])}, "
        f"cross-attention {unet['cross_attention_dim']} ({millions(p.unet)})",
        f"- VAE: channels {channels}, scaling factor {vae['scaling_factor']:.4f} ({millions(p.vae)})",
        f"- BERT: hidden {te.hidden_size}, {te.num_hidden_layers} layers, {te.num_attention_heads} heads, "
        f"vocabulary {te.vocab_size} ({millions(p.text_encoder)})",
    ]


def _base_lines(base: str) -> list[str]:
    """The base model's own build record (e.g. the demo's VAE stage), when its manifest has one."""
    from vald_desktop.core.engine.manifest import read_manifest

    try:
        manifest = read_manifest(base) or {}
    except Exception:  # a base without a readable manifest simply has nothing to report
        return []
    vae = manifest.get("vae_metrics")
    if not vae:
        return []
    return [
        f"- VAE stage (base built from scratch): reconstruction PSNR {vae['vae_psnr_db']:.1f} dB, "
        f"final loss {vae['vae_final_loss']:.4f}, {vae['vae_train_seconds'] / 60:.1f} min",
        "",
    ]


def export_model(state: TrainState, result: dict[str, Any], samples: list[Path]) -> Path | None:
    acc = state.acc
    acc.wait_for_everyone()
    out = Path(state.cfg.out)
    if acc.is_main_process:
        unet = state.unet
        if state.ema is not None:
            state.ema.copy_to(unet.parameters())
        text_encoder = state.text_encoder
        text_encoder.config.use_attention_mask = state.use_mask
        p = state.parts
        components = {
            "vae": p.vae.to(dtype=unet.dtype),  # type: ignore[call-arg]  # diffusers' @wraps hides self
            "unet": unet,
            "text_encoder": text_encoder,
            "tokenizer": p.tokenizer,
            "scheduler": p.scheduler,
        }
        extra = {
            "name": state.cfg.name or out.name,
            "origin": "vald train",
            "steps": result.get("steps"),
            "final_loss": result.get("final_loss"),
        }
        save_pipeline(components, out, extra)
        atomic.write_text(out / "README.md", model_card(state, result, samples))
        atomic.write_text(out / "training_config.json", json.dumps(state.cfg.to_dict(), indent=2) + "\n")
        write_domain(state, out, str(acc.device))  # vald-domain.json: what runs compare a film with
        write_manifest(out, json.loads(json.dumps(extra)))  # again: the card and config are part of the model
    acc.wait_for_everyone()
    return out if acc.is_main_process else None
