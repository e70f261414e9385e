"""Model folders: find, check (structure, safetensors only, manifest, widths) and load them onto a device.

A model is a local diffusers folder for a Stable Diffusion 1.x img2img pipeline whose text encoder is BERT (e.g.
RadBERT) or CLIP. Loading is local-only, safetensors-only and never runs code from the folder. torch and diffusers
are imported inside the functions so importing this module stays cheap.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vald_desktop.core.base.errors import ModelError, OutOfMemoryError
from vald_desktop.core.base.package_data import data_path
from vald_desktop.core.engine.manifest import manifest_hash, verify_manifest
from vald_desktop.core.engine.model_home import installed_model

log = logging.getLogger(__name__)

ENV_MODEL = "VALD_MODEL"
ENV_DEVICE = "VALD_DEVICE"  # cpu | cuda | cuda:N | mps | auto
ENV_DTYPE = "VALD_DTYPE"  # float32 | float16 | bfloat16
DEMO_MODEL_NAME = "demo-phantom"
PICKLE_SUFFIXES = (".bin", ".ckpt", ".pt", ".pth", ".pkl")
WEIGHT_COMPONENTS = ("unet", "vae", "text_encoder")
REQUIRED = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")
MAX_TOKENS = 77  # SD's text length; RadBERT leaves model_max_length unset (~1e30), which would overflow


@dataclass(frozen=True)
class ModelInfo:
    name: str
    path: Path
    device: str
    dtype: str
    text_encoder: str  # "bert" | "clip"
    native_size: int  # UNet sample_size x VAE factor, in pixels
    manifest_hash: str | None
    attention_mask: (
        bool  # whether prompts are encoded with an attention mask (text_encoder.config.use_attention_mask)
    )
    low_memory: bool = False  # attention slicing / CPU offload after an out-of-memory retry


def demo_model_dir() -> Path:
    """The embedded demo model, shipped inside the package (``vald_desktop/models/demo-phantom``)."""
    return data_path("models", DEMO_MODEL_NAME)


def resolve_model_dir(choice: str | Path | None = None) -> Path:
    """The model folder to use: an explicit choice, else ``$VALD_MODEL``, else the embedded demo model.

    A bare name that is not a folder here names a model in the user's models folder (``vald models fetch``).
    """
    if choice:
        path = Path(choice).expanduser()
        path = path if path.is_dir() else installed_model(choice) or path
        if not path.is_dir():
            raise ModelError(f"The model folder {path} does not exist.")
        return path
    env = os.environ.get(ENV_MODEL, "").strip()
    if env:
        path = Path(env).expanduser()
        path = path if path.is_dir() else installed_model(env) or path
        if not path.is_dir():
            raise ModelError(f"The model folder {path} named by {ENV_MODEL} does not exist.")
        return path
    demo = demo_model_dir()
    if demo.is_dir():
        return demo
    raise ModelError(
        f"No model found: pass --model DIR (or choose one in the app), set {ENV_MODEL}, "
        f"or build the demo model into {demo}."
    )


RECOMMENDED_NAME = "vald-settings.json"


def recommended_settings(folder: str | Path | None) -> dict[str, Any]:
    """Run-setting values a model folder recommends (``vald-settings.json``: ``{"recommended": {...}}``), else {}.

    A model's authors know which settings suit it (the demo model: DDIM-inverted start, edits inside the lungs); the
    app and ``vald run`` start from these instead of the paper's defaults, and anything the user sets wins.
    """
    if folder is None:
        return {}
    path = Path(folder) / RECOMMENDED_NAME
    if not path.is_file():
        return {}
    from vald_desktop.core.base.errors import SettingsError
    from vald_desktop.core.base.settings import RunSettings

    try:
        values = json.loads(path.read_text("utf-8"))["recommended"]
        RunSettings().replace(**values)  # unknown names and bad values fail here
    except (OSError, ValueError, KeyError, TypeError, SettingsError) as exc:
        raise ModelError(
            f"The recommended settings in {path.name} of {Path(folder).name} are unusable ({exc})."
        ) from None
    return dict(values)


def _read_json(path: Path, folder: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ModelError(
            f"The model in {folder.name} is incomplete: {path.relative_to(folder)} is missing."
        ) from None
    except (OSError, ValueError):
        raise ModelError(
            f"The model in {folder.name} has an unreadable {path.relative_to(folder)}."
        ) from None
    if not isinstance(data, dict):
        raise ModelError(f"The model in {folder.name} has an unreadable {path.relative_to(folder)}.")
    return data


def pickle_files(folder: Path) -> list[Path]:
    """Pickle weight files diffusers could load. Hidden folders (training's ``.checkpoints``) are never loaded."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in PICKLE_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def text_encoder_kind(config: dict[str, Any]) -> str:
    model_type = str(config.get("model_type", "")).lower()
    archs = " ".join(config.get("architectures") or []).lower()
    return "clip" if "clip" in model_type or "clip" in archs else "bert"


def check_model_dir(path: str | Path) -> None:
    """Raise :class:`ModelError` unless ``path`` is a complete, safetensors-only SD img2img folder."""
    folder = Path(path)
    if not folder.is_dir():
        raise ModelError(f"The model folder {folder} does not exist.")
    pickles = pickle_files(folder)
    if pickles:
        rel = pickles[0].relative_to(folder).as_posix()
        raise ModelError(
            f"The model in {folder.name} holds pickle weights ({rel}), which are not loaded for safety; "
            f"convert it first with: vald models convert {folder} NEW_FOLDER"
        )
    index = _read_json(folder / "model_index.json", folder)
    for part in REQUIRED:
        if not (folder / part).is_dir() or part not in index:
            raise ModelError(f"The model in {folder.name} is incomplete: the {part} folder is missing.")
    for part in WEIGHT_COMPONENTS:
        if not any((folder / part).glob("*.safetensors")):
            raise ModelError(f"The model in {folder.name} has no safetensors weights in {part}/.")
    verify_manifest(folder)
    unet = _read_json(folder / "unet" / "config.json", folder)
    text = _read_json(folder / "text_encoder" / "config.json", folder)
    hidden = text.get("hidden_size") or text.get("text_config", {}).get("hidden_size")
    cross = unet.get("cross_attention_dim")
    if hidden is None or cross is None or int(hidden) != int(cross):
        raise ModelError(
            f"The model in {folder.name} does not fit together: the text encoder width ({hidden}) differs from "
            f"the UNet's cross-attention width ({cross})."
        )


def native_size(folder: Path) -> int:
    unet = _read_json(folder / "unet" / "config.json", folder)
    vae = _read_json(folder / "vae" / "config.json", folder)
    return _native_size(unet, vae)


def _native_size(unet: Any, vae: Any) -> int:
    """UNet sample size x VAE factor from the two configs (plain dicts or diffusers' frozen configs)."""
    factor: int = 2 ** (len(vae.get("block_out_channels", [0, 0, 0, 0])) - 1)
    size = unet.get("sample_size", 64)
    size = size[0] if isinstance(size, (list, tuple)) else size
    return int(size) * factor


def pick_device(device: str | None = None) -> tuple[str, str]:
    """(device, dtype name): CUDA bf16/fp16 → Apple MPS → CPU fp32, unless a device or ``$VALD_DEVICE`` says otherwise."""
    import torch

    choice = (device or os.environ.get(ENV_DEVICE, "") or "auto").strip().lower()
    if choice == "auto":
        if torch.cuda.is_available():
            choice = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            choice = "mps"
        else:
            choice = "cpu"
    if choice.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ModelError("A CUDA device was requested but none is available; use --device cpu.")
        # bf16 keeps the SD VAE from overflowing to NaN; fp16 only where bf16 is missing (pre-Ampere).
        dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    elif choice == "mps":
        if not torch.backends.mps.is_available():
            raise ModelError("An Apple MPS device was requested but none is available; use --device cpu.")
        dtype = "float32"  # half precision on MPS is not reliable across macOS versions
    elif choice == "cpu":
        dtype = "float32"
    else:
        raise ModelError(f"Unknown device {choice!r}; use auto, cpu, cuda or mps.")
    dtype = os.environ.get(ENV_DTYPE, "").strip().lower() or dtype
    if dtype not in ("float32", "float16", "bfloat16"):
        raise ModelError(f"Unknown {ENV_DTYPE} {dtype!r}; use float32, float16 or bfloat16.")
    return choice, dtype


def load_pipeline(path: str | Path, device: str | None = None) -> tuple[Any, ModelInfo]:
    """Check and load the folder as a ``StableDiffusionImg2ImgPipeline``; returns ``(pipe, info)``."""
    folder = Path(path)
    check_model_dir(folder)
    dev, dtype_name = pick_device(device)
    import warnings

    import torch
    from transformers.utils import logging as tlogging

    tlevel = tlogging.get_verbosity()
    # Silence import-time notes about optional image processors, "expected CLIPTextModel, got BertModel" (BERT is
    # intended here), deprecation chatter and the per-load progress bars: users see one line or nothing.
    tlogging.set_verbosity_error()
    from diffusers import StableDiffusionImg2ImgPipeline
    from diffusers.utils import logging as dlogging

    dtype = getattr(torch, dtype_name)
    level = dlogging.get_verbosity()
    dlogging.set_verbosity_error()
    dlogging.disable_progress_bar()
    tlogging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            pipe = StableDiffusionImg2ImgPipeline.from_pretrained(
                folder,
                local_files_only=True,
                use_safetensors=True,
                torch_dtype=dtype,
                safety_checker=None,
                feature_extractor=None,
                requires_safety_checker=False,
            )
    except (OSError, ValueError, RuntimeError, TypeError, KeyError) as exc:
        log.debug("loading %s failed: %r", folder, exc)
        raise ModelError(f"The model in {folder.name} cannot be loaded ({type(exc).__name__}).") from None
    finally:
        dlogging.set_verbosity(level)
        tlogging.set_verbosity(tlevel)
        dlogging.enable_progress_bar()
        tlogging.enable_progress_bar()
    pipe.set_progress_bar_config(disable=True)
    cap_tokenizer(pipe)
    low_memory = False
    try:
        pipe.to(dev)
    except torch.OutOfMemoryError:
        low_memory = enter_low_memory(pipe, dev)
        if not low_memory:
            raise OutOfMemoryError(
                "The model does not fit into the device memory; try a smaller model."
            ) from None
    if dev.startswith("cuda"):
        # SDPA is diffusers' default attention on torch 2; channels-last speeds up the UNet's convolutions.
        pipe.unet.to(memory_format=torch.channels_last)
    info = ModelInfo(
        name=folder.name,
        path=folder.resolve(),
        device=dev,
        dtype=dtype_name,
        text_encoder=text_encoder_kind(pipe.text_encoder.config.to_dict()),
        native_size=native_size(folder),
        manifest_hash=manifest_hash(folder),
        attention_mask=bool(getattr(pipe.text_encoder.config, "use_attention_mask", False)),
        low_memory=low_memory,
    )
    return pipe, info


def cap_tokenizer(pipe: Any) -> None:
    """Cap the tokenizer at SD's 77 tokens (RadBERT leaves it unset) and at the encoder's position table."""
    tok = pipe.tokenizer
    max_pos = int(getattr(pipe.text_encoder.config, "max_position_embeddings", MAX_TOKENS) or MAX_TOKENS)
    if not tok.model_max_length or tok.model_max_length > MAX_TOKENS:
        tok.model_max_length = min(MAX_TOKENS, max_pos)


def pipeline_info(pipe: Any, folder: str | Path) -> ModelInfo:
    """ModelInfo for an img2img pipeline built in memory (e.g. weights in training), named after ``folder``.

    Device and dtype are the UNet's; there is no manifest hash because the weights are not that folder's files.
    """
    return ModelInfo(
        name=Path(folder).name,
        path=Path(folder).resolve(),
        device=str(pipe.unet.device),
        dtype=str(pipe.unet.dtype).removeprefix("torch."),
        text_encoder=text_encoder_kind(pipe.text_encoder.config.to_dict()),
        native_size=_native_size(pipe.unet.config, pipe.vae.config),
        manifest_hash=None,
        attention_mask=bool(getattr(pipe.text_encoder.config, "use_attention_mask", False)),
    )


def enter_low_memory(pipe: Any, device: str) -> bool:
    """Switch a pipeline to its low-memory mode; returns False when it already was in it."""
    if getattr(pipe, "_vald_low_memory", False):
        return False
    import torch

    pipe.enable_attention_slicing("max")
    pipe.vae.enable_slicing()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        # Keeps only the module in use on the GPU; needs accelerate (a dependency).
        pipe.enable_model_cpu_offload(device=device)
    pipe._vald_low_memory = True
    log.warning("out of device memory: retrying with attention slicing and CPU offload")
    return True
