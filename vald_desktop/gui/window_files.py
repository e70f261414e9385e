"""Main-window part that opens films: dialogs, folders, recent files, next/previous film, export menu."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QProgressBar

from vald_desktop.core.base.errors import ValdError
from vald_desktop.core.films.filelist import existing, list_films, open_dialog_filter, update_recent
from vald_desktop.gui.film_loader import FilmLoader, LoadedFilm

if TYPE_CHECKING:
    from vald_desktop.gui.main_window import MainWindow

    _Base = MainWindow
else:
    _Base = object


@dataclass(frozen=True)
class _Opening:
    """What the pending load is for, applied only once its film has arrived (the old film stays until then)."""

    kind: str  # "file", "folder" or "step"
    films: tuple[Path, ...] = ()  # the folder's films ("folder")
    folder: Path | None = None
    index: int = -1  # the folder position asked for ("step")
    quiet: bool = False


class FilesMixin(_Base):
    def _init_files(self) -> None:
        self.recent: list[str] = existing(self._stored_list("files/recent"))
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
        self.statusBar().addPermanentWidget(self.open_progress)

    # -- dialogs ---------------------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        start = str(Path(self.recent[0]).parent) if self.recent else ""
        name, _ = QFileDialog.getOpenFileName(self, "Open film", start, open_dialog_filter())
        if name:
            self.open_path(Path(name))

    def open_folder_dialog(self) -> None:
        name = QFileDialog.getExistingDirectory(self, "Open a folder of films")
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
                self.show_error(f"The folder {path.name} holds no films (DICOM, PNG, JPEG or TIFF).")
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
        self.statusBar().showMessage(f"Opening {name}…")  # stays until the film or an error replaces it

    def _on_film_loaded(self, loaded: LoadedFilm) -> None:
        opening, self._opening = self._opening, None
        self.open_progress.hide()
        if self.controller.busy:
            self.cancel_run()  # its result belongs to the previous film and will be dropped
        self.set_film(loaded.film, loaded.path, loaded)
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
            self.show_status(f"Film {loaded.index + 1} of {n} in {where}; PgDown / PgUp for the others.")
        else:
            self.folder_index = opening.index
            self.show_status(f"Film {opening.index + 1} of {len(self.folder_films)}.")

    def _on_film_failed(self, sentence: str) -> None:
        opening, self._opening = self._opening, None
        self.open_progress.hide()
        self.statusBar().clearMessage()
        if opening is not None and opening.kind == "folder":
            where = opening.folder.name if opening.folder else "the folder"
            self.show_error(f"None of the {len(opening.films)} files in {where} could be opened as a film.")
        elif opening is None or not opening.quiet:
            self.show_error(sentence)

    def set_film(self, film: Any, path: Path | None = None, prepared: LoadedFilm | None = None) -> None:
        """Show ``film`` (``prepared``: its display computed off the GUI thread, else computed here)."""
        self.film = film
        self.film_path = path
        self.film_key = film.sha256 or f"{film.source}:{id(film)}"
        self.auto_mask = None
        self.result = None
        self.view.set_film(film, prepared)
        self.history.clear()
        self.mask_editor.set_automatic(None)
        self.metadata.set_metadata(list(getattr(film, "metadata", []) or []))
        h, w = film.shape
        self.setWindowTitle(f"{film.source} — VALD-MD Desktop")
        self.show_status(f"Opened {film.source} ({w} × {h}).")
        self.panels.original.setFocus()  # viewer keys (I, =, 1-5, PgDown) act on the film, not the prompt field
        self.controller.find_lungs(self.film_key, film, path)

    # -- recent ----------------------------------------------------------------------------------------------
    def _refresh_recent_menu(self) -> None:
        menu: QMenu | None = getattr(self, "recent_menu", None)
        if menu is None:
            return
        menu.clear()
        for p in self.recent:
            act = QAction(Path(p).name, menu)
            act.setToolTip(p)
            act.triggered.connect(lambda _=False, p=p: self.open_path(p))
            menu.addAction(act)
        menu.setEnabled(bool(self.recent))

    # -- export ---------------------------------------------------------------------------------------------
    def _build_export_menu(self, menu: QMenu) -> None:
        """Export entries, enabled once a run has a result (the writers live in ``core.export``)."""
        from vald_desktop.gui.exporting import EXPORT_KINDS

        self.export_actions: list[QAction] = []
        for label, kind, pattern in EXPORT_KINDS:
            act = QAction(label, self)
            act.triggered.connect(lambda _=False, k=kind, pat=pattern: self.export_dialog(k, pat))
            act.setEnabled(False)
            menu.addAction(act)
            self.export_actions.append(act)

    def export_dialog(self, kind: str, pattern: str) -> None:
        if self.result is None:
            self.show_error("Generate a counterfactual before exporting.")
            return
        from vald_desktop.gui.exporting import suffix_for

        if kind == "folder":
            name = QFileDialog.getExistingDirectory(self, "Export into folder")
        else:
            stem = "vald" if kind != "dicom" or self.film is None else Path(self.film.source).stem
            name, _ = QFileDialog.getSaveFileName(self, "Export", stem + suffix_for(kind), pattern)
        if name:
            self.export_to(kind, Path(name))

    def export_to(self, kind: str, path: Path) -> list[Path]:
        """Export the current result; errors become one sentence in a message box."""
        from vald_desktop.gui.exporting import export_result

        try:
            files = export_result(kind, path, self.film, self.result, self.overlay_controls.values())
        except ValdError as exc:
            self.show_error(str(exc))
            return []
        self.show_status("Exported " + ", ".join(p.name for p in files) + ".")
        return files
