"""Fixtures of the install tests: a stand-in for the Hugging Face Hub holding tiny SD and RadBERT repositories."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hub_stand_in import PICKLE_COMMIT, SAFETY_PICKLE, HubStandIn, tree_from_folder

from vald_desktop.core.engine import base_weights as bw


def _tiny_radbert(folder: Path, hidden: int = 32) -> Path:
    """A RadBERT-like checkpoint as RadBERT is published: masked-LM keys ('bert.' prefix, 'cls.' head)."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig, BertModel
    from vald_training.architecture import default_vocab

    vocab = default_vocab()
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=2 * hidden,
    )  # fmt: skip
    torch.manual_seed(0)
    state = {f"bert.{k}": v.contiguous() for k, v in BertModel(config).state_dict().items()}
    state["cls.predictions.bias"] = torch.zeros(len(vocab))
    folder.mkdir(parents=True, exist_ok=True)
    save_file(state, str(folder / "model.safetensors"))
    config.save_pretrained(folder)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    (folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True}))
    return folder


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStandIn]:
    from vald_training.architecture import build_tiny_model

    sd_tree = tree_from_folder(build_tiny_model(tmp_path_factory.mktemp("sd") / "sd", seed=3))
    sd_tree[SAFETY_PICKLE] = b"never fetched"  # what the allow-list leaves on the Hub
    radbert = tree_from_folder(_tiny_radbert(tmp_path_factory.mktemp("radbert")))
    pickle_only = {k: v for k, v in radbert.items() if k != "model.safetensors"}
    pickle_only["pytorch_model.bin"] = b"a pickle"
    with HubStandIn() as stand_in:
        stand_in.add(bw.SD_REPO, bw.SD_REVISION, sd_tree, branch="main")
        stand_in.add(bw.RADBERT_REPO, bw.RADBERT_REVISION, radbert, branch="main")
        stand_in.add(bw.RADBERT_REPO, PICKLE_COMMIT, pickle_only)
        yield stand_in


@pytest.fixture
def home(hub: HubStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from huggingface_hub import constants

    hub.reset()
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_TOKEN", "hf_standin")
    monkeypatch.setenv("VALD_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.delenv("VALD_MODEL", raising=False)
    # Small chunks, so a connection dropped mid-file has already delivered some bytes to resume from.
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 4096)
    return tmp_path / "models"
