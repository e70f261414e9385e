"""The paper's tables 1-4 in the paper's own layout: its rows, its numbers, and which image sets each row compares."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vald_evaluation import paper_tables as pt

REPO = Path(__file__).resolve().parents[2]
# arXiv 2401.01414, section 4, as printed: (Image Set 1, Image Set 2, numbers) per table, in the paper's order.
PRINTED: dict[int, list[tuple[str, str, tuple[str, ...]]]] = {
    1: [
        ("Lung Opacity", "Generated Healthy", ("27.8",)),
        ("Lung Opacity", "Real Healthy", ("46.9",)),
        ("Relative Absolute Difference", "", ("19.1",)),
        ("Viral Pneumonia", "Generated Healthy", ("37.63",)),
        ("Viral Pneumonia", "Real Healthy", ("97.6",)),
        ("Relative Absolute Difference", "", ("59.97",)),
        ("COVID 19", "Generated Healthy", ("32.2",)),
        ("COVID 19", "Real Healthy", ("38.2",)),
        ("Relative Absolute Difference", "", ("6.0",)),
    ],
    2: [
        ("Real Healthy", "Generated Healthy from the Lung Opacity class", ("60.60",)),
        ("Real Healthy", "Generated Healthy from the Viral Pneumonia class", ("110.72",)),
        ("Real Healthy", "Generated Healthy from the COVID19 class", ("45.11",)),
    ],
    3: [
        ("COVID", "Generated Healthy", ("0.830", "0.798")),
        ("Lung Opacity", "Generated Healthy", ("0.813", "0.780")),
        ("Viral Pneumonia", "Generated Healthy", ("0.802", "0.768")),
    ],
    4: [
        ("Real Cardiomegaly", "Generated Cardiomegaly", ("52.08",)),
        ("Real Healthy", "Generated Cardiomegaly", ("17.71",)),
    ],
}
# The image sets each row compares (set 1, set 2); None: computed from the rows above.
COMPARED: dict[int, list[tuple[str, str] | None]] = {
    1: [
        ("films:Lung_Opacity", "generated:Lung_Opacity"),
        ("films:Lung_Opacity", "healthy"),
        None,
        ("films:Viral Pneumonia", "generated:Viral Pneumonia"),
        ("films:Viral Pneumonia", "healthy"),
        None,
        ("films:COVID", "generated:COVID"),
        ("films:COVID", "healthy"),
        None,
    ],
    2: [("healthy", f"generated:{c}") for c in ("Lung_Opacity", "Viral Pneumonia", "COVID")],
    4: [("cardiomegaly", "induced"), ("healthy", "induced")],
}


def _layout(number: int) -> list[tuple[str, str, tuple[str, ...]]]:
    table = next(t for t in pt.PAPER if t.number == number)
    return [(r.set1, r.set2, r.paper) for r in table.rows]


def test_paper_holds_the_papers_rows_and_numbers() -> None:
    assert [t.number for t in pt.PAPER] == [1, 2, 3, 4]
    assert [t.metrics for t in pt.PAPER] == [("FID",), ("FID",), ("MS-SSIM", "SSIM"), ("FID",)]
    for number, rows in PRINTED.items():
        assert _layout(number) == rows, number
    for row in pt.PAPER[0].rows[2::3]:  # each relative absolute difference is that of the two FIDs above it
        i = pt.PAPER[0].rows.index(row)
        above = [float(r.paper[0]) for r in pt.PAPER[0].rows[i - 2 : i]]
        assert abs(above[1] - above[0]) == pytest.approx(float(row.paper[0]))


def _shared_transcription() -> Path | None:
    for root in (REPO, REPO.parent):
        path = root / "shared" / "paper" / "vald-md-tables.md"
        if path.is_file():
            return path
    return None


@pytest.mark.skipif(
    _shared_transcription() is None, reason="shared/paper/vald-md-tables.md is not in this checkout"
)
def test_paper_matches_the_shared_transcription() -> None:
    """Every table of the transcription, cell for cell (a printing note in parentheses dropped)."""
    path = _shared_transcription()
    assert path is not None
    tables: dict[int, list[tuple[str, str, tuple[str, ...]]]] = {}
    number = 0
    for line in path.read_text().splitlines():
        if m := re.match(r"## Table (\d)", line):
            number = int(m.group(1))
            tables[number] = []
        elif number and line.startswith("| ") and not line.startswith("| Image Set"):
            cells = [re.sub(r"\s*\(printed .*\)$", "", c.strip()) for c in line.strip().strip("|").split("|")]
            tables[number].append((cells[0], cells[1], tuple(cells[2:])))
    assert tables == PRINTED


def _save(path: Path, rng: np.random.Generator) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (176, 176), dtype=np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, dict[frozenset[Path], str]]:
    """A COVID-19-database layout with counterfactuals for some films, induced images and CheXpert; set names."""
    rng = np.random.default_rng(11)
    root = tmp_path_factory.mktemp("paper-layout")
    data, gen, chexpert = root / "data", root / "gen", root / "CheXpert-v1.0-small"
    sets: dict[str, list[Path]] = {
        "healthy": [_save(data / "Normal" / "images" / f"N-{i}.png", rng) for i in range(4)]
    }
    for cls, films, made in (("COVID", 2, 2), ("Lung_Opacity", 3, 2), ("Viral Pneumonia", 2, 1)):
        sets[f"films:{cls}"] = [_save(data / cls / "images" / f"{cls}-{i}.png", rng) for i in range(films)]
        sets[f"generated:{cls}"] = [
            _save(gen / f"{cls}-{i}" / "counterfactual.png", rng) for i in range(made)
        ]
    sets["induced"] = [_save(gen / pt.INDUCED_DIR / f"N-{i}" / "counterfactual.png", rng) for i in range(3)]
    sets["cardiomegaly"] = []
    lines = ["Path,Frontal/Lateral,Cardiomegaly"]
    for i, (view, label) in enumerate(
        (("Frontal", "1.0"), ("Frontal", "1.0"), ("Lateral", "1.0"), ("Frontal", "0.0"))
    ):
        rel = Path(chexpert.name) / "train" / f"patient{i}" / "view1.png"
        _save(root / rel, rng)
        lines.append(f"{rel},{view},{label}")
        if view == "Frontal" and label == "1.0":
            sets["cardiomegaly"].append(root / rel)
    chexpert.joinpath("train.csv").write_text("\n".join(lines) + "\n")
    return data, gen, chexpert, {frozenset(v): k for k, v in sets.items()}


def test_each_row_compares_the_papers_image_sets(layout) -> None:
    data, gen, chexpert, names = layout
    calls: list[tuple[str, str]] = []

    def fid(a: list[Path], b: list[Path]) -> float:
        calls.append((names[frozenset(a)], names[frozenset(b)]))
        return 10.0 * len(calls) + 0.5

    doc = pt.compute_tables(data, gen, fid, chexpert=chexpert)
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc  # strict JSON: no NaN anywhere
    tables = {t["number"]: t for t in doc["tables"]}
    assert all(not t["notes"] for t in tables.values()), [t["notes"] for t in tables.values()]
    seen = iter(calls)
    for number, compared in COMPARED.items():
        rows = tables[number]["rows"]
        assert [(r["set1"], r["set2"], tuple(r["paper_printed"])) for r in rows] == PRINTED[number]
        for k, (row, sets) in enumerate(zip(rows, compared, strict=True)):
            if sets is None:  # |real-healthy FID - generated-healthy FID| of the two rows above
                assert row["ours"][0] == pytest.approx(abs(rows[k - 1]["ours"][0] - rows[k - 2]["ours"][0]))
            else:
                assert next(seen) == sets, (number, k)
            assert row["difference"][0] == pytest.approx(row["ours"][0] - row["paper"][0])
    assert next(seen, None) is None  # no FID beyond the paper's rows
    lo = tables[1]["rows"][0]
    assert lo["n"] == [3, 2]  # all the class's films against the counterfactuals made of them
    by_name = {name: files for files, name in names.items()}
    for row in tables[3]["rows"]:  # one pair per counterfactual
        assert row["n"] == [len(by_name[f"generated:{row['class']}"])]
        assert all(0 < v < 1 for v in row["ours"]) and all(s is not None for s in row["std"])


def test_markdown_prints_every_row_with_the_papers_number(layout, tmp_path: Path) -> None:
    data, gen, chexpert, _ = layout
    doc = pt.compute_tables(data, gen, lambda a, b: 42.0, chexpert=chexpert)
    written = pt.write_tables(doc, tmp_path)
    assert [p.name for p in written] == ["tables.md", "tables.json"]
    md = (tmp_path / "tables.md").read_text()
    assert md == pt.to_markdown(doc)
    blocks = md.split("### Table ")[1:]
    for number, block in enumerate(blocks, start=1):
        lines = [ln for ln in block.splitlines() if ln.startswith("| ")]
        header, body = lines[0], lines[1:]
        assert len(body) == len(PRINTED[number])
        metrics = pt.PAPER[number - 1].metrics
        assert header.count("(paper)") == len(metrics) and header.count("(ours)") == len(metrics)
        for line, (set1, set2, printed) in zip(body, PRINTED[number], strict=True):
            cells = [c.strip() for c in line.strip("|").split("|")]
            assert cells[:2] == [set1, set2]
            assert [cells[3 + 3 * i] for i in range(len(metrics))] == list(printed)
    assert "| Lung Opacity | Generated Healthy | 42.00 | 27.8 | +14.20 | 3 / 2 |" in md
    assert "| Relative Absolute Difference |  | 0.00 | 19.1 | -19.10 |  |" in md
    assert json.loads((tmp_path / "tables.json").read_text()) == doc


def test_missing_inputs_leave_ours_empty_with_a_note(layout) -> None:
    data, gen, _, _ = layout
    without_fid = pt.compute_tables(data, gen, None)
    for t in without_fid["tables"]:
        for row in t["rows"]:
            filled = all(v is not None for v in row["ours"])
            assert filled == (t["number"] == 3), (t["number"], row["set1"], row["set2"])
            assert row["paper"] == [float(v) for v in row["paper_printed"]]
    assert any("fid-weights" in n for n in without_fid["tables"][0]["notes"])
    assert any("--chexpert" in n for n in without_fid["tables"][3]["notes"])

    no_chexpert = pt.compute_tables(data, gen, lambda a, b: 7.0)
    real_cardio, healthy = no_chexpert["tables"][3]["rows"]
    assert real_cardio["ours"] == [None] and real_cardio["difference"] == [None]
    assert healthy["ours"] == [7.0] and healthy["difference"] == [pytest.approx(7.0 - 17.71)]
    assert no_chexpert["tables"][3]["notes"] == [
        "Real cardiomegaly films need CheXpert-small: pass --chexpert DIR."
    ]
