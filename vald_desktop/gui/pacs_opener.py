"""The window's "Open from PACS…": the dialog on the saved node, then what the fetched series becomes.

A series of films opens like a folder (the first film shown, PgDown / PgUp for the others). A Segmentation of the
lungs (a radiologist's own, from the PACS) becomes the open film's lung mask, once it is checked to belong to that
film. The node is the PACS part's (:class:`~.pacs_sender.PacsSender`): DIMSE or DICOMweb, whichever was saved.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from vald_desktop.core.base.errors import ValdError
from vald_desktop.core.export.incoming import Retrieved
from vald_desktop.gui.document import CurrentFilm
from vald_desktop.gui.exporting import PACS_LABELS
from vald_desktop.gui.files_controller import FilesController
from vald_desktop.gui.mask_editor import MaskEditor
from vald_desktop.gui.messages import Messages
from vald_desktop.gui.pacs_browser import PacsBrowser
from vald_desktop.gui.pacs_open_dialog import PacsOpenDialog
from vald_desktop.gui.pacs_sender import PacsSender

SEGMENTATION_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"


class PacsOpener(QObject):
    """``action`` (File > Open from PACS…) is the window's to place; ``dialog`` is the open dialog, if any."""

    def __init__(
        self,
        window: QWidget,
        messages: Messages,
        document: CurrentFilm,
        files: FilesController,
        mask_editor: MaskEditor,
        sender: PacsSender,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._messages = messages
        self._document = document
        self._files = files
        self._mask_editor = mask_editor
        self._sender = sender
        self.browser = PacsBrowser(self)
        self.dialog: PacsOpenDialog | None = None
        self.last_opened: Retrieved | None = None
        self.action = QAction("Open from PACS…", window)
        self.action.triggered.connect(lambda _=False: self.open_dialog())

    def open_dialog(self) -> PacsOpenDialog | None:
        """The search dialog on the saved node (window-modal, not blocking); the node dialog first if none."""
        if self.dialog is not None:
            self.dialog.raise_()
            return self.dialog
        node = self._sender.node
        if node is None:
            self._messages.show_error(
                f"Set up the PACS node first (File > Export > {PACS_LABELS['node']}), then open from it."
            )
            return None
        dlg = PacsOpenDialog(node, self.browser, self._window)
        dlg.opened.connect(self.open_retrieved)
        dlg.finished.connect(lambda *_: self._closed(dlg))
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dlg
        dlg.open()
        return dlg

    def _closed(self, dlg: PacsOpenDialog) -> None:
        if self.dialog is dlg:
            self.dialog = None

    def open_retrieved(self, retrieved: Retrieved) -> None:
        """Open fetched films, or load a fetched lung Segmentation as the open film's mask."""
        self.last_opened = retrieved
        if not retrieved.files:
            return
        if _sop_class(retrieved.files[0]) == SEGMENTATION_CLASS:
            self._load_segmentation(retrieved.files[0])
            return
        folder = retrieved.folder
        if len(retrieved.files) == 1 or folder is None:
            self._files.open_film(retrieved.files[0])
        else:
            self._files.open_path(folder)

    def _load_segmentation(self, path: Path) -> None:
        film = self._document.film
        if film is None:
            self._messages.show_error("Open the film first, then its lung segmentation from the PACS.")
            return
        uid = str(film.dataset.get("SOPInstanceUID", "")) if film.dataset is not None else ""
        try:
            if self._mask_editor.edit is None:  # no automatic mask (yet): the segmentation becomes the mask
                from vald_desktop.core.masks.resolve import load_mask

                self._mask_editor.set_automatic(
                    load_mask(path, film.shape, film_uid=uid or None), source="file"
                )
            else:
                self._mask_editor.load_from(path, film_uid=uid or None)
        except ValdError as exc:
            self._messages.show_error(str(exc))
            return
        self._messages.show_status("The lung mask now comes from the PACS segmentation.")

    def shutdown(self) -> None:
        self.browser.shutdown()


def _sop_class(path: Path) -> str:
    from pydicom import dcmread

    try:
        return str(
            dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID"]).get("SOPClassUID", "")
        )
    except Exception:  # noqa: BLE001 - not readable here: the film loader says why when it tries
        return ""
