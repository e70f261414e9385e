"""Made-to-measure DICOM files for the parts of the pixel pipeline the real corpus does not pin down."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from film_helpers import write_dicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence

from vald_desktop.core.films.load import load_film


def _ramp(dtype: type = np.uint16, top: int = 4000) -> np.ndarray:
    return np.tile(np.linspace(0, top, 32), (16, 1)).astype(dtype)


def test_negative_rescale_slope_reverses_values(tmp_path: Path) -> None:
    stored = _ramp()
    film = load_film(write_dicom(tmp_path / "neg.dcm", stored, RescaleSlope=-1, RescaleIntercept=4000))
    np.testing.assert_allclose(film.values, 4000.0 - stored, atol=1e-3)
    # With no window in the file the automatic one still puts the brightest value at white.
    shown = film.display()
    assert shown[0, 0] > shown[0, -1]


def test_rescale_with_intercept_gives_hounsfield_like_values(tmp_path: Path) -> None:
    stored = _ramp(top=2000)
    film = load_film(write_dicom(tmp_path / "ct.dcm", stored, RescaleSlope=1, RescaleIntercept=-1024))
    np.testing.assert_allclose(film.values, stored.astype(np.float32) - 1024)


def test_first_of_multivalued_window_is_the_default(tmp_path: Path) -> None:
    film = load_film(
        write_dicom(tmp_path / "multi.dcm", _ramp(), WindowCenter=[1000, 40], WindowWidth=[2000, 400])
    )
    assert (film.window.center, film.window.width) == (1000.0, 2000.0)


def test_voi_lut_function_from_the_file_is_used(tmp_path: Path) -> None:
    film = load_film(
        write_dicom(
            tmp_path / "sig.dcm", _ramp(), WindowCenter=2000, WindowWidth=1000, VOILUTFunction="SIGMOID"
        )
    )
    assert film.window.function == "SIGMOID"
    assert film.display().min() > 0.0 and film.display().max() < 1.0


def test_nonsense_window_in_the_file_falls_back_to_automatic(tmp_path: Path) -> None:
    film = load_film(write_dicom(tmp_path / "zero.dcm", _ramp(), WindowCenter=100, WindowWidth=0))
    assert film.window.width > 0
    assert film.display().max() > 0.9


def test_voi_lut_sequence_is_applied_to_values(tmp_path: Path) -> None:
    stored = _ramp(top=1023)
    item = Dataset()
    # An inverting 1024-entry LUT with 8-bit output: first input value 0.
    item.LUTDescriptor = [1024, 0, 8]
    item.LUTData = [int(v) for v in np.linspace(255, 0, 1024).round()]
    path = write_dicom(tmp_path / "voilut.dcm", stored)
    ds = pydicom.dcmread(path)
    ds.VOILUTSequence = Sequence([item])
    ds["VOILUTSequence"][0]["LUTData"].VR = "US"
    ds.save_as(path)
    film = load_film(path)
    # 1023 indexes past 255: an 8-bit LUT longer than 256 entries must not wrap around.
    assert film.values[0, 0] == 255 and film.values[0, -1] == 0
    np.testing.assert_array_equal(film.values, np.round(np.linspace(255, 0, 1024))[stored])
    assert film.window.low == 0 and film.window.high == 255  # the LUT's output range
    assert film.display()[0, 0] == 1.0


def test_signed_pixels_keep_their_sign(tmp_path: Path) -> None:
    stored = np.tile(np.linspace(-2000, 2000, 32), (8, 1)).astype(np.int16)
    film = load_film(write_dicom(tmp_path / "signed.dcm", stored))
    assert film.stored.dtype == np.int16
    np.testing.assert_array_equal(film.values, stored.astype(np.float32))


def test_12_bit_in_16_bit_allocation(tmp_path: Path) -> None:
    stored = _ramp(top=4095)
    film = load_film(write_dicom(tmp_path / "b12.dcm", stored, BitsStored=12))
    assert film.info["bits_stored"] == 12
    np.testing.assert_array_equal(film.stored, stored)


def test_monochrome1_is_inverted_for_display(tmp_path: Path) -> None:
    stored = _ramp(np.uint8, 255)
    mono2 = load_film(write_dicom(tmp_path / "m2.dcm", stored, WindowCenter=128, WindowWidth=256))
    mono1 = load_film(
        write_dicom(tmp_path / "m1.dcm", stored, "MONOCHROME1", WindowCenter=128, WindowWidth=256)
    )
    assert mono1.monochrome1 and not mono2.monochrome1
    np.testing.assert_allclose(mono1.display(), 1.0 - mono2.display(), atol=1e-6)
    assert mono1.display()[0, 0] == 1.0  # stored 0 = white in MONOCHROME1


def test_frame_index_picks_that_frame(tmp_path: Path) -> None:
    frames = np.stack([np.full((8, 8), i * 100, np.uint16) for i in range(3)])
    path = write_dicom(tmp_path / "mf.dcm", frames)
    for index in range(3):
        film = load_film(path, frame=index)
        assert film.info["frames"] == 3 and film.info["frame"] == index
        assert np.all(film.stored == index * 100)


def test_enhanced_multiframe_window_comes_from_functional_groups(tmp_path: Path) -> None:
    frames = np.stack([_ramp(), _ramp()])
    path = write_dicom(tmp_path / "enh.dcm", frames)
    ds = pydicom.dcmread(path)
    voi, pvt, shared = Dataset(), Dataset(), Dataset()
    voi.WindowCenter, voi.WindowWidth = 1500, 700
    pvt.RescaleSlope, pvt.RescaleIntercept, pvt.RescaleType = 2, -10, "US"
    shared.FrameVOILUTSequence = Sequence([voi])
    shared.PixelValueTransformationSequence = Sequence([pvt])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    ds.save_as(path)
    film = load_film(path, frame=1)
    assert (film.window.center, film.window.width) == (1500.0, 700.0)
    np.testing.assert_allclose(film.values, frames[1].astype(np.float32) * 2 - 10)


def test_file_without_preamble_is_read_by_the_forced_fallback(tmp_path: Path) -> None:
    stored = _ramp()
    path = write_dicom(tmp_path / "full.dcm", stored)
    ds = pydicom.dcmread(path)
    bare = tmp_path / "bare.dcm"
    ds.file_meta, ds.preamble = FileMetaDataset(), None  # no preamble, no file meta
    ds.save_as(bare, implicit_vr=True, little_endian=True)
    raw = bare.read_bytes()
    assert raw[128:132] != b"DICM"
    film = load_film(bare)
    np.testing.assert_array_equal(film.stored, stored)
    assert film.info["transfer_syntax"] == "Implicit VR Little Endian"


def test_metadata_panel_lists_identifiers_but_film_info_does_not(tmp_path: Path) -> None:
    film = load_film(write_dicom(tmp_path / "id.dcm", _ramp(), PatientID="SECRET-42", ViewPosition="AP"))
    assert ("PatientID", "SECRET-42") in film.metadata
    assert "SECRET-42" not in repr(film) and "SECRET-42" not in str(film.info)
    assert film.view == "AP"
    assert film.dataset is not None and film.dataset.PatientID == "SECRET-42"
