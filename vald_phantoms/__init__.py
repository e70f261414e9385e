"""Synthetic chest phantoms with ground truth (lesion mask, healthy twin, lung mask).

Serves training data, benchmarks and tests; not on the app's path. Uses ``vald_desktop.core`` (base, masks).
"""
