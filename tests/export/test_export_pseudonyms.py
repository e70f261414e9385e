"""The per-installation key behind pseudonymous UIDs and IDs, the de-identification flags, and the writer's gate."""

from __future__ import annotations

import argparse
import stat
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

from vald_desktop.commands.export_flags import add_export_arguments, check_export_arguments
from vald_desktop.core.base.errors import BurnedInTextError, ExportError
from vald_desktop.core.engine.result import RunResult
from vald_desktop.core.export.exporter import ExportOptions, RunExporter
from vald_desktop.core.export.pseudonyms import KEY_ENV, Pseudonymizer, installation_key


def test_the_key_is_made_once_readable_by_the_user_only_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config" / "deidentification.key"
    monkeypatch.setenv(KEY_ENV, str(path))
    key = installation_key()
    assert len(key) == 32 and path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert installation_key() == key and bytes.fromhex(path.read_text().strip()) == key
    assert Pseudonymizer().uid("1.2.3") == Pseudonymizer(key).uid("1.2.3")


def test_a_damaged_key_is_refused_rather_than_silently_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "deidentification.key"
    path.write_text("not a key\n")
    monkeypatch.setenv(KEY_ENV, str(path))
    with pytest.raises(ExportError, match="is damaged"):
        Pseudonymizer().uid("1.2.3")
    assert path.read_text() == "not a key\n"


def test_pseudonymous_uids_are_version_8_uuids_under_2_25() -> None:
    uid = Pseudonymizer(bytes(32)).uid("1.2.840.99.1")
    value = int(uid.removeprefix("2.25."))
    assert uid.startswith("2.25.") and len(uid) <= 64
    assert (value >> 76) & 0xF == 8 and (value >> 62) & 0x3 == 2
    assert Pseudonymizer(bytes(32)).uid(" 1.2.840.99.1 ") == uid  # padding does not split a study


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=".")
    add_export_arguments(parser)
    return parser.parse_args(argv)


@pytest.mark.parametrize("flag", ["--keep-study-uids", "--accept-burned-in-risk"])
def test_deidentification_options_need_deidentify(flag: str) -> None:
    with pytest.raises(ExportError, match=f"{flag} only applies together with --deidentify"):
        check_export_arguments(_args([flag]))
    check_export_arguments(_args([flag, "--deidentify"]))


def test_the_writer_refuses_an_unconfirmed_film_before_writing(
    result: RunResult, source_dataset: Dataset, tmp_path: Path
) -> None:
    with pytest.raises(BurnedInTextError, match="does not say"):
        RunExporter(result, source_dataset).export_folder(tmp_path / "out")
    with pytest.raises(BurnedInTextError, match="does not say"):
        RunExporter(result, None).write_pdf(tmp_path / "r.pdf")  # a PNG film says nothing either
    assert list(tmp_path.iterdir()) == []
    # Into the source study (identified), nothing is claimed about the pixels, so nothing needs confirming.
    RunExporter(result, source_dataset, ExportOptions(deidentify=False)).write_dicom(tmp_path / "id.dcm")


def test_keeping_the_study_uids_places_the_deidentified_capture_in_the_source_study(
    result: RunResult, source_dataset: Dataset, tmp_path: Path
) -> None:
    options = ExportOptions(keep_study_uids=True, accept_burned_in_risk=True)
    (path, _record) = RunExporter(result, source_dataset, options).write_dicom(tmp_path / "k.dcm")
    sc = pydicom.dcmread(path)
    assert sc.StudyInstanceUID == source_dataset.StudyInstanceUID
    assert sc.SourceImageSequence[0].ReferencedSOPInstanceUID == source_dataset.SOPInstanceUID
    assert [c.CodeValue for c in sc.DeidentificationMethodCodeSequence] == ["113100", "113110"]
    assert sc.PatientIdentityRemoved == "YES" and "CompressedSamples" not in str(sc.PatientName)
