"""Dark theme: reading rooms are dim, and a bright UI around a film hurts contrast perception."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

_STYLE = """
QToolTip { color: #e6e6e6; background-color: #2b2b2b; border: 1px solid #555; }
QGroupBox { border: 1px solid #444; border-radius: 4px; margin-top: 14px; padding-top: 6px; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; color: #bbbbbb; }
QPushButton#generate { background-color: #2d6cdf; color: white; font-weight: bold; padding: 6px; }
QPushButton#generate:disabled { background-color: #3a3a3a; color: #777; }
QLabel#panelTitle { color: #cfcfcf; font-weight: bold; }
QLabel#notice { color: #e0a040; }
"""


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    pal = QPalette()
    base, window, text = QColor(30, 30, 30), QColor(42, 42, 42), QColor(225, 225, 225)
    pal.setColor(QPalette.ColorRole.Window, window)
    pal.setColor(QPalette.ColorRole.WindowText, text)
    pal.setColor(QPalette.ColorRole.Base, base)
    pal.setColor(QPalette.ColorRole.AlternateBase, window)
    pal.setColor(QPalette.ColorRole.ToolTipBase, base)
    pal.setColor(QPalette.ColorRole.ToolTipText, text)
    pal.setColor(QPalette.ColorRole.Text, text)
    pal.setColor(QPalette.ColorRole.Button, QColor(53, 53, 53))
    pal.setColor(QPalette.ColorRole.ButtonText, text)
    pal.setColor(QPalette.ColorRole.BrightText, QColor(255, 80, 80))
    pal.setColor(QPalette.ColorRole.Link, QColor(90, 160, 255))
    pal.setColor(QPalette.ColorRole.Highlight, QColor(45, 108, 223))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    pal.setColor(QPalette.ColorRole.PlaceholderText, QColor(130, 130, 130))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 120))
    app.setPalette(pal)
    app.setStyleSheet(_STYLE)
