"""The attribution map M = film − counterfactual: confinement, statistics, overlay and composite rendering, and
the display helpers (windows, presets) the viewer applies to films and maps, and what the ruler and the ROI
read (``measure``).

May import ``core.masks``, ``core.films`` and ``core.base``.
"""
