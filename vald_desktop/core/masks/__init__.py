"""Lung masks: the ``LungMask`` type, where a film's mask comes from (file, dataset, segmenter, atlas fit),
editing, and the real lung shapes the atlas is built from.

May import ``core.films`` and ``core.base``.
"""
