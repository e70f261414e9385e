"""Hand-made bad inputs: each must be refused with one plain FilmError sentence, never a traceback."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from film_helpers import write_dicom
from PIL import Image

from vald_desktop.core.base.errors import FilmError
from vald_desktop.core.films.load import load_film


def _refused(path: Path, *words: str) -> str:
    with pytest.raises(FilmError) as info:
        load_film(path)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    assert str(path.parent) not in message, "the message must not reveal the folder (may name the patient)"
    for word in words:
        assert word.lower() in message.lower(), f"expected {word!r} in: {message}"
    return message


def _png_bytes(width: int, height: int, bit_depth: int = 8, colour_type: int = 0) -> bytes:
    """A syntactically valid PNG header (IHDR + empty IDAT + IEND) that claims any size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )


def test_zero_byte_file_is_called_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.dcm"
    path.write_bytes(b"")
    _refused(path, "empty")


def test_missing_file_is_reported_by_name(tmp_path: Path) -> None:
    _refused(tmp_path / "nowhere.dcm", "nowhere.dcm", "does not exist")


def test_folder_is_not_a_film(tmp_path: Path) -> None:
    folder = tmp_path / "study"
    folder.mkdir()
    _refused(folder, "folder")


def test_unreadable_file_says_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulated: the tests may run as root, which reads files whatever their mode.
    path = tmp_path / "locked.dcm"
    path.write_bytes(b"x" * 200)

    def deny(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", deny)
    _refused(path, "permission")


def test_disk_error_while_reading_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bad-sector.dcm"
    path.write_bytes(b"x" * 200)

    def fail(self: Path) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(Path, "read_bytes", fail)
    _refused(path, "Input/output error")


def test_random_bytes_are_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "noise.dcm"
    path.write_bytes(np.random.default_rng(7).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    _refused(path, "not a DICOM file")


def test_text_file_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Findings: no acute cardiopulmonary process.\n" * 20)
    _refused(path, "not a DICOM file")


def test_png_renamed_to_dcm_is_refused_with_a_rename_hint(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(buffer, format="PNG")
    path = tmp_path / "chest.dcm"
    path.write_bytes(buffer.getvalue())
    _refused(path, "PNG", "rename")


def test_truncated_uncompressed_dicom_is_called_truncated(tmp_path: Path, rg1_path: Path) -> None:
    path = tmp_path / "cut.dcm"
    path.write_bytes(rg1_path.read_bytes()[:3_000_000])
    _refused(path, "truncated")


def test_dicom_cut_inside_its_header_is_refused(tmp_path: Path, rg1_path: Path) -> None:
    path = tmp_path / "stub.dcm"
    path.write_bytes(rg1_path.read_bytes()[:1000])
    _refused(path, "truncated")


def test_truncated_compressed_dicom_is_called_truncated(tmp_path: Path, pydicom_data_dir: Path) -> None:
    path = tmp_path / "cut_j2k.dcm"
    path.write_bytes((pydicom_data_dir / "RG1_J2KR.dcm").read_bytes()[:100_000])
    _refused(path, "truncated")


def test_dicom_without_pixel_data_says_so(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "nopix.dcm", np.zeros((16, 16), np.uint16))
    ds = pydicom.dcmread(path)
    del ds.PixelData
    ds.save_as(path)
    _refused(path, "without pixel data")


def test_rows_larger_than_the_pixel_data_is_inconsistent(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "tall.dcm", np.zeros((64, 64), np.uint16))
    ds = pydicom.dcmread(path)
    ds.Rows = 4096
    ds.save_as(path)
    _refused(path, "Rows/Columns")


def test_dicom_claiming_giant_size_is_refused_before_decoding(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "bomb.dcm", np.zeros((64, 64), np.uint16))
    ds = pydicom.dcmread(path)
    ds.Rows, ds.Columns = 60000, 60000
    ds.save_as(path)
    _refused(path, "megapixels")


def test_multiframe_dicom_over_the_pixel_budget_is_refused(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "frames.dcm", np.zeros((64, 64), np.uint16))
    ds = pydicom.dcmread(path)
    ds.Rows, ds.Columns, ds.NumberOfFrames = 2048, 2048, 30  # 126 MP across frames
    ds.save_as(path)
    _refused(path, "megapixels")


def test_png_header_claiming_60000_square_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_bytes(60000, 60000))
    _refused(path, "megapixels")


def test_png_just_over_100_megapixels_is_refused_by_our_own_guard(tmp_path: Path) -> None:
    # 10,500 x 10,000 = 105 MP: below Pillow's own bomb error, above ours.
    path = tmp_path / "big.png"
    path.write_bytes(_png_bytes(10500, 10000))
    _refused(path, "megapixels")


def test_png_with_valid_header_but_no_pixels_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "hollow.png"
    path.write_bytes(_png_bytes(64, 64))
    _refused(path, "PNG")


def test_truncated_png_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (256, 256), dtype=np.uint8)).save(buffer, "PNG")
    path = tmp_path / "half.png"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    _refused(path, "PNG")


def test_frame_past_the_end_names_the_frame_count(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "one.dcm", np.zeros((8, 8), np.uint16))
    with pytest.raises(FilmError, match="has 1 frame; frame 3 does not exist"):
        load_film(path, frame=3)


def test_frame_of_a_png_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "one.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(path)
    with pytest.raises(FilmError, match="has 1 frame; frame 1 does not exist"):
        load_film(path, frame=1)


def test_read_error_from_the_disk_becomes_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "flaky.dcm"
    path.write_bytes(b"x" * 200)

    def fail(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", fail)
    _refused(path, "flaky.dcm", "permission denied")
