"""Qt-free core of VALD-MD Desktop, one sub-package per step of the data path.

    film (films) → lung mask (masks) → counterfactual (engine) → map, overlay (attribution) → files, PACS (export)

Layers, top to bottom: export > engine > attribution > masks > films > base. A module imports only from its own
layer or the layers below it; import-linter (pyproject.toml) fails the build when one does not. Nothing here
imports Qt.
"""
