"""Lung masks: the ``LungMask`` type, where a film's mask comes from (file, dataset, segmenter, atlas fit),
editing, and the real lung shapes the atlas is built from; and the reader's edit region (``region``: where a
run may change the film).

May import ``core.films`` and ``core.base``.
"""
