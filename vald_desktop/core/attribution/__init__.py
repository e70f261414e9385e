"""The attribution map M = film − counterfactual: confinement, statistics, overlay and composite rendering, and
the display helpers (windows, presets) the viewer applies to films and maps.

May import ``core.masks``, ``core.films`` and ``core.base``.
"""
