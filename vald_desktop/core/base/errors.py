"""Typed, user-facing errors.

Each carries one plain sentence a radiologist can act on. The CLI prints ``error: <sentence>`` and exits 2;
the GUI shows the sentence in a message box. Never put patient data into these messages.
"""

from __future__ import annotations


class ValdError(Exception):
    """Base class: ``str(err)`` is one sentence meant for the user."""

    def __init__(self, message: str) -> None:
        # Keep it to one line whatever the caller passed.
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)


class FilmError(ValdError):
    """A film (DICOM/PNG/...) cannot be read or displayed."""


class SettingsError(ValdError):
    """A run setting is out of range or inconsistent."""


class ModelError(ValdError):
    """A model folder is missing, incomplete, unsafe or inconsistent."""


class ManifestError(ModelError):
    """A model folder does not match its manifest (a file changed or is missing)."""


class OutOfMemoryError(ValdError):
    """The device ran out of memory even in the low-memory mode."""


class Cancelled(ValdError):
    """The user cancelled a long-running operation; nothing was written."""

    def __init__(self, message: str = "Cancelled by the user.") -> None:
        super().__init__(message)


class MaskError(ValdError):
    """A lung mask cannot be loaded, made or applied."""


class MaskWarning(UserWarning):
    """The automatic lung mask looks empty or implausible; the result may not be confined to the lungs."""


class ExportError(ValdError):
    """An export (PNG, PDF, DICOM) cannot be written."""


class BurnedInTextError(ExportError):
    """A de-identified output was asked for a film whose pixels show (or may show) identifying text."""


class PacsError(ValdError):
    """A DICOM network operation (C-ECHO / C-STORE) failed."""


class DataError(ValdError):
    """A training or evaluation dataset is missing, empty or malformed."""
