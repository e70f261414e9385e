"""Training data: both layouts, unreadable files skipped and counted, clear errors, replayable sampling."""

from __future__ import annotations

from pathlib import Path

import pytest
from vald_training.config import PAPER_PROMPTS, load_config
from vald_training.data import Sampler, load_dataset, load_gray

from vald_desktop.core.base.errors import DataError, SettingsError


def test_layout_maps_classes_to_paper_prompts_and_counts_broken_files(film_set: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "db"
    shutil.copytree(film_set, root)
    (root / "Normal" / "images" / "broken.png").write_bytes(b"not a png")
    ds = load_dataset(root, PAPER_PROMPTS)
    assert ds.skipped == 1
    assert sorted(ds.by_class) == ["Lung_Opacity", "Normal"]
    assert {ex.prompt for ex in ds.examples} == {"Normal chest scan", "Lung Opacity"}
    with pytest.raises(DataError, match="no readable images of class 'COVID'"):
        ds.indices("COVID")


def test_csv_with_image_prompt_columns_like_phantom_labels(film_set: Path, tmp_path: Path) -> None:
    normal = sorted((film_set / "Normal" / "images").glob("*.png"))[:2]
    sick = sorted((film_set / "Lung_Opacity" / "images").glob("*.png"))[:1]
    table = tmp_path / "labels.csv"
    rows = ["id,finding,prompt,image"]
    rows += [f"{i},normal,normal chest x-ray,{p}" for i, p in enumerate(normal)]
    rows += [
        f"9,lung_opacity,large lung opacity on the left,{sick[0]}",
        "10,normal,normal chest x-ray,missing.png",
    ]
    table.write_text("\n".join(rows) + "\n")
    ds = load_dataset(tmp_path, PAPER_PROMPTS)  # a folder holding labels.csv
    assert ds.skipped == 1
    assert len(ds.indices("normal")) == 2
    assert ds.examples[ds.indices("lung_opacity")[0]].prompt == "large lung opacity on the left"


def test_csv_without_prompt_column_is_refused(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("path,label\na.png,x\n")
    with pytest.raises(DataError, match="'prompt' columns"):
        load_dataset(table, PAPER_PROMPTS)


def test_gray_loading_is_square_resized_and_in_unit_range(film_set: Path) -> None:
    img = load_gray(next((film_set / "Normal" / "images").glob("*.png")), 32)
    assert img.shape == (32, 32) and img.min() >= 0.0 and img.max() <= 1.0


def test_sampler_resumes_mid_epoch_exactly() -> None:
    pool = list(range(7))
    full = Sampler(pool, seed=3, key=1).take(20)
    first = Sampler(pool, seed=3, key=1)
    head = first.take(9)
    tail = Sampler(pool, seed=3, key=1, position=first.position).take(11)
    assert head + tail == full
    assert sorted(full[:7]) == pool  # each epoch is a permutation


def test_config_flags_override_yaml_and_unknown_keys_are_refused(tmp_path: Path) -> None:
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("base: b\ndata: d\nout: o\nmax_steps: 100\nlearning_rate: 1.0e-4\n")
    cfg = load_config(cfg_file, {"max_steps": 1500, "out": None})
    assert cfg.max_steps == 1500 and cfg.out == "o" and cfg.learning_rate == 1e-4
    # The paper schedule, capped by max_steps: 1200 Normal steps, then 300 of the first disease class.
    assert cfg.phase_plan() == [("Normal", 1200), ("COVID", 300)]
    cfg_file.write_text("base: b\ndata: d\nout: o\nlearning_rat: 1\n")
    with pytest.raises(SettingsError, match="learning_rat"):
        load_config(cfg_file)
    with pytest.raises(SettingsError, match="--data"):
        load_config(None, {"base": "b", "out": "o"})


def test_phantom_twins_add_each_healthy_twin_as_a_normal_example(tmp_path: Path) -> None:
    from vald_phantoms.phantom import write_phantoms

    write_phantoms(tmp_path, n=4, seed=3, size=64, findings=("normal", "lung_opacity"))
    plain = load_dataset(tmp_path, dict(PAPER_PROMPTS))
    twins = load_dataset(tmp_path, dict(PAPER_PROMPTS), twins=True)
    added = [e for e in twins.examples if e not in plain.examples]
    # Two abnormal phantoms -> two twins; normal phantoms have no separate twin to add.
    assert len(added) == 2, "healthy twins missing or normal films doubled"
    assert all(e.prompt == "normal chest x-ray" and e.klass == "normal" for e in added)
    assert all(e.path.parent.name == "healthy" for e in added), "a twin points at the abnormal image"
