"""Training VALD-MD models: model assembly, the demo base model, DreamBooth-style fine-tuning, checkpoints."""
