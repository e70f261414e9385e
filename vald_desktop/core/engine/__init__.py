"""The diffusion engine: model folders (check, load, convert, manifest), schedulers, the run in named steps
(``sampler``: film latents, embeddings, start latents, denoise, decode, map, record), its result type, SDEdit start
latents and inversion, per-step hooks, the film ↔ model-grid geometry, and the run record. ``assemble`` builds a
base model folder from local SD + BERT folders. ``hub`` (with ``base_weights``, ``base_install`` and ``model_home``)
downloads the real base model and installs it in the user's models folder: the only code that goes online;
loading stays local.

May import ``core.attribution``, ``core.masks``, ``core.films`` and ``core.base``.
"""
