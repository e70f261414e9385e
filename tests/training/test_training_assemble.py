"""`assemble_model`: SD folder + BERT checkpoint (pytorch_model.bin, like RadBERT) -> one img2img folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vald_desktop.core.base.errors import ModelError


def _fake_bert(folder: Path, hidden: int) -> Path:
    """A RadBERT-like checkpoint: BertForMaskedLM-style keys ('bert.' prefix, 'cls.' head) in a .bin, no max length."""
    import torch
    from transformers import BertConfig, BertModel
    from vald_training.architecture import default_vocab

    vocab = default_vocab()
    folder.mkdir(parents=True)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
    )
    torch.manual_seed(0)
    model = BertModel(config)
    state = {f"bert.{k}": v for k, v in model.state_dict().items()}
    state["cls.predictions.bias"] = torch.zeros(len(vocab))
    torch.save(state, folder / "pytorch_model.bin")
    config.save_pretrained(folder)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    (folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True}))
    return folder


@pytest.fixture(scope="module")
def fake_sd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vald_training.architecture import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("sd") / "sd", seed=3)  # UNet cross-attention width 32


def test_assemble_refuses_mismatched_hidden_size(fake_sd: Path, tmp_path: Path) -> None:
    from vald_training.assemble import assemble_model

    bert = _fake_bert(tmp_path / "bert48", hidden=48)
    with pytest.raises(ModelError, match=r"hidden size \(48\).*cross-attention size \(32\)"):
        assemble_model(fake_sd, bert, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_assemble_writes_loadable_bert_pipeline(fake_sd: Path, tmp_path: Path) -> None:
    import torch
    from diffusers import StableDiffusionImg2ImgPipeline
    from vald_training.assemble import assemble_model

    from vald_desktop.core.engine.manifest import verify_manifest

    bert = _fake_bert(tmp_path / "bert", hidden=32)
    out = assemble_model(fake_sd, bert, tmp_path / "assembled")

    index = json.loads((out / "model_index.json").read_text())
    assert index["text_encoder"] == ["transformers", "BertModel"]
    assert index["tokenizer"][1] == "BertTokenizer"
    assert not list(out.rglob("*.bin")), "only safetensors may be written"
    assert verify_manifest(out)
    te_cfg = json.loads((out / "text_encoder" / "config.json").read_text())
    assert te_cfg["use_attention_mask"] is True
    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(out, local_files_only=True, use_safetensors=True)
    assert pipe.tokenizer.model_max_length == 77
    assert pipe.text_encoder.pooler is None or "pooler.dense.weight" not in _saved_keys(out)
    # The BERT weights are the checkpoint's (prefix stripped), not a fresh initialisation.
    src = torch.load(bert / "pytorch_model.bin", weights_only=True)
    got = pipe.text_encoder.embeddings.word_embeddings.weight
    assert torch.equal(got, src["bert.embeddings.word_embeddings.weight"])
    # The UNet/VAE are the SD folder's.
    from diffusers import UNet2DConditionModel

    ref = UNet2DConditionModel.from_pretrained(fake_sd, subfolder="unet", local_files_only=True)
    assert torch.equal(pipe.unet.conv_in.weight, ref.conv_in.weight)


def _saved_keys(folder: Path) -> set[str]:
    from safetensors import safe_open

    with safe_open(str(folder / "text_encoder" / "model.safetensors"), "pt") as fh:
        return set(fh.keys())
