"""Small synthetic chest films for the query/retrieve tests (export and GUI): patients, dates, accessions, modalities.

Each film is a real DICOM file (CR or DX, 64 x 56, 12-bit MONOCHROME2) with its own identity and UIDs, so a
search by patient, date range, accession or modality has one right answer the tests can name.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

SOP_CLASS = {"CR": "1.2.840.10008.5.1.4.1.1.1", "DX": "1.2.840.10008.5.1.4.1.1.1.1"}


@dataclass(frozen=True)
class Film:
    patient_id: str
    patient_name: str
    study_date: str
    accession: str
    modality: str
    study_uid: str
    series_uid: str
    sop_uid: str
    instance: int
    data: bytes


def make_film(
    patient_id: str,
    patient_name: str,
    study_date: str,
    accession: str,
    modality: str = "CR",
    *,
    study_uid: str | None = None,
    series_uid: str | None = None,
    instance: int = 1,
    shape: tuple[int, int] = (64, 56),
) -> Film:
    study_uid = study_uid or generate_uid()
    series_uid = series_uid or generate_uid()
    sop_uid = generate_uid()
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = SOP_CLASS[modality]
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8, so names beyond ASCII can be tested
    ds.SOPClassUID = SOP_CLASS[modality]
    ds.SOPInstanceUID = sop_uid
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19600101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyDate = study_date
    ds.StudyTime = "101500"
    ds.AccessionNumber = accession
    ds.StudyID = "1"
    ds.StudyDescription = "Chest PA"
    ds.SeriesDescription = "PA"
    ds.Modality = modality
    ds.SeriesNumber = 1
    ds.InstanceNumber = instance
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.PatientOrientation = ["L", "F"]
    ds.BurnedInAnnotation = "NO"
    ds.ReferringPhysicianName = ""
    if modality == "DX":
        ds.ImageType = ["ORIGINAL", "PRIMARY"]
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.ImagerPixelSpacing = [0.5, 0.5]
    rows, cols = shape
    yy, xx = np.mgrid[0:rows, 0:cols]
    pixels = (600 + 1500 * np.exp(-(((xx - cols / 2) / (cols / 3)) ** 2)) + 3 * yy).astype(np.uint16)
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = pixels.tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return Film(
        patient_id,
        patient_name,
        study_date,
        accession,
        modality,
        study_uid,
        series_uid,
        sop_uid,
        instance,
        buf.getvalue(),
    )


def archive() -> list[Film]:
    """Four studies of three patients; the first study has a second series of two films."""
    first = make_film("PAT-001", "Doe^Jane", "20240115", "ACC-1001", "CR")
    second_series = generate_uid()
    return [
        first,
        make_film(
            "PAT-001",
            "Doe^Jane",
            "20240115",
            "ACC-1001",
            "CR",
            study_uid=first.study_uid,
            series_uid=second_series,
        ),
        make_film(
            "PAT-001",
            "Doe^Jane",
            "20240115",
            "ACC-1001",
            "CR",
            study_uid=first.study_uid,
            series_uid=second_series,
            instance=2,
        ),
        make_film("PAT-001", "Doe^Jane", "20230301", "ACC-0900", "DX"),
        make_film("PAT-002", "Roe^Richard", "20240220", "ACC-1002", "DX"),
        make_film("PAT-003", "Smith^Ann", "20221010", "ACC-0500", "CR"),
    ]
