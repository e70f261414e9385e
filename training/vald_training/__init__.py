"""Training and evaluation for VALD-MD models (model assembly, fine-tuning, metrics, the paper's tables)."""
