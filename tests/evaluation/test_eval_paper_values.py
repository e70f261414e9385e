"""The paper's own numbers printed beside each row of tables 1-4 (markdown and CSV), looked up by (table, row)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from vald_evaluation import paper_tables as pt


def _tables() -> dict:
    classes = list(pt.CLASSES)
    return {
        "table1": {
            "title": "FID",
            "rows": [{"row": c, "n": 5, "value": 40.0 + i} for i, c in enumerate(classes)],
        },
        "table2": {
            "title": "MS-SSIM",
            "rows": [{"row": c, "n": 5, "value": 0.5 + i / 10, "std": 0.01} for i, c in enumerate(classes)],
        },
        "table3": {
            "title": "SSIM",
            "rows": [{"row": c, "n": 5, "value": 0.4 + i / 10, "std": 0.02} for i, c in enumerate(classes)],
        },
        "table4": {
            "title": "cardiomegaly",
            "rows": [{"row": pt.TABLE4_ROW, "n": 5, "value": 77.0}],
            "note": None,
        },
    }


# Distinct, recognisable values for every (table, row) key: a value printed in the wrong row is caught.
ENTERED = {
    **{(1, c): 111.25 + i for i, c in enumerate(pt.CLASSES)},
    **{(2, c): (0.6125 + i / 100, 0.0375) for i, c in enumerate(pt.CLASSES)},
    **{(3, c): (0.4125 + i / 100, 0.0625) for i, c in enumerate(pt.CLASSES)},
    (4, pt.TABLE4_ROW): 222.75,
}


def _md_rows(md: str) -> dict[tuple[int, str], list[str]]:
    """Markdown table cells by (table number, row key)."""
    rows: dict[tuple[int, str], list[str]] = {}
    table = 0
    for line in md.splitlines():
        if line.startswith("### Table "):
            table = int(line.split()[2].rstrip("."))
        elif line.startswith("| ") and not line.startswith("| row "):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[(table, cells[0])] = cells
    return rows


@pytest.mark.parametrize("source", ["entered", "module"])
def test_each_row_shows_the_papers_number_for_that_row(monkeypatch, source: str) -> None:
    if source == "entered":
        monkeypatch.setattr(pt, "PAPER", dict(ENTERED))
    rows = _md_rows(pt.to_markdown(_tables()))
    assert len(rows) == 3 * len(pt.CLASSES) + 1
    for key, cells in rows.items():
        entry = pt.PAPER.get(key)
        if entry is None:
            assert cells[3] == pt.NO_VALUE, f"{key} shows a paper value that was never entered"
        else:
            value, std = pt.paper_value(*key)
            assert cells[3] == pt._fmt(value, std), f"{key} does not show the paper's value"
    if source == "entered":
        assert rows[(1, "Lung_Opacity")][3] == "112.25"
        assert rows[(2, "Viral Pneumonia")][3] == "0.6325 ± 0.0375"
        assert rows[(4, pt.TABLE4_ROW)][3] == "222.75"


def test_every_entered_paper_value_has_a_row_the_tables_make() -> None:
    """A mis-keyed entry (wrong class spelling or table number) would never be printed."""
    keys = {(int(name[-1]), r["row"]) for name, t in _tables().items() for r in t["rows"]}
    assert set(pt.PAPER) <= keys


def test_rows_without_a_paper_value_show_a_dash(monkeypatch) -> None:
    monkeypatch.setattr(pt, "PAPER", {(1, "COVID"): 50.5})
    rows = _md_rows(pt.to_markdown(_tables()))
    assert rows[(1, "COVID")][3] == "50.50"
    assert rows[(1, "Lung_Opacity")][3] == pt.NO_VALUE
    assert rows[(3, "COVID")][3] == pt.NO_VALUE  # the FID value does not leak into the SSIM table


def test_csv_carries_the_papers_value_and_std_in_the_right_row(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(pt, "PAPER", dict(ENTERED))
    pt.write_tables(_tables(), tmp_path)
    for number in (1, 2, 3, 4):
        with open(tmp_path / f"table{number}.csv", newline="") as fh:
            for row in csv.DictReader(fh):
                value, std = pt.paper_value(number, row["row"])
                assert float(row["paper"]) == value
                assert (row["paper_std"] == "") if std is None else (float(row["paper_std"]) == std)
