"""DICOM Segmentation, Parametric Map and SR of a run: valid (dciodvfy), referencing the film, right content."""

from __future__ import annotations

import copy
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from export_helpers import dciodvfy_errors
from pydicom.dataset import Dataset

from vald_desktop.core.base.errors import ExportError, MaskError
from vald_desktop.core.engine.result import RunResult
from vald_desktop.core.export.dicom_seg import above_threshold
from vald_desktop.core.export.exporter import ExportOptions, RunExporter
from vald_desktop.core.masks.resolve import load_mask

IODS = {"seg": "Segmentation", "pmap": "ParametricMap", "sr": "ComprehensiveSR"}
LOCAL = "99VALD"


@pytest.fixture
def film(source_dataset: Dataset) -> Dataset:
    """The real CR film's header at the run's size (96 x 80), with its real-looking identity."""
    ds = copy.deepcopy(source_dataset)
    ds.Rows, ds.Columns = 96, 80
    return ds


@pytest.fixture
def record_result(result: RunResult) -> RunResult:
    result.record["domain"] = {"in_domain": False, "score": 4.2, "threshold": 3.0, "reasons": ["too dark"]}
    result.record["model"]["manifest_hash"] = "cd" * 32
    return result


def _exporter(result: RunResult, film: Dataset, deidentify: bool, **kw) -> RunExporter:  # type: ignore[no-untyped-def]
    return RunExporter(result, film, ExportOptions(deidentify=deidentify, accept_burned_in_risk=True, **kw))


@pytest.mark.parametrize("kind", ["seg", "pmap", "sr"])
@pytest.mark.parametrize("deidentify", [False, True], ids=["source-study", "deidentified"])
def test_each_object_validates_and_references_the_film(
    kind: str, deidentify: bool, record_result: RunResult, film: Dataset, tmp_path: Path
) -> None:
    exporter = _exporter(record_result, film, deidentify)
    path, record = exporter.write_object(kind, tmp_path / f"{kind}.dcm")
    assert dciodvfy_errors(path, IODS[kind]) == []
    assert record.is_file()
    ds = pydicom.dcmread(path)
    sc = exporter.build_dicom()  # the Secondary Capture of the same session
    assert ds.StudyInstanceUID == sc.StudyInstanceUID
    film_uid = sc.SourceImageSequence[0].ReferencedSOPInstanceUID
    referenced = (
        [
            i.ReferencedSOPInstanceUID
            for s in ds.ReferencedSeriesSequence
            for i in s.ReferencedInstanceSequence
        ]
        if kind != "sr"
        else [
            i.ReferencedSOPInstanceUID
            for s in ds.CurrentRequestedProcedureEvidenceSequence
            for r in s.ReferencedSeriesSequence
            for i in r.ReferencedSOPSequence
        ]
    )
    assert referenced == [film_uid]
    if deidentify:
        assert film_uid != film.SOPInstanceUID and ds.StudyInstanceUID != film.StudyInstanceUID
        text = str(ds)
        assert str(film.PatientName) not in text and str(film.PatientID) not in text
        assert ds.PatientIdentityRemoved == "YES"
        assert all(
            e.value in ("", None, "19000101", "000000", "19000101000000")
            for e in ds.iterall()
            if e.VR in ("DA", "TM", "DT")
        )
    else:
        assert film_uid == film.SOPInstanceUID and ds.StudyInstanceUID == film.StudyInstanceUID
        assert ds.PatientID == film.PatientID


def test_the_segmentation_holds_each_lung_with_its_code_and_the_thresholded_map(
    record_result: RunResult, film: Dataset, tmp_path: Path
) -> None:
    exporter = _exporter(record_result, film, deidentify=False)
    path, _ = exporter.write_object("seg", tmp_path / "seg.dcm")
    seg = hd.seg.Segmentation.from_dataset(pydicom.dcmread(path))
    codes = {
        int(s.SegmentNumber): s.SegmentedPropertyTypeCodeSequence[0].CodeValue for s in seg.SegmentSequence
    }
    assert codes == {1: "3341006", 2: "44029006", 3: "ATTRIB-CUT"}
    assert seg.SegmentSequence[2].SegmentedPropertyTypeCodeSequence[0].CodingSchemeDesignator == LOCAL
    pixels = seg.get_pixels_by_source_instance([film.SOPInstanceUID], combine_segments=False)[0]
    mask = record_result.mask
    assert mask is not None
    assert np.array_equal(pixels[..., 0] > 0, mask.right) and np.array_equal(pixels[..., 1] > 0, mask.left)
    assert np.array_equal(pixels[..., 2] > 0, above_threshold(record_result.map, exporter.options.style))
    assert pixels[..., 2].any()
    # Opened as the film's lung mask, each lung comes back on its side.
    back = load_mask(path, mask.shape, film_uid=film.SOPInstanceUID)
    assert np.array_equal(back.left, mask.left) and np.array_equal(back.right, mask.right)
    with pytest.raises(MaskError, match="another image"):
        load_mask(path, mask.shape, film_uid="1.2.3.4")
    with pytest.raises(MaskError, match="another image"):
        load_mask(path, (48, 40))


def test_the_parametric_map_is_the_float_map_in_no_units(
    record_result: RunResult, film: Dataset, tmp_path: Path
) -> None:
    path, _ = _exporter(record_result, film, deidentify=False).write_object("pmap", tmp_path / "pmap.dcm")
    ds = pydicom.dcmread(path)
    pm = hd.pm.ParametricMap.from_dataset(ds)
    assert pm.pixel_array.dtype == np.float32
    assert np.array_equal(pm.pixel_array, record_result.map)
    mapping = ds.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0]
    unit = mapping.MeasurementUnitsCodeSequence[0]
    assert (unit.CodeValue, unit.CodingSchemeDesignator, unit.CodeMeaning) == ("1", "UCUM", "no units")
    assert float(mapping.RealWorldValueSlope) == 1.0 and float(mapping.RealWorldValueIntercept) == 0.0
    voi = ds.SharedFunctionalGroupsSequence[0].FrameVOILUTSequence[0]
    assert float(voi.WindowCenter) == 0.0 and 0 < float(voi.WindowWidth) <= 2 * float(
        np.abs(record_result.map).max()
    )


def _values(ds: Dataset) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []

    def walk(items) -> None:  # type: ignore[no-untyped-def]
        for item in items:
            name = item.ConceptNameCodeSequence[0].CodeMeaning if "ConceptNameCodeSequence" in item else ""
            if "MeasuredValueSequence" in item:
                out.append((name, float(item.MeasuredValueSequence[0].NumericValue)))
            elif "ConceptCodeSequence" in item:
                out.append((name, item.ConceptCodeSequence[0].CodeValue))
            elif "TextValue" in item:
                out.append((name, item.TextValue))
            walk(item.get("ContentSequence", []))

    walk(ds.ContentSequence)
    return out


def test_the_report_carries_lung_statistics_settings_model_and_verdicts(
    record_result: RunResult, film: Dataset, tmp_path: Path
) -> None:
    exporter = _exporter(record_result, film, deidentify=False)
    path, _ = exporter.write_object("sr", tmp_path / "sr.dcm")
    ds = pydicom.dcmread(path)
    values = _values(ds)
    means = [v for n, v in values if n.startswith("Attribution (film")]
    stats = exporter.lung_stats
    assert means[:2] == pytest.approx([stats["right"]["mean"], stats["right"]["max"]])
    assert means[2:4] == pytest.approx([stats["left"]["mean"], stats["left"]["max"]])
    shares = [v for n, v in values if n.startswith("Share")]
    assert shares == pytest.approx([stats["right"]["share_pct"], stats["left"]["share_pct"]])
    laterality = [v for n, v in values if n == "Laterality"]
    assert laterality == ["24028007", "7771000"]  # right lung, then left
    texts = [v for _, v in values if isinstance(v, str)]
    assert "tiny-demo" in texts and "cd" * 32 in texts
    assert "prompt: normal chest x-ray" in texts
    assert ("Training domain verdict", "OUT-OF-DOMAIN") in values
    assert ("Training domain score", 4.2) in values
    assert ("Lung mask quality", "MASK-OK") in values


def test_objects_need_a_dicom_film_and_the_seg_and_sr_a_lung_mask(
    record_result: RunResult, film: Dataset
) -> None:
    with pytest.raises(ExportError, match="not DICOM"):
        RunExporter(record_result, None, ExportOptions(deidentify=False)).build_object("pmap")
    no_mask = RunResult(**{**record_result.__dict__, "mask": None})
    exporter = _exporter(no_mask, film, deidentify=False)
    for kind in ("seg", "sr"):
        with pytest.raises(ExportError, match="lung mask"):
            exporter.build_object(kind)
    assert exporter.build_object("pmap").SOPClassUID == "1.2.840.10008.5.1.4.1.1.30"


def test_a_written_object_is_never_replaced_unless_asked(
    record_result: RunResult, film: Dataset, tmp_path: Path
) -> None:
    path = tmp_path / "seg.dcm"
    path.write_bytes(b"an earlier export")
    with pytest.raises(ExportError, match="already exists"):
        _exporter(record_result, film, deidentify=False).write_object("seg", path)
    assert path.read_bytes() == b"an earlier export"


def test_vald_run_mask_flag_takes_a_segmentation_of_the_film(
    record_result: RunResult, film: Dataset, tmp_path: Path
) -> None:
    from vald_desktop.core.films.film import film_from_array
    from vald_desktop.core.masks.resolve import resolve_mask

    path, _ = _exporter(record_result, film, deidentify=False).write_object("seg", tmp_path / "seg.dcm")
    opened = film_from_array(record_result.original)
    opened.dataset = film
    mask = resolve_mask(opened, mask_file=path)
    assert record_result.mask is not None and np.array_equal(mask.left, record_result.mask.left)
    other = copy.deepcopy(film)
    other.SOPInstanceUID = "1.2.3.4.5"
    opened.dataset = other
    with pytest.raises(MaskError, match="another image"):
        resolve_mask(opened, mask_file=path)
