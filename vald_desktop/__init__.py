"""VALD-MD Desktop: healthy counterfactuals and attribution maps for chest X-rays."""

__version__ = "0.1.0"
