"""Help (shortcuts) and About dialogs."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vald_desktop import __version__
from vald_desktop.gui.shortcuts import HELD_KEYS, MOUSE_HELP, SHORTCUTS

RESEARCH_NOTICE = "Research use only — not for diagnosis."

ABOUT_TEXT = f"""<h3>VALD-MD Desktop {__version__}</h3>
<p>Explains a chest X-ray by generating its <i>healthy counterfactual</i> with a text-conditioned latent diffusion
model and showing what changed: red where the model removed evidence, blue where it added some, confined to the
lungs.</p>
<p>Method: Siddiqui, Tirunagari, Zia, Windridge, <i>VALD-MD: Visual Attribution via Latent Diffusion for Medical
Diagnostics</i> (arXiv 2401.01414).</p>
<p><b>{RESEARCH_NOTICE}</b> The counterfactual is a model's guess, not a finding; the map shows where the model
changed the film, not where disease is.</p>"""


class HelpDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard and mouse")
        layout = QVBoxLayout(self)
        rows = [(", ".join(s.keys), s.description, s.group) for s in SHORTCUTS]
        rows += [*HELD_KEYS, *((k, d, "Mouse") for k, d in MOUSE_HELP)]
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Keys", "Action", "Group"])
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 640)


def about_box(parent: QWidget | None = None) -> QMessageBox:
    box = QMessageBox(parent)
    box.setWindowTitle("About VALD-MD Desktop")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(ABOUT_TEXT)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    return box
