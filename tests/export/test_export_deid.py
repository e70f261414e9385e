"""De-identification (PS3.15 Annex E basic profile) on the real RG1 chest film."""

from __future__ import annotations

import copy

import pydicom
import pytest
from pydicom.dataset import Dataset

from vald_desktop.core.base.errors import ExportError
from vald_desktop.core.export.deid import BASIC_PROFILE, PROFILE_TAGS, UidMap, deidentify

# Identity values present in RG1_UNCI.dcm: none may survive anywhere in a de-identified dataset.
RG1_IDENTITY = [
    "CompressedSamples",
    "9RG1",
    "19400305",
    "26210",
    "Hamburg",
    "Our Department",
    "THORAVISION",
    "92.00.003",
]


def _all_text(ds: Dataset) -> str:
    return "\n".join(str(e.value) for e in ds.iterall() if e.VR not in ("OB", "OW", "SQ"))


def test_table_covers_the_identity_attributes_of_the_profile() -> None:
    for keyword in (
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "InstitutionName",
        "ReferringPhysicianName",
        "DeviceSerialNumber",
        "ImageComments",
        "StudyInstanceUID",
        "SOPInstanceUID",
        "OtherPatientIDs",
    ):
        assert keyword in BASIC_PROFILE
    assert BASIC_PROFILE["StudyInstanceUID"] == "U"
    assert len(PROFILE_TAGS) == len(BASIC_PROFILE)


def test_every_listed_tag_of_the_source_is_removed_emptied_or_replaced(source_dataset: Dataset) -> None:
    src = source_dataset
    out = deidentify(src, UidMap())
    checked = 0
    for tag, action in PROFILE_TAGS.items():
        if tag not in src or action == "K*":
            continue
        checked += 1
        name = pydicom.datadict.keyword_for_tag(tag)
        if action == "X":
            assert tag not in out, name
        elif action == "Z":
            assert tag in out and not out[tag].value, name
        elif action == "U":
            assert out[tag].value != src[tag].value, name
    assert (
        checked >= 20
    )  # RG1 really carries identity: names, IDs, dates, institution, serials, comments, UIDs
    text = _all_text(out)
    for value in RG1_IDENTITY:
        assert value not in text
    assert not any(e.tag.is_private for e in out.iterall())
    assert out.PatientIdentityRemoved == "YES"
    assert out.DeidentificationMethod
    assert out.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    # The source is untouched.
    assert str(src.PatientName) == "CompressedSamples^RG1"


def test_dates_and_person_names_are_gone(source_dataset: Dataset) -> None:
    out = deidentify(source_dataset)
    for elem in out.iterall():
        if elem.VR in ("DA", "DT", "TM", "PN"):
            assert not elem.value, elem.keyword


def test_uids_are_replaced_consistently_within_a_session(source_dataset: Dataset) -> None:
    session = UidMap()
    a = deidentify(source_dataset, session)
    b = deidentify(source_dataset, session)
    other = deidentify(source_dataset, UidMap())
    assert a.StudyInstanceUID == b.StudyInstanceUID != source_dataset.StudyInstanceUID
    assert a.SOPInstanceUID == b.SOPInstanceUID
    assert other.StudyInstanceUID != a.StudyInstanceUID
    # References inside sequences follow the same map; SOP *class* UIDs are kept.
    ref = source_dataset.SourceImageSequence[0]
    out_ref = a.SourceImageSequence[0]
    assert out_ref.ReferencedSOPInstanceUID == session(ref.ReferencedSOPInstanceUID)
    assert out_ref.ReferencedSOPClassUID == ref.ReferencedSOPClassUID
    assert a.SOPClassUID == source_dataset.SOPClassUID


def test_private_tags_inside_sequences_are_removed(source_dataset: Dataset) -> None:
    ds = copy.deepcopy(source_dataset)
    ds.add_new(0x00091001, "LO", "site secret")
    item = Dataset()
    item.add_new(0x00291010, "LO", "nested secret")
    item.PatientName = "Nested^Name"
    ds.ReferencedSeriesSequence = [item]
    out = deidentify(ds)
    assert not any(e.tag.is_private for e in out.iterall())
    assert "secret" not in _all_text(out) and "Nested" not in _all_text(out)


def test_pseudonym_replaces_name_and_id(source_dataset: Dataset) -> None:
    out = deidentify(source_dataset, pseudonym="SUBJ-001")
    assert str(out.PatientName) == "SUBJ-001" and out.PatientID == "SUBJ-001"


def test_burned_in_identity_cannot_be_deidentified(source_dataset: Dataset) -> None:
    ds = copy.deepcopy(source_dataset)
    ds.BurnedInAnnotation = "YES"
    with pytest.raises(ExportError, match="burned into its pixels"):
        deidentify(ds)
