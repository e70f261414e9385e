"""The real base model's sources: Stable Diffusion v1.4 (UNet, VAE, scheduler) and RadBERT (text encoder), pinned.

``vald models fetch`` downloads exactly these files (``core.engine.hub``) and assembles them into one model folder
named :data:`MODEL_NAME` in the user's models folder (``core.engine.model_home``).
"""

from __future__ import annotations

from vald_desktop.core.engine.hub import RepoFiles

MODEL_NAME = "sd-v1-4-radbert"

SD_REPO = "CompVis/stable-diffusion-v1-4"
# Must be the commit hash of the published repository (main, with safetensors weights): a pinned commit cannot
# change under us. This is the commit that public copies of the repository's cache name; confirm it on the
# repository's page when updating, and override it with --sd-revision.
SD_REVISION = "133a221b8aa7292a167afc5127cb63fb5005638b"
# Only what assembly uses: the CLIP text encoder, safety checker and feature extractor are left on the Hub.
SD_FILES = RepoFiles(
    required=("scheduler/scheduler_config.json", "unet/config.json", "vae/config.json"),
    optional=("model_index.json",),
    weights=("unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors"),
)

RADBERT_REPO = "StanfordAIMI/RadBERT"
# Must be the commit hash of the published repository, as above (override with --radbert-revision). A revision
# that holds only pytorch_model.bin is refused: convert such a checkpoint yourself with 'vald models convert'.
RADBERT_REVISION = "c8f97547ff6dd96debf4e50022d9679219e6987b"
RADBERT_FILES = RepoFiles(
    required=("config.json", "vocab.txt"),
    optional=("tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"),
    weights=("model.safetensors",),
)

LICENCE_URL = "https://huggingface.co/spaces/CompVis/stable-diffusion-license"
LICENCE_NOTICE = f"""\
Stable Diffusion v1.4 ({SD_REPO}) is licensed under the CreativeML OpenRAIL-M licence:
  {LICENCE_URL}
In short: you may use, copy and share the weights and what you make with them, but not for the uses its
Attachment A lists (among them: breaking the law, exploiting or harming minors, disinformation, harassment,
discrimination, and providing medical advice or medical results interpretation); you must pass these use
restrictions on to anyone you share the model with, and you are responsible for what you generate.
VALD-MD Desktop is for research use only, not for diagnosis.
RadBERT ({RADBERT_REPO}) comes with its own terms on its model card."""
