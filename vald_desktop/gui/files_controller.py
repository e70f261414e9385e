"""Opening films and writing results to files: dialogs, folders, recent files, next / previous film, Export.

Films are decoded off the GUI thread (:class:`~.film_loader.FilmLoader`); the controller only says when one is
ready (``filmLoaded``) and keeps what was asked for (a file, a folder, a step in the folder) until it arrives, so
the old film stays on screen meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QProgressBar, QWidget

from vald_desktop.core.base.errors import ValdError
from vald_desktop.core.films.filelist import list_films, open_dialog_filter, update_recent
from vald_desktop.gui.burned_in_prompt import BurnedInQuestion
from vald_desktop.gui.document import CurrentFilm
from vald_desktop.gui.exporting import EXPORT_KINDS, FOLDER_KINDS, export_result, is_deidentifying, suffix_for
from vald_desktop.gui.film_loader import FilmLoader, LoadedFilm
from vald_desktop.gui.messages import Messages
from vald_desktop.gui.overlay_controls import OverlayControls


@dataclass(frozen=True)
class _Opening:
    """What the pending load is for, applied only once its film has arrived (the old film stays until then)."""

    kind: str  # "file", "folder" or "step"
    films: tuple[Path, ...] = ()  # the folder's films ("folder")
    folder: Path | None = None
    index: int = -1  # the folder position asked for ("step")
    quiet: bool = False


class FilesController(QObject):
    """Opens films and exports results. ``filmLoaded`` carries a :class:`LoadedFilm` for the window to show.

    ``open_progress`` (for the status bar), ``recent_menu`` and ``export_actions`` are the window's to place.
    """

    filmLoaded = Signal(object)  # LoadedFilm

    def __init__(
        self,
        window: QWidget,
        messages: Messages,
        document: CurrentFilm,
        overlay: OverlayControls,
        recent: list[str],
    ) -> None:
        super().__init__(window)
        self._window = window
        self._messages = messages
        self._document = document
        self._overlay = overlay
        self.recent = list(recent)
        self.burned_in = BurnedInQuestion(window, messages, document)
        self.folder_films: list[Path] = []
        self.folder_index = -1
        self._opening: _Opening | None = None
        self.film_loader = FilmLoader(self)
        self.film_loader.loading.connect(self._on_film_loading)
        self.film_loader.loaded.connect(self._on_film_loaded)
        self.film_loader.failed.connect(self._on_film_failed)
        self.open_progress = QProgressBar()
        self.open_progress.setRange(0, 0)  # indeterminate: a decoder does not say how far it is
        self.open_progress.setMaximumWidth(120)
        self.open_progress.setMaximumHeight(14)
        self.open_progress.setTextVisible(False)
        self.open_progress.hide()
        self.recent_menu = QMenu("Open &recent", window)
        self._refresh_recent_menu()
        self.export_actions: list[QAction] = []  # enabled once a run has a result (see ``enable_export``)
        for label, kind, pattern in EXPORT_KINDS:
            act = QAction(label, window)
            act.triggered.connect(lambda _=False, k=kind, pat=pattern: self.export_dialog(k, pat))
            act.setEnabled(False)
            self.export_actions.append(act)

    # -- dialogs ---------------------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        start = str(Path(self.recent[0]).parent) if self.recent else ""
        name, _ = QFileDialog.getOpenFileName(self._window, "Open film", start, open_dialog_filter())
        if name:
            self.open_path(Path(name))

    def open_folder_dialog(self) -> None:
        name = QFileDialog.getExistingDirectory(self._window, "Open a folder of films")
        if name:
            self.open_path(Path(name))

    # -- opening ---------------------------------------------------------------------------------------------
    def open_path(self, path: str | Path) -> bool:
        """Start opening a film, or the first readable film of a folder (then PgDown/PgUp step through it).

        Decoding happens off the GUI thread: this returns at once (False only when a folder holds no films);
        ``film_loader.loaded`` / ``failed`` tell when the film is shown or why it is not.
        """
        path = Path(path)
        if path.is_dir():
            films = list_films(path)
            if not films:
                self._messages.show_error(
                    f"The folder {path.name} holds no films (DICOM, PNG, JPEG or TIFF)."
                )
                return False
            self._start_open(films, _Opening("folder", tuple(films), path, quiet=True))
            return True
        return self.open_film(path)

    def step_film(self, delta: int) -> None:
        if not self.folder_films:
            return
        i = self.folder_index + delta
        if 0 <= i < len(self.folder_films):
            self._start_open([self.folder_films[i]], _Opening("step", index=i))

    def open_film(self, path: str | Path, quiet: bool = False) -> bool:
        """Start loading ``path``; on failure the sentence is shown (unless ``quiet``) and the current film stays."""
        self._start_open([Path(path)], _Opening("file", quiet=quiet))
        return True

    def _start_open(self, paths: list[Path], opening: _Opening) -> None:
        self._opening = opening
        self.film_loader.open(paths, quiet=opening.quiet)

    def _on_film_loading(self, name: str) -> None:
        self.open_progress.show()
        self._messages.hold_status(f"Opening {name}…")  # stays until the film or an error replaces it

    def _on_film_loaded(self, loaded: LoadedFilm) -> None:
        opening, self._opening = self._opening, None
        self.open_progress.hide()
        self.filmLoaded.emit(loaded)  # shown by the window before the folder's position is said
        self.recent = update_recent(self.recent, loaded.path)
        self._refresh_recent_menu()
        if opening is None or opening.kind == "file":
            self.folder_films = []
            self.folder_index = -1
        elif opening.kind == "folder":
            self.folder_films = list(opening.films)
            self.folder_index = loaded.index
            n = len(self.folder_films)
            where = opening.folder.name if opening.folder else "the folder"
            self._messages.show_status(
                f"Film {loaded.index + 1} of {n} in {where}; PgDown / PgUp for the others."
            )
        else:
            self.folder_index = opening.index
            self._messages.show_status(f"Film {opening.index + 1} of {len(self.folder_films)}.")

    def _on_film_failed(self, sentence: str) -> None:
        opening, self._opening = self._opening, None
        self.open_progress.hide()
        self._messages.clear_status()
        if opening is not None and opening.kind == "folder":
            where = opening.folder.name if opening.folder else "the folder"
            self._messages.show_error(
                f"None of the {len(opening.films)} files in {where} could be opened as a film."
            )
        elif opening is None or not opening.quiet:
            self._messages.show_error(sentence)

    # -- recent ----------------------------------------------------------------------------------------------
    def _refresh_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        for p in self.recent:
            act = QAction(Path(p).name, menu)
            act.setToolTip(p)
            act.triggered.connect(lambda _=False, p=p: self.open_path(p))
            menu.addAction(act)
        menu.setEnabled(bool(self.recent))

    # -- export ---------------------------------------------------------------------------------------------
    def enable_export(self) -> None:
        """A run has a result: the Export entries work from now on (a new film's check is in ``export_dialog``)."""
        for act in self.export_actions:
            act.setEnabled(True)

    def export_dialog(self, kind: str, pattern: str) -> None:
        if self._document.result is None:
            self._messages.show_error("Generate a counterfactual before exporting.")
            return
        film = self._document.film
        accept = self.burned_in.accepts(is_deidentifying(kind))  # before any file name is asked for
        if accept is None:
            return
        if kind in FOLDER_KINDS:
            name = QFileDialog.getExistingDirectory(self._window, "Export into folder")
        else:
            stem = "vald" if kind != "dicom" or film is None else Path(film.source).stem
            name, _ = QFileDialog.getSaveFileName(self._window, "Export", stem + suffix_for(kind), pattern)
        if name:
            self.export_to(kind, Path(name), accept_burned_in_risk=accept)

    def export_to(self, kind: str, path: Path, *, accept_burned_in_risk: bool = False) -> list[Path]:
        """Export the current result; errors become one sentence in a message box. ``accept_burned_in_risk``:
        the user confirmed that a film which does not declare burned-in text shows none."""
        doc = self._document
        try:
            files = export_result(
                kind,
                path,
                doc.film,
                doc.result,
                self._overlay.values(),
                accept_burned_in_risk=accept_burned_in_risk,
            )
        except ValdError as exc:
            self._messages.show_error(str(exc))
            return []
        self._messages.show_status("Exported " + ", ".join(p.name for p in files) + ".")
        return files
