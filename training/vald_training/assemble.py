"""Assemble a VALD-MD base model (SD v1.x + a BERT checkpoint such as RadBERT) into one img2img folder.

The code lives in the app's engine (``vald_desktop.core.engine.assemble``), so that ``vald models fetch`` and the
app's Model ▸ Get base weights can assemble without the training package; it is re-exported here for training code.
"""

from __future__ import annotations

from vald_desktop.core.engine.assemble import MAX_TOKENS, assemble_model, load_bert_encoder

__all__ = ["MAX_TOKENS", "assemble_model", "load_bert_encoder"]
