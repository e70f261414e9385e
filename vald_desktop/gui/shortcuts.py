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
    Shortcut("layout_1x3", ("Ctrl+3",), "Layout 1 × 3: original | counterfactual | overlay", "Reading"),
    Shortcut("layout_1x2", ("Ctrl+2",), "Layout 1 × 2 (each panel's content chosen in its title)", "Reading"),
    Shortcut("layout_1x1", ("Ctrl+1",), "Layout 1 × 1: one panel", "Reading"),
    Shortcut("cycle_panel", ("V",), "Last panel of 1 × 2 / 1 × 1: show the next one", "Reading"),
    Shortcut("maximise", ("Z",), "Maximise the panel under the mouse / back (or double-click it)", "Reading"),
    Shortcut("flicker", ("T",), "Flicker original ⇄ counterfactual on / off", "Reading"),
    Shortcut("flicker_rate", ("Shift+T",), "Next flicker rate (1, 2, 3, 4 per second)", "Reading"),
    Shortcut("swipe", ("W",), "Swipe: counterfactual left of a curtain, original right", "Reading"),
    Shortcut("swipe_left", ("Shift+Left",), "Move the swipe curtain left", "Reading"),
    Shortcut("swipe_right", ("Shift+Right",), "Move the swipe curtain right", "Reading"),
    Shortcut("reading_mode", ("F11",), "Reading mode: hide the docks and toolbars / show them", "Reading"),
    Shortcut("ruler", ("R",), "Ruler (mm from the film's pixel spacing)", "Measure"),
    Shortcut("roi_rectangle", ("Shift+R",), "Rectangular ROI: mean of the film and of the map", "Measure"),
    Shortcut("roi_ellipse", ("Shift+E",), "Elliptical ROI: mean of the film and of the map", "Measure"),
    Shortcut("clear_measure", ("Del",), "Clear the ruler / ROI", "Measure"),
    Shortcut("region_brush", ("G",), "Edit region: paint where a run may change the film", "Region"),
    Shortcut("region_eraser", ("Shift+G",), "Edit region: erase", "Region"),
    Shortcut("region_undo", ("Ctrl+Shift+Z",), "Undo the last edit-region stroke", "Region"),
    Shortcut("region_clear", ("Ctrl+Shift+G",), "Clear the edit region (all the film may change)", "Region"),
    Shortcut("help", ("F1",), "This list of shortcuts", "Help"),
)

# Keys that act while held: not bound as shortcuts (Tab still moves between fields while one is being typed in).
HELD_KEYS = (("Tab (hold)", "Flicker: the counterfactual while held, the original when let go", "Reading"),)

MOUSE_HELP = (
    ("Wheel", "Zoom at the cursor (all panels follow)"),
    ("Left-drag", "Pan (paints or erases when Brush / Eraser is on)"),
    ("Right-drag", "Window/level: left-right = width, up-down = level"),
    ("Drop a file", "Open it"),
)


def by_action() -> dict[str, Shortcut]:
    return {s.action: s for s in SHORTCUTS}
