"""DICOM Secondary Capture: placement in the source study, validation with dciodvfy, de-identified variant, safe writes."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from export_helpers import read_only_folder, tiny_disk
from pydicom.dataset import Dataset

from vald_desktop.core.base.errors import ExportError
from vald_desktop.core.export.deid import UidMap
from vald_desktop.core.export.deid_table import basic_profile
from vald_desktop.core.export.dicom_sc import build_secondary_capture, write_dicom

SC_CLASS = "1.2.840.10008.5.1.4.1.1.7"


def _rgb(h: int = 64, w: int = 192) -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _dciodvfy_errors(path: Path) -> list[str]:
    tool = shutil.which("dciodvfy")
    if tool is None:
        pytest.skip("dciodvfy (dicom3tools) is not installed")
    proc = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60)
    lines = (proc.stdout + proc.stderr).splitlines()
    assert any("SCImage" in line for line in lines), lines  # it really checked against the SC IOD
    return [line for line in lines if line.startswith("Error")]


def test_sc_is_placed_in_the_source_study_and_validates(source_dataset: Dataset, tmp_path: Path) -> None:
    sc = build_secondary_capture(source_dataset, _rgb(), burned_in_identity=True)
    path = write_dicom(tmp_path / "sc.dcm", sc)
    back = pydicom.dcmread(path)
    assert back.SOPClassUID == SC_CLASS
    assert back.StudyInstanceUID == source_dataset.StudyInstanceUID
    assert back.SeriesInstanceUID != source_dataset.SeriesInstanceUID
    assert back.SOPInstanceUID != source_dataset.SOPInstanceUID
    assert back.file_meta.MediaStorageSOPInstanceUID == back.SOPInstanceUID
    assert list(back.ImageType)[:2] == ["DERIVED", "SECONDARY"]
    ref = back.SourceImageSequence[0]
    assert ref.ReferencedSOPInstanceUID == source_dataset.SOPInstanceUID
    assert ref.ReferencedSOPClassUID == source_dataset.SOPClassUID
    assert back.PatientID == source_dataset.PatientID
    assert back.BurnedInAnnotation == "YES"  # the caption shows identity: say so
    assert back.PhotometricInterpretation == "RGB"
    np.testing.assert_array_equal(back.pixel_array, _rgb())
    assert _dciodvfy_errors(path) == []


def test_burned_in_annotation_is_said_only_when_known(source_dataset: Dataset) -> None:
    declared = copy.deepcopy(source_dataset)
    declared.BurnedInAnnotation = "NO"
    assert build_secondary_capture(declared, _rgb()).BurnedInAnnotation == "NO"
    # RG1 does not say what its pixels show, and the composite shows them: no claim, never "NO".
    assert "BurnedInAnnotation" not in build_secondary_capture(source_dataset, _rgb())


def test_deidentified_sc_keeps_no_identity_and_validates(source_dataset: Dataset, tmp_path: Path) -> None:
    session = UidMap()
    sc = build_secondary_capture(
        source_dataset, _rgb(), deidentified=True, uid_map=session, pseudonym="SUBJ-7"
    )
    path = write_dicom(tmp_path / "deid.dcm", sc)
    back = pydicom.dcmread(path)
    table = basic_profile()
    for elem in source_dataset:
        if table.action(elem.tag) is None or elem.VR == "SQ":
            continue
        if elem.tag in back and back[elem.tag].value:
            assert back[elem.tag].value != elem.value, elem.keyword
    assert not any(e.tag.is_private for e in back.iterall())
    raw = path.read_bytes()
    for value in (
        b"CompressedSamples",
        b"9RG1",
        b"19400305",
        b"26210",
        b"Hamburg",
        b"THORAVISION",
        b"92.00.003",
        b"ward",
        str(source_dataset.StudyInstanceUID).encode(),
        str(source_dataset.SOPInstanceUID).encode(),
    ):
        assert value not in raw
    assert back.PatientIdentityRemoved == "YES"
    assert back.DeidentificationMethod
    assert "BurnedInAnnotation" not in back  # RG1 does not declare it
    assert "burned-in text not declared by the source" in back.DeidentificationMethod
    assert back.PatientID == "SUBJ-7"
    # Same session: the reference points at the de-identified copy of the source, in the same pseudonymous study.
    assert back.StudyInstanceUID == session(source_dataset.StudyInstanceUID)
    assert back.SourceImageSequence[0].ReferencedSOPInstanceUID == session(source_dataset.SOPInstanceUID)
    assert _dciodvfy_errors(path) == []


def test_identity_caption_with_deidentification_is_refused(source_dataset: Dataset) -> None:
    with pytest.raises(ExportError, match="cannot show the patient's identity"):
        build_secondary_capture(source_dataset, _rgb(), burned_in_identity=True, deidentified=True)


def test_bad_pixels_and_non_dicom_source_are_refused(source_dataset: Dataset) -> None:
    with pytest.raises(ExportError, match="8-bit RGB"):
        build_secondary_capture(source_dataset, np.zeros((4, 4), np.float32))
    with pytest.raises(ExportError, match="no DICOM study"):
        build_secondary_capture(Dataset(), _rgb())


def test_never_overwrites_silently(source_dataset: Dataset, tmp_path: Path) -> None:
    sc = build_secondary_capture(source_dataset, _rgb())
    target = tmp_path / "sc.dcm"
    target.write_bytes(b"keep me")
    with pytest.raises(ExportError, match="already exists"):
        write_dicom(target, sc, overwrite=False)
    assert target.read_bytes() == b"keep me"
    write_dicom(target, sc, overwrite=True)
    assert pydicom.dcmread(target).SOPInstanceUID == sc.SOPInstanceUID


def test_read_only_folder_gives_a_clear_error_and_no_file(source_dataset: Dataset, tmp_path: Path) -> None:
    sc = build_secondary_capture(source_dataset, _rgb())
    with read_only_folder(tmp_path / "ro") as folder:
        with pytest.raises(ExportError, match="read-only"):
            write_dicom(folder / "sc.dcm", sc)
        assert list(folder.iterdir()) == []


def test_full_disk_gives_a_clear_error_and_no_partial_file(source_dataset: Dataset, tmp_path: Path) -> None:
    big = np.random.default_rng(4).integers(0, 256, (256, 384, 3), dtype=np.uint8)  # ~290 KiB, disk is 64 KiB
    sc = build_secondary_capture(source_dataset, big)
    with tiny_disk(tmp_path / "small") as folder:
        with pytest.raises(ExportError, match="is full"):
            write_dicom(folder / "sc.dcm", sc)
        assert list(folder.iterdir()) == []
