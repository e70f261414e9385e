"""Main-window part that opens films: dialogs, folders, recent files, next/previous film, export menu."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu

from ..core.errors import FilmError, ValdError
from ..core.filelist import existing, list_films, open_dialog_filter, update_recent

if TYPE_CHECKING:
    from .main_window import MainWindow

    _Base = MainWindow
else:
    _Base = object


class FilesMixin(_Base):
    def _init_files(self) -> None:
        self.recent: list[str] = existing(self._stored_list("files/recent"))
        self.folder_films: list[Path] = []
        self.folder_index = -1

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
        """Open a film, or the first readable film of a folder (then PgDown/PgUp step through it)."""
        path = Path(path)
        if path.is_dir():
            films = list_films(path)
            if not films:
                self.show_error(f"The folder {path.name} holds no films (DICOM, PNG, JPEG or TIFF).")
                return False
            self.folder_films = films
            for i, candidate in enumerate(films):
                if self.open_film(candidate, quiet=True):
                    self.folder_index = i
                    self.show_status(
                        f"Film {i + 1} of {len(films)} in {path.name}; PgDown / PgUp for the others."
                    )
                    return True
            self.show_error(f"None of the {len(films)} files in {path.name} could be opened as a film.")
            return False
        self.folder_films = []
        self.folder_index = -1
        return self.open_film(path)

    def step_film(self, delta: int) -> None:
        if not self.folder_films:
            return
        i = self.folder_index + delta
        if 0 <= i < len(self.folder_films) and self.open_film(self.folder_films[i]):
            self.folder_index = i
            self.show_status(f"Film {i + 1} of {len(self.folder_films)}.")

    def open_film(self, path: str | Path, quiet: bool = False) -> bool:
        """Load ``path`` into the window; on failure show the sentence and keep the current film."""
        from ..core.films import load_film

        try:
            film = load_film(path)
        except ValdError as exc:
            if not quiet:
                self.show_error(str(exc))
            return False
        except OSError:
            if not quiet:
                self.show_error(str(FilmError(f"{Path(path).name} cannot be read.")))
            return False
        if self.controller.busy:
            self.cancel_run()  # its result belongs to the previous film and will be dropped
        self.set_film(film, Path(path))
        self.recent = update_recent(self.recent, path)
        self._refresh_recent_menu()
        return True

    def set_film(self, film: Any, path: Path | None = None) -> None:
        self.film = film
        self.film_path = path
        self.film_key = film.sha256 or f"{film.source}:{id(film)}"
        self.auto_mask = None
        self.result = None
        self.view.set_film(film)
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
        from .exporting import EXPORT_KINDS

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
        from .exporting import suffix_for

        if kind == "folder":
            name = QFileDialog.getExistingDirectory(self, "Export into folder")
        else:
            stem = "vald" if kind != "dicom" or self.film is None else Path(self.film.source).stem
            name, _ = QFileDialog.getSaveFileName(self, "Export", stem + suffix_for(kind), pattern)
        if name:
            self.export_to(kind, Path(name))

    def export_to(self, kind: str, path: Path) -> list[Path]:
        """Export the current result; errors become one sentence in a message box."""
        from .exporting import export_result

        try:
            files = export_result(kind, path, self.film, self.result, self.overlay_controls.values())
        except ValdError as exc:
            self.show_error(str(exc))
            return []
        self.show_status("Exported " + ", ".join(p.name for p in files) + ".")
        return files
