"""Run controls: the widgets that build a ``RunSettings`` and show one back, plus Generate / Cancel / progress.

The controls never keep their own copy of the settings: :meth:`RunControls.settings` builds a fresh, validated
``RunSettings`` from the widgets, and :meth:`RunControls.set_settings` writes one into them with signals blocked,
so restoring a history entry does not echo back as a user edit.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from PySide6.QtCore import QRegularExpression, QSignalBlocker, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from vald_desktop.core.base.errors import SettingsError
from vald_desktop.core.base.package_data import data_path
from vald_desktop.core.base.settings import (
    HEALTHY_PROMPT,
    MASK_MODES,
    NOISES,
    REFERENCES,
    SCHEDULERS,
    RunSettings,
)

RESOURCES = data_path("resources")
SCHEDULER_LABELS = {"pndm": "PNDM (paper)", "dpmpp": "DPM-Solver++ 2M", "ddim": "DDIM", "euler": "Euler"}
MASK_LABELS = {"none": "No mask", "auto": "Automatic", "file": "From file", "edited": "Edited"}
REFERENCE_LABELS = {"reconstruction": "Film + edit (detail kept)", "input": "Decoder output (paper)"}
NOISE_LABELS = {"random": "Random (SDEdit, paper)", "inverted": "DDIM-inverted (keeps anatomy)"}
_FALLBACK_PRESETS = [(HEALTHY_PROMPT, HEALTHY_PROMPT)]


def load_prompt_presets(path: Path | None = None) -> list[tuple[str, str]]:
    """(label, prompt) pairs from ``resources/prompts.json``; the healthy prompt alone if the file is missing."""
    path = path or RESOURCES / "prompts.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        presets = [(str(p["label"]), str(p["prompt"])) for p in data["presets"]]
    except (OSError, ValueError, KeyError, TypeError):
        return list(_FALLBACK_PRESETS)
    return presets or list(_FALLBACK_PRESETS)


def _combo(items: dict[str, str]) -> QComboBox:
    box = QComboBox()
    for key, label in items.items():
        box.addItem(label, key)
    return box


def _select(box: QComboBox, key: str) -> None:
    i = box.findData(key)
    if i >= 0:
        box.setCurrentIndex(i)


class RunControls(QWidget):
    """Prompt, sampler settings, mask mode, model chooser, Generate / Cancel and the progress bar."""

    changed = Signal()
    generateRequested = Signal()
    cancelRequested = Signal()
    modelChosen = Signal(object)  # Path or None (resolve the default)
    browseModelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.last_seed: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)

        model_box = QGroupBox("Model")
        mform = QVBoxLayout(model_box)
        self.model_combo = QComboBox()
        self.model_combo.addItem("Default model", None)
        self.model_combo.addItem("Choose a model folder…", "browse")
        self.model_label = QLabel("Not loaded yet")
        self.model_label.setWordWrap(True)
        mform.addWidget(self.model_combo)
        mform.addWidget(self.model_label)
        layout.addWidget(model_box)

        prompt_box = QGroupBox("Prompt")
        pform = QFormLayout(prompt_box)
        self.prompt = QComboBox()
        self.prompt.setEditable(True)
        self.prompt.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for label, text in load_prompt_presets():
            self.prompt.addItem(text, text)
            self.prompt.setItemData(self.prompt.count() - 1, label, 3)  # 3 = Qt.ToolTipRole
        # Naming the finding one suspects as the negative prompt steers the run away from that finding only: on the
        # phantom benchmark it localizes effusions and nodules far better than the empty (unconditional) one.
        self.negative = QComboBox()
        self.negative.setEditable(True)
        self.negative.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.negative.addItem("", "")
        self.negative.setItemData(0, "None: steer away from the unconditional model", 3)
        for label, text in load_prompt_presets()[1:]:
            self.negative.addItem(text, text)
            self.negative.setItemData(self.negative.count() - 1, f"Remove: {label}", 3)
        line = self.negative.lineEdit()  # an editable combo box always has one
        if line is not None:
            line.setPlaceholderText("optional: the finding to remove")
        self.negative.setToolTip("The finding to steer away from; empty = the unconditional model")
        pform.addRow("Prompt", self.prompt)
        pform.addRow("Negative", self.negative)
        layout.addWidget(prompt_box)

        sample_box = QGroupBox("Sampling")
        sform = QFormLayout(sample_box)
        self.strength = QDoubleSpinBox(decimals=2, minimum=0.01, maximum=1.0, singleStep=0.05)
        self.guidance = QDoubleSpinBox(decimals=1, minimum=0.0, maximum=30.0, singleStep=0.5)
        self.guidance_until = QDoubleSpinBox(decimals=2, minimum=0.05, maximum=1.0, singleStep=0.05)
        self.guidance_until.setToolTip(
            "Share of the denoising steps that use guidance; the later steps follow the prompt alone "
            "(less change in healthy lung, faster). 1 = every step, as in the paper."
        )
        self.steps = QSpinBox(minimum=1, maximum=1000)
        self.scheduler = _combo({k: SCHEDULER_LABELS.get(k, k) for k in SCHEDULERS})
        self.seed = QLineEdit()
        self.seed.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{1,18}")))
        self.random_seed = QPushButton("Random")
        self.random_seed.setToolTip("Pick a new random seed")
        self.reuse_seed = QPushButton("Reuse")
        self.reuse_seed.setToolTip("Use the seed of the last run again")
        self.reuse_seed.setEnabled(False)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.random_seed)
        seed_row.addWidget(self.reuse_seed)
        self.seeds = QSpinBox(minimum=1, maximum=16)
        self.seeds.setToolTip("More than one seed: the map is the mean over seeds, with a per-pixel spread")
        sform.addRow("Strength", self.strength)
        sform.addRow("Guidance", self.guidance)
        sform.addRow("Guided share", self.guidance_until)
        sform.addRow("Steps", self.steps)
        sform.addRow("Scheduler", self.scheduler)
        sform.addRow("Seed", seed_row)
        sform.addRow("Seeds", self.seeds)
        layout.addWidget(sample_box)

        map_box = QGroupBox("Lungs and map")
        aform = QFormLayout(map_box)
        self.mask_mode = _combo({k: MASK_LABELS.get(k, k) for k in MASK_MODES})
        self.confine = QCheckBox("Edit only inside the lungs")
        self.reference = _combo({k: REFERENCE_LABELS.get(k, k) for k in REFERENCES})
        self.noise = _combo({k: NOISE_LABELS.get(k, k) for k in NOISES})
        self.noise.setToolTip(
            "Where denoising starts: random noise (the paper), or the film itself inverted to that noise level, "
            "so only what the prompt changes moves (deterministic: one seed)"
        )
        self.edit_floor = QDoubleSpinBox(decimals=3, minimum=0.0, maximum=0.5, singleStep=0.005)
        self.edit_floor.setSpecialValueText("Off")
        self.edit_floor.setToolTip(
            "Changes smaller than this (film intensity 0-1) are dropped and larger ones shrink by it: the faint "
            "change a healthy prompt makes across all lung tissue stays out of the counterfactual and the map"
        )
        self.smooth = QDoubleSpinBox(decimals=1, minimum=0.0, maximum=20.0, singleStep=0.5)
        self.preview_every = QSpinBox(minimum=0, maximum=100)
        self.preview_every.setToolTip("Show a preview every k steps (0 = never)")
        aform.addRow("Mask", self.mask_mode)
        aform.addRow("", self.confine)
        aform.addRow("Counterfactual", self.reference)
        aform.addRow("Start noise", self.noise)
        aform.addRow("Ignore changes below", self.edit_floor)
        aform.addRow("Smoothing", self.smooth)
        aform.addRow("Preview every", self.preview_every)
        layout.addWidget(map_box)

        self.notice = QLabel("")
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        layout.addWidget(self.notice)
        buttons = QHBoxLayout()
        self.generate = QPushButton("Generate")
        self.generate.setObjectName("generate")
        self.generate.setToolTip("Generate the counterfactual (Ctrl+Enter)")
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop the run (Esc)")
        self.cancel.setEnabled(False)
        buttons.addWidget(self.generate, 2)
        buttons.addWidget(self.cancel, 1)
        layout.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setFormat("Idle")
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        layout.addWidget(self.progress)
        layout.addStretch(1)

        self.set_settings(RunSettings())
        self.generate.clicked.connect(self.generateRequested)
        self.cancel.clicked.connect(self.cancelRequested)
        self.random_seed.clicked.connect(self.pick_random_seed)
        self.reuse_seed.clicked.connect(self.use_last_seed)
        self.model_combo.activated.connect(self._model_activated)
        for w in (self.strength, self.guidance, self.guidance_until, self.edit_floor, self.smooth):
            w.valueChanged.connect(self._edited)
        for spin in (self.steps, self.seeds, self.preview_every):
            spin.valueChanged.connect(self._edited)
        for c in (self.scheduler, self.mask_mode, self.reference, self.noise):
            c.currentIndexChanged.connect(self._edited)
        self.prompt.editTextChanged.connect(self._edited)
        self.negative.editTextChanged.connect(self._edited)
        self.seed.textChanged.connect(self._edited)
        self.confine.toggled.connect(self._edited)

    # -- settings <-> widgets --------------------------------------------------------------------------------
    def settings(self) -> RunSettings:
        """A validated ``RunSettings`` from the widgets; raises ``SettingsError`` with the sentence to show."""
        seed_text = self.seed.text().strip()
        if not seed_text:
            raise SettingsError("Enter a seed or press Random.")
        return RunSettings(
            prompt=self.prompt.currentText().strip(),
            negative_prompt=self.negative.currentText().strip(),
            strength=round(float(self.strength.value()), 4),
            guidance=round(float(self.guidance.value()), 4),
            guidance_until=round(float(self.guidance_until.value()), 4),
            steps=int(self.steps.value()),
            scheduler=str(self.scheduler.currentData()),
            seed=int(seed_text),
            seeds=int(self.seeds.value()),
            mask_mode=str(self.mask_mode.currentData()),
            confine_to_mask=self.confine.isChecked(),
            reference=str(self.reference.currentData()),
            noise=str(self.noise.currentData()),
            edit_floor=round(float(self.edit_floor.value()), 4),
            smooth_sigma=round(float(self.smooth.value()), 4),
            preview_every=int(self.preview_every.value()),
        )

    def set_settings(self, s: RunSettings) -> None:
        widgets = (self.prompt, self.negative, self.strength, self.guidance, self.guidance_until, self.steps,
                   self.scheduler, self.seed, self.seeds, self.mask_mode, self.confine, self.reference,
                   self.edit_floor, self.smooth, self.preview_every, self.noise)  # fmt: skip
        blockers = [QSignalBlocker(w) for w in widgets]
        try:
            self.prompt.setEditText(s.prompt)
            self.negative.setEditText(s.negative_prompt)
            self.strength.setValue(float(s.strength))
            self.guidance.setValue(float(s.guidance))
            self.guidance_until.setValue(float(s.guidance_until))
            self.steps.setValue(int(s.steps))
            _select(self.scheduler, s.scheduler)
            self.seed.setText(str(s.seed))
            self.seeds.setValue(int(s.seeds))
            _select(self.mask_mode, s.mask_mode)
            self.confine.setChecked(bool(s.confine_to_mask))
            _select(self.reference, s.reference)
            _select(self.noise, s.noise)
            self.edit_floor.setValue(float(s.edit_floor))
            self.smooth.setValue(float(s.smooth_sigma))
            self.preview_every.setValue(int(s.preview_every))
        finally:
            del blockers
        self._validate()

    def set_mask_mode(self, mode: str) -> None:
        _select(self.mask_mode, mode)

    # -- seed ------------------------------------------------------------------------------------------------
    def pick_random_seed(self) -> None:
        self.seed.setText(str(random.randrange(0, 2**31)))

    def use_last_seed(self) -> None:
        if self.last_seed is not None:
            self.seed.setText(str(self.last_seed))

    def remember_seed(self, seed: int) -> None:
        self.last_seed = int(seed)
        self.reuse_seed.setEnabled(True)

    # -- model -----------------------------------------------------------------------------------------------
    def add_model_dir(self, path: Path, select: bool = True) -> None:
        i = self.model_combo.findData(str(path))
        if i < 0:
            self.model_combo.insertItem(self.model_combo.count() - 1, Path(path).name, str(path))
            i = self.model_combo.findData(str(path))
        if select:
            self.model_combo.setCurrentIndex(i)

    def model_dirs(self) -> list[str]:
        """Every model folder in the list (what the next start offers again)."""
        combo = self.model_combo
        dirs = [combo.itemData(i) for i in range(combo.count())]
        return [d for d in dirs if isinstance(d, str) and d != "browse"]

    def model_dir(self) -> Path | None:
        data = self.model_combo.currentData()
        return Path(data) if isinstance(data, str) and data != "browse" else None

    def _model_activated(self, index: int) -> None:
        data = self.model_combo.itemData(index)
        if data == "browse":
            self.browseModelRequested.emit()
        else:
            self.modelChosen.emit(Path(data) if data else None)

    # -- run state -------------------------------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        self.generate.setEnabled(not running and self._valid)
        self.cancel.setEnabled(running)
        if running:
            self.progress.setRange(0, 0)  # busy until the first step arrives (model loading, encode)
            self.progress.setFormat("Starting…")

    def show_progress(self, step: int, total: int, eta: float) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(step, total))
        eta_text = f" · {eta:.0f} s left" if eta >= 0 else ""
        self.progress.setFormat(f"Step {step}/{total}{eta_text}")

    def show_idle(self, text: str = "Idle") -> None:
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setFormat(text)

    def _edited(self, *_: object) -> None:
        self._validate()
        self.changed.emit()

    def _validate(self) -> None:
        try:
            self.settings()
        except SettingsError as exc:
            self._valid = False
            self.notice.setText(str(exc))
        else:
            self._valid = True
            self.notice.setText("")
        if not self.cancel.isEnabled():
            self.generate.setEnabled(self._valid)
