"""Qt-free core: films, masks, models, sampler, attribution, export, phantoms.

Nothing in this package may import Qt; the GUI is a thin skin over these functions.
"""
