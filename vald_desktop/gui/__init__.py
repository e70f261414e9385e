"""PySide6 desktop application: a thin skin over vald_desktop.core."""
