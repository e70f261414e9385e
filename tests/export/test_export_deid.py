"""De-identification against PS3.15 Table E.1-1 itself: a film carrying every attribute the table names.

The table comes from the pinned table package, not from our code; each test checks what the de-identifier did to a
film against what the standard prescribes for that attribute.
"""

from __future__ import annotations

import copy
from importlib import metadata

import pydicom
import pytest
from deid_film import UNLISTED_SEQUENCES, MarkedFilm, build_marked_film, dicom_text, leaks
from pydicom.datadict import keyword_for_tag, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.uid import UID

from vald_desktop.core.base.errors import BurnedInTextError
from vald_desktop.core.export.deid import UidMap, chosen_action, deidentify
from vald_desktop.core.export.deid_table import TABLE_EDITION, basic_profile

KEY = bytes(range(32))  # a fixed key: the same pseudonyms on every run of the tests

# Identity values present in RG1_UNCI.dcm: none may survive anywhere in a de-identified dataset.
RG1_IDENTITY = ["CompressedSamples", "9RG1", "19400305", "26210", "Hamburg", "Our Department", "THORAVISION"]


@pytest.fixture(scope="module")
def marked(rg1_path) -> MarkedFilm:  # type: ignore[no-untyped-def]
    return build_marked_film(pydicom.dcmread(rg1_path, stop_before_pixels=True))


def _keyword(tag: int) -> str:
    return keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def test_the_table_is_the_standard_s_edition_from_the_pinned_package(repo_root) -> None:  # type: ignore[no-untyped-def]
    table = basic_profile()
    assert table.edition == TABLE_EDITION == "2026c"
    assert len(table) >= 650
    assert "dicom-anonymizer>=2.1,<2.2" in (repo_root / "pyproject.toml").read_text()
    assert metadata.version("dicom-anonymizer").startswith("2.1.")
    # The package imports its tables by name: the desktop bundle must be told to carry this one.
    spec = (repo_root / "packaging" / "vald-desktop.spec").read_text()
    assert f"dicomanonymizer.dicom_anonymization_databases.dicomfields_{TABLE_EDITION}" in spec
    # Rows the standard writes this way (the first four were missing from the hand-kept list).
    for keyword, action in {
        "AcquisitionUID": "U",
        "SpecimenUID": "U",
        "TrackingUID": "U",
        "ClinicalTrialSubjectID": "D",
        "PatientName": "Z",
        "StudyInstanceUID": "U",
        "SourceImageSequence": "X/Z/U*",
    }.items():
        assert table.action(tag_for_keyword(keyword)) == action, keyword
    # Ranges: curves (50xx,xxxx), overlay data (60xx,3000) and comments (60xx,4000).
    assert table.action(0x50020022) == table.action(0x60024000) == table.action(0x60003000) == "X"


def test_every_attribute_of_the_table_gets_its_prescribed_action(marked: MarkedFilm) -> None:
    table = basic_profile()
    out = deidentify(marked.dataset, UidMap(KEY))
    assert len(marked.values) >= 640  # the film really carries the whole table (and 25 rows pydicom lacks)
    wrong = []
    for tag, value in marked.values.items():
        prescribed = table.action(tag)
        assert prescribed is not None
        action = chosen_action(tag, prescribed)
        assert action in prescribed.split("/"), (_keyword(tag), action, prescribed)
        elem = out.get(tag)
        if action == "X":
            ok = elem is None
        elif elem is None:
            ok = False
        elif elem.VR == "SQ":
            text = "\n".join(dicom_text(item) for item in elem.value)
            ok = (not elem.value) if action == "Z" else not leaks({"": text}, marked.markers)
        elif action == "Z":
            ok = elem.value in ("", None, b"")
        elif action == "U":
            ok = str(elem.value).startswith("2.25.") and UID(str(elem.value)).is_valid
        else:  # D: a dummy (a keyed pseudonym for Patient ID), never the original
            ok = elem.value not in ("", None, b"", value)
        if not ok:
            wrong.append(f"{_keyword(tag)} ({prescribed} -> {action}): {elem.value if elem else 'absent'!r}")
    assert not wrong, wrong


def test_nothing_of_the_table_film_survives_anywhere(marked: MarkedFilm) -> None:
    out = deidentify(marked.dataset, UidMap(KEY))
    assert leaks({"de-identified dataset": dicom_text(out)}, marked.markers) == []
    assert not any(e.tag.is_private for e in out.iterall())
    assert not any(0x5000 <= e.tag.group <= 0x60FF for e in out.iterall())
    for (
        keyword
    ) in UNLISTED_SEQUENCES:  # sequences the table does not name keep their items, not their identity
        assert basic_profile().action(tag_for_keyword(keyword)) is None
        assert keyword in out and len(out[keyword].value) == 1
    assert sorted(k for k in out.file_meta.dir()) == [
        "MediaStorageSOPClassUID",
        "MediaStorageSOPInstanceUID",
        "TransferSyntaxUID",
    ]
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
    assert out.PatientIdentityRemoved == "YES" and out.LongitudinalTemporalInformationModified == "REMOVED"
    assert [c.CodeValue for c in out.DeidentificationMethodCodeSequence] == ["113100"]


def test_real_film_identity_is_gone_and_the_source_untouched(source_dataset: Dataset) -> None:
    out = deidentify(source_dataset, UidMap(KEY))
    text = dicom_text(out)
    assert not [v for v in RG1_IDENTITY if v in text]
    for elem in out.iterall():
        if elem.VR in ("DA", "DT", "TM", "PN"):
            assert not elem.value, elem.keyword
    assert str(source_dataset.PatientName) == "CompressedSamples^RG1"
    # The coded parts of references stay: a reader still knows why the source image is referenced.
    assert out.SourceImageSequence[0].PurposeOfReferenceCodeSequence[0].CodeValue == "121320"
    assert out.SOPClassUID == source_dataset.SOPClassUID


def test_uids_are_keyed_hashes_the_same_at_any_time_and_private_to_the_key(source_dataset: Dataset) -> None:
    a = deidentify(source_dataset, UidMap(KEY))
    b = deidentify(source_dataset, UidMap(KEY))  # another export, later: a new map, the same key
    other = deidentify(source_dataset, UidMap(bytes(32)))
    assert a.StudyInstanceUID == b.StudyInstanceUID != source_dataset.StudyInstanceUID
    assert a.SOPInstanceUID == b.SOPInstanceUID and a.PatientID == b.PatientID
    assert other.StudyInstanceUID != a.StudyInstanceUID and other.PatientID != a.PatientID
    for uid in (a.StudyInstanceUID, a.SeriesInstanceUID, a.SOPInstanceUID):
        assert uid.startswith("2.25.") and len(uid) <= 64 and UID(uid).is_valid
    # References inside sequences follow the same map; SOP *class* UIDs are kept.
    ref = source_dataset.SourceImageSequence[0]
    assert a.SourceImageSequence[0].ReferencedSOPInstanceUID == UidMap(KEY)(ref.ReferencedSOPInstanceUID)
    assert a.SourceImageSequence[0].ReferencedSOPClassUID == ref.ReferencedSOPClassUID


def test_patient_id_is_a_keyed_pseudonym_unless_the_user_gives_one(source_dataset: Dataset) -> None:
    keyed = deidentify(source_dataset, UidMap(KEY))
    assert keyed.PatientID.startswith("VALD-") and "9RG1" not in keyed.PatientID and not keyed.PatientName
    chosen = deidentify(source_dataset, UidMap(KEY), pseudonym="SUBJ-001")
    assert str(chosen.PatientName) == "SUBJ-001" and chosen.PatientID == "SUBJ-001"
    assert "pseudonym given by the user" in chosen.DeidentificationMethod


def test_keeping_the_study_uids_is_named_with_its_cid_7050_code(source_dataset: Dataset) -> None:
    out = deidentify(source_dataset, UidMap(KEY), keep_uids=True)
    assert out.StudyInstanceUID == source_dataset.StudyInstanceUID
    assert out.SOPInstanceUID == source_dataset.SOPInstanceUID
    codes = [(c.CodeValue, c.CodingSchemeDesignator) for c in out.DeidentificationMethodCodeSequence]
    assert codes == [("113100", "DCM"), ("113110", "DCM")]
    assert "CompressedSamples" not in dicom_text(out)


def test_burned_in_identity_is_refused_and_an_undeclared_film_is_never_called_clean(
    source_dataset: Dataset,
) -> None:
    ds = copy.deepcopy(source_dataset)
    ds.BurnedInAnnotation = "YES"
    with pytest.raises(BurnedInTextError, match="burned into its pixels"):
        deidentify(ds)
    assert "BurnedInAnnotation" not in source_dataset
    out = deidentify(source_dataset, UidMap(KEY))
    assert "BurnedInAnnotation" not in out
    assert "burned-in text not declared by the source" in out.DeidentificationMethod
