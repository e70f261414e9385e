"""The ``vald`` command: help works, typed errors become one line on stderr with exit code 2."""

from __future__ import annotations

import subprocess
import sys

from vald_desktop import cli
from vald_desktop.core.base.errors import FilmError


def test_help_lists_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "vald_desktop.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "COMMAND" in out.stdout


def test_typed_error_is_one_line_and_exit_2(monkeypatch, capsys) -> None:
    def boom(args):
        raise FilmError("The file is not a DICOM or image file.\nsecond line")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    sub = next(a for a in parser._actions if a.dest == "command")
    p = sub.add_parser("boom")
    p.set_defaults(func=boom)
    assert cli.main(["boom"]) == 2
    err = capsys.readouterr().err
    assert err == "error: The file is not a DICOM or image file. second line\n"
