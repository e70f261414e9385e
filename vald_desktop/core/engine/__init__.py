"""The diffusion engine: model folders (check, load, convert, manifest), schedulers, the run in named steps
(``sampler``: film latents, embeddings, start latents, denoise, decode, map, record), its result type, SDEdit start
latents and inversion, per-step hooks, the film ↔ model-grid geometry, and the run record.

May import ``core.attribution``, ``core.masks``, ``core.films`` and ``core.base``.
"""
