"""SEG, Parametric Map and SR through a real PACS and back: C-STORE / STOW-RS, C-GET / WADO-RS, re-opened, equal."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import highdicom as hd
import numpy as np
import pydicom
import pytest
from export_helpers import dciodvfy_errors
from orthanc_server import WEB_PASSWORD, WEB_USER
from pydicom.dataset import Dataset

from vald_desktop.core.engine.result import RunResult
from vald_desktop.core.export import remote
from vald_desktop.core.export.dicomweb import DicomWebNode
from vald_desktop.core.export.exporter import ExportOptions, RunExporter
from vald_desktop.core.export.pacs import PacsNode
from vald_desktop.core.masks.resolve import load_mask

pytestmark = [pytest.mark.orthanc, pytest.mark.slow]
KINDS = {"seg": "Segmentation", "pmap": "ParametricMap", "sr": "ComprehensiveSR"}


@pytest.fixture
def film(source_dataset: Dataset) -> Dataset:
    ds = copy.deepcopy(source_dataset)
    ds.Rows, ds.Columns = 96, 80
    return ds


def _round_trip(node: Any, result: RunResult, film: Dataset, deidentify: bool, tmp_path: Path) -> None:
    exporter = RunExporter(result, film, ExportOptions(deidentify=deidentify, accept_burned_in_risk=True))
    sent: dict[str, Dataset] = {}
    for kind, iod in KINDS.items():
        path, _ = exporter.write_object(kind, tmp_path / "out" / f"{kind}.dcm")
        assert dciodvfy_errors(path, iod) == []
        remote.send(node, path)
        sent[kind] = pydicom.dcmread(path)
    study = sent["seg"].StudyInstanceUID
    series = {s.series_uid: s for s in remote.find_series(node, study)}
    assert {d.SeriesInstanceUID for d in sent.values()} <= set(series)
    back = {}
    for kind, ds in sent.items():
        got = remote.retrieve(node, study, ds.SeriesInstanceUID, tmp_path / "back" / kind)
        assert len(got.files) == 1
        back[kind] = got.files[0]
        assert pydicom.dcmread(got.files[0]).SOPInstanceUID == ds.SOPInstanceUID
    film_uid = sent["seg"].ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID
    mask = result.mask
    assert mask is not None
    lungs = load_mask(back["seg"], mask.shape, film_uid=film_uid)
    assert np.array_equal(lungs.left, mask.left) and np.array_equal(lungs.right, mask.right)
    pm = hd.pm.ParametricMap.from_dataset(pydicom.dcmread(back["pmap"]))
    assert np.array_equal(pm.pixel_array, result.map)
    assert (
        pydicom.dcmread(back["sr"]).ContentSequence == sent["sr"].ContentSequence
    )  # every value, whole tree


@pytest.mark.parametrize("deidentify", [False, True], ids=["source-study", "deidentified"])
def test_objects_round_trip_through_dimse(
    orthanc,
    result: RunResult,
    film: Dataset,
    deidentify: bool,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    node = PacsNode("127.0.0.1", orthanc.dicom_port, orthanc.aet, orthanc.allowed_aet, timeout=10.0)
    _round_trip(node, result, film, deidentify, tmp_path)


def test_objects_round_trip_through_dicomweb(
    orthanc_web, result: RunResult, film: Dataset, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    node = DicomWebNode(orthanc_web.dicomweb_url, username=WEB_USER, password=WEB_PASSWORD, timeout=20.0)
    _round_trip(node, result, film, True, tmp_path)
