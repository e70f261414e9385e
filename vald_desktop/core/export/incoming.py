"""Where retrieved DICOM files land: a hidden staging folder inside the target, moved into place when complete.

A retrieve that fails or is cancelled leaves nothing behind (the staging folder goes); one that completes moves its
files into the target folder at once. File names say only what kind of object a file is and where it sorts
(modality, series and instance number) plus a short hash of its SOP Instance UID: never the patient's name or ID.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset

from vald_desktop.core.base.atomic import write_bytes
from vald_desktop.core.base.errors import ExportError, PacsError
from vald_desktop.core.export.remote_types import Progress, as_int

_UNSAFE = re.compile(r"[^A-Za-z0-9]")


def file_name(ds: Dataset) -> str:
    """``CR-0001-00001-1a2b3c4d5e.dcm``: modality, series and instance number, hash of the SOP Instance UID."""
    modality = _UNSAFE.sub("", str(ds.get("Modality", "") or "OT"))[:8] or "OT"
    series = as_int(ds.get("SeriesNumber", "")) or 0
    instance = as_int(ds.get("InstanceNumber", "")) or 0
    digest = hashlib.sha256(str(ds.get("SOPInstanceUID", "")).encode("ascii", "replace")).hexdigest()[:10]
    return f"{modality}-{series % 10000:04d}-{instance % 100000:05d}-{digest}.dcm"


@dataclass
class Retrieved:
    """What a retrieve brought: the files (in the target folder) and how many objects the server failed to send."""

    files: list[Path] = field(default_factory=list)
    failed: int = 0

    @property
    def folder(self) -> Path | None:
        return self.files[0].parent if self.files else None


class Staging:
    """Collects received objects in ``<target>/.incoming-*``; :meth:`commit` moves them into ``target``."""

    def __init__(self, target: Path, progress: Progress | None = None, study_uid: str = "") -> None:
        self.target = Path(target)
        try:
            self.target.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.target))
        except OSError as exc:
            raise ExportError(f"Cannot write to {self.target}: {exc.strerror or exc}.") from None
        self.progress = progress
        self.study_uid = study_uid
        self.total = 0
        self.names: list[str] = []
        self._lock = threading.Lock()
        self._closed = False  # discarded: a late arrival (a cancelled retrieve's helper) is dropped

    def add(self, ds: Dataset, encoded: bytes) -> bool:
        """Keep one received object (``encoded``: the whole Part 10 file); False for another study's object."""
        if self.study_uid and str(ds.get("StudyInstanceUID", "")) != self.study_uid:
            return False
        name = file_name(ds)
        with self._lock:
            if self._closed:
                return False
            write_bytes(self.folder / name, encoded, durable=False)
            if name not in self.names:
                self.names.append(name)
            done = len(self.names)
        if self.progress is not None:
            self.progress(done, max(self.total, done))
        return True

    def add_dataset(self, ds: Dataset) -> bool:
        """Keep a dataset that arrived already decoded (DICOMweb)."""
        from io import BytesIO

        buf = BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        return self.add(ds, buf.getvalue())

    def commit(self, failed: int = 0) -> Retrieved:
        """Move the received files into the target folder (replacing older copies) and remove the staging."""
        out = Retrieved(failed=failed)
        try:
            for name in sorted(self.names):
                dest = self.target / name
                os.replace(self.folder / name, dest)
                out.files.append(dest)
        except OSError as exc:
            raise ExportError(f"Cannot write to {self.target}: {exc.strerror or exc}.") from None
        finally:
            self.discard()
        return out

    def discard(self) -> None:
        with self._lock:
            self._closed = True
        with contextlib.suppress(OSError):
            shutil.rmtree(self.folder)


def nothing_received(where: str) -> PacsError:
    return PacsError(f"{where} sent no images for this request; the series may be empty or no longer there.")
