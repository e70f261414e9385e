"""``vald inspect``: summary text, one JSON object, the PNG rendering, exit code 2 on bad input, no torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vald_desktop.cli import main

REPO = Path(__file__).resolve().parents[2]


def _vald(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "vald_desktop.cli", "inspect", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_json_summary_describes_the_chest_film(rg1_path: Path) -> None:
    result = _vald(str(rg1_path), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)  # exactly one JSON object on stdout
    assert (summary["rows"], summary["columns"]) == (1955, 1841)
    assert summary["modality"] == "CR"
    assert summary["photometric_interpretation"] == "MONOCHROME1"
    assert summary["bits_stored"] == 15
    assert summary["transfer_syntax"] == "Explicit VR Little Endian"
    assert summary["window"] == {"center": 15000.0, "width": 30000.0, "function": "LINEAR"}
    display = summary["display"]
    assert 0.0 <= display["min"] < display["mean"] < display["max"] <= 1.0
    assert "CompressedSamples" not in result.stdout, "patient name must not be printed"


def test_text_summary_lists_every_field(rg1_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(rg1_path)]) == 0
    out = capsys.readouterr().out
    for expected in ("1955 rows x 1841 columns", "CR", "MONOCHROME1", "bits stored:     15", "center 15000"):
        assert expected in out, f"{expected!r} missing from:\n{out}"
    assert "mean" in out and "min" in out and "max" in out


def test_png_output_is_the_display_rendering(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "ramp.png"
    ramp = np.tile(np.arange(256, dtype=np.uint8), (20, 1))
    Image.fromarray(ramp).save(source)
    out = tmp_path / "nested" / "render.png"
    assert main(["inspect", str(source), "--png", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    rendered = np.asarray(Image.open(out))
    assert rendered.shape == (20, 256) and rendered.dtype == np.uint8
    np.testing.assert_array_equal(rendered, ramp)  # the 8-bit default window is the identity
    assert summary["png"] == str(out)
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".part")], "temporary file left behind"


def test_frame_option_selects_a_frame(pydicom_data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(pydicom_data_dir / "SC_rgb_2frame.dcm"), "--frame", "1", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["frame"], summary["frames"]) == (1, 2)


def test_bad_input_process_prints_one_error_line_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.dcm"
    path.write_bytes(b"")
    result = _vald(str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "bad.dcm" in lines[0], result.stderr
    assert str(tmp_path) not in result.stderr


@pytest.mark.parametrize(
    "content", [b"\x00" * 300, b"definitely not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40]
)
def test_bad_input_gives_one_error_line_and_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    assert main(["inspect", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: bad.png "), captured.err


def test_missing_frame_exits_2(rg1_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(rg1_path), "--frame", "5"]) == 2
    assert capsys.readouterr().err.startswith("error: RG1_UNCI.dcm has 1 frame")


def test_inspect_does_not_import_torch_diffusers_or_qt(rg1_path: Path) -> None:
    probe = (
        "import sys\n"
        "from vald_desktop.cli import main\n"
        f"rc = main(['inspect', {str(rg1_path)!r}, '--json'])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'diffusers', 'transformers', 'PySide6'})\n"
        "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    heavy = result.stderr.strip().splitlines()[-1]
    assert heavy == "HEAVY=", f"vald inspect imported heavy libraries ({heavy}); it must start fast"
