"""PySide6 desktop application: a thin skin over vald_desktop.core.

It owns the window and everything that runs for it: ``main_window`` composes the widgets (panels, controls,
history, mask editor) with the controllers that do the work, each given its collaborators in its constructor —
``files_controller`` (open, recent, next / previous, export), ``runs_controller`` (model, Generate / Cancel,
history, automatic mask) and ``pacs_sender`` (node dialog, sends, Retry). Work that would hold up the window runs
elsewhere: ``worker`` (the sampler thread), ``pacs_worker`` (the PACS thread), ``film_loader`` and
``result_drawing`` (thread pools), and ``helper_process`` (one spawned process, which ``film_decoding`` and
``lung_finding`` use). ``stall`` measures how responsive the window stays.
``reading_room`` composes the reading tools: ``panel_layout`` (1×3 / 1×2 / 1×1, maximise), ``comparison``
(flicker, swipe), ``region_editor`` (the edit region), ``measure_tools`` (ruler, ROI) and ``map_reading`` (colour
bar, per-lung statistics).

It may import ``vald_desktop.core``, ``vald_phantoms`` and Qt; never the commands, the CLI, training or
evaluation. Its modules import one another without cycles (import-linter).
"""
