"""The diffusion engine: model folders (check, load, convert, manifest), schedulers, the run in named steps
(``sampler``: film latents, embeddings, start latents, denoise, decode, map, record), its result type, SDEdit start
latents and inversion, per-step hooks, the film ↔ model-grid geometry, and the run record. ``hub`` (with
``base_weights`` and ``model_home``) downloads the real base model into the user's models folder: the only code
that goes online; loading stays local.

May import ``core.attribution``, ``core.masks``, ``core.films`` and ``core.base``.
"""
