"""Keyboard shortcuts in the radiology habit, in one table used both to bind the actions and to build Help."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shortcut:
    action: str  # name of the main window action it triggers
    keys: tuple[str, ...]  # QKeySequence strings
    description: str
    group: str


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("open", ("Ctrl+O",), "Open a film (DICOM, PNG, JPEG, TIFF)", "Files"),
    Shortcut("open_folder", ("Ctrl+Shift+O",), "Open a folder of films", "Files"),
    Shortcut("next_film", ("PgDown",), "Next film in the folder", "Files"),
    Shortcut("prev_film", ("PgUp",), "Previous film in the folder", "Files"),
    Shortcut("quit", ("Ctrl+Q",), "Quit", "Files"),
    Shortcut("generate", ("Ctrl+Return", "Ctrl+Enter"), "Generate the counterfactual", "Run"),
    Shortcut("cancel", ("Esc",), "Cancel the run", "Run"),
    Shortcut("invert", ("I",), "Invert grey scale", "View"),
    Shortcut("reset_view", ("Space",), "Reset view: fit and default window/level", "View"),
    Shortcut("fit", ("=",), "Fit to window", "View"),
    Shortcut("actual_size", ("0",), "Actual size (1:1)", "View"),
    Shortcut("zoom_in", ("Ctrl++",), "Zoom in", "View"),
    Shortcut("zoom_out", ("Ctrl+-",), "Zoom out", "View"),
    Shortcut("preset_1", ("1",), "W/L preset 1: DICOM default", "View"),
    Shortcut("preset_2", ("2",), "W/L preset 2: automatic", "View"),
    Shortcut("preset_3", ("3",), "W/L preset 3: full range", "View"),
    Shortcut("preset_4", ("4",), "W/L preset 4: high contrast", "View"),
    Shortcut("preset_5", ("5",), "W/L preset 5: soft", "View"),
    Shortcut("toggle_overlay", ("O",), "Show / hide the difference overlay colours", "View"),
    Shortcut("toggle_metadata", ("Ctrl+I",), "Show / hide the DICOM metadata panel", "View"),
    Shortcut("toggle_outline", ("M",), "Show / hide the lung outline", "Mask"),
    Shortcut("brush", ("B",), "Brush: paint lung", "Mask"),
    Shortcut("eraser", ("E",), "Eraser: remove lung", "Mask"),
    Shortcut("brush_smaller", ("[",), "Smaller brush", "Mask"),
    Shortcut("brush_larger", ("]",), "Larger brush", "Mask"),
    Shortcut("undo_mask", ("Ctrl+Z",), "Undo the last mask stroke", "Mask"),
    Shortcut("help", ("F1",), "This list of shortcuts", "Help"),
)

MOUSE_HELP = (
    ("Wheel", "Zoom at the cursor (all panels follow)"),
    ("Left-drag", "Pan (paints or erases when Brush / Eraser is on)"),
    ("Right-drag", "Window/level: left-right = width, up-down = level"),
    ("Drop a file", "Open it"),
)


def by_action() -> dict[str, Shortcut]:
    return {s.action: s for s in SHORTCUTS}
