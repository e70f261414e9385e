"""The phantom benchmark with stand-in runners whose answers are known: an oracle and a do-nothing model."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import numpy as np
import pytest

from vald_desktop.core.base.errors import SettingsError
from vald_desktop.core.base.settings import RunSettings
from vald_evaluation.localization import split_lungs
from vald_evaluation.phantom_benchmark import (
    ABNORMAL,
    INDUCTION_SEED_OFFSET,
    json_summary,
    parse_override,
    run_benchmark,
    run_sweep,
    summary_table,
    sweep_table,
)
from vald_phantoms.phantom import make_phantom, phantom_seed

SIZE = 64
N, SEED = 6, 4242


def _key(image: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(image, dtype=np.float32).tobytes()).hexdigest()


@pytest.fixture(scope="module")
def twins() -> dict[str, np.ndarray]:
    """Healthy twin of every phantom the benchmark will draw (the oracle's secret)."""
    out = {}
    for i in range(N):
        ph = make_phantom(phantom_seed(SEED, i), ABNORMAL[i % len(ABNORMAL)], SIZE)
        out[_key(ph.image)] = ph.healthy
    return out


def _oracle(twins: dict[str, np.ndarray]):
    def run(image, settings: RunSettings, mask):
        lung = np.asarray(mask.mask, bool)
        if "left" in settings.prompt or "right" in settings.prompt:
            left, right = split_lungs(lung)
            named = left if settings.prompt.endswith("left") else right
            return SimpleNamespace(counterfactual=image, map=-named.astype(np.float32))
        healthy = twins[_key(image)]
        return SimpleNamespace(counterfactual=healthy, map=(image - healthy) * lung)

    return run


def _identity(image, settings, mask):
    return SimpleNamespace(counterfactual=image, map=np.zeros_like(image))


def test_oracle_scores_perfectly(twins) -> None:
    summary = run_benchmark(_oracle(twins), N, SEED, size=SIZE, n_induction=2)
    assert set(summary["findings"]) == set(ABNORMAL)
    for finding, m in summary["findings"].items():
        assert m["ssim_gain"] > 0, finding
        assert m["outside_change"] == 0.0, finding
        if not np.isnan(m["auroc"]):  # a lesion outside the lung mask has nothing to score there
            assert m["auroc"] > 0.99, finding
            assert m["dice"] > 0.95, finding
    assert summary["findings"]["lung_opacity"]["auroc"] > 0.99
    assert summary["induction_laterality"] == pytest.approx(1.0)
    assert summary["induction_correct"] == 1.0


def test_do_nothing_model_scores_chance(twins) -> None:
    summary = run_benchmark(_identity, N, SEED, size=SIZE, n_induction=2)
    lung_opacity = summary["findings"]["lung_opacity"]
    assert lung_opacity["auroc"] == pytest.approx(0.5)
    assert lung_opacity["ssim_gain"] == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(summary["induction_laterality"])
    js = json_summary(summary)
    assert js["induction_laterality"] is None  # JSON has no NaN
    assert "| lung_opacity |" in summary_table(summary)


def test_induction_uses_held_out_healthy_phantoms() -> None:
    seen = []

    def spy(image, settings, mask):
        seen.append((settings.prompt, _key(image)))
        return SimpleNamespace(counterfactual=image, map=np.zeros_like(image))

    run_benchmark(spy, 1, SEED, size=SIZE, n_induction=2)
    prompts = [p for p, _ in seen]
    assert prompts == [
        "normal chest x-ray",
        "large lung opacity on the left",
        "large lung opacity on the right",
    ]
    first_normal = make_phantom(phantom_seed(SEED + INDUCTION_SEED_OFFSET, 0), "normal", SIZE)
    assert seen[1][1] == _key(first_normal.image)


def test_named_negative_names_each_phantom_s_own_finding_and_only_for_removal() -> None:
    # Removal runs get the phantom's own prompt as negative prompt; induction keeps the base one.
    seen = []

    def spy(image, settings, mask):
        seen.append((settings.prompt, settings.negative_prompt))
        return SimpleNamespace(counterfactual=image, map=np.zeros_like(image))

    summary = run_benchmark(spy, 3, SEED, size=SIZE, n_induction=1, named_negative=True)
    expected = [make_phantom(phantom_seed(SEED, i), ABNORMAL[i], SIZE).prompt for i in range(3)]
    assert [neg for _, neg in seen[:3]] == expected
    assert expected[0].startswith("large lung opacity on the ")  # the side named too
    assert seen[3] == ("large lung opacity on the left", "")
    assert summary["named_negative"] is True and summary["settings"]["negative_prompt"] == ""


def test_sweep_rows_and_overrides(twins) -> None:
    assert parse_override("scheduler=dpmpp, steps=25") == {"scheduler": "dpmpp", "steps": 25}
    assert parse_override("confine_to_mask=true,guidance=7.5") == {"confine_to_mask": True, "guidance": 7.5}
    with pytest.raises(SettingsError):
        parse_override("nonsense=1")
    with pytest.raises(SettingsError):
        parse_override("steps=many")
    used = []

    def spy(image, settings, mask):
        used.append(settings)
        return _oracle(twins)(image, settings, mask)

    rows = run_sweep(spy, N, SEED, RunSettings(), ["scheduler=dpmpp,steps=25"], size=SIZE)
    assert [r["label"] for r in rows] == ["base", "scheduler=dpmpp,steps=25"]
    assert any(s.scheduler == "dpmpp" and s.steps == 25 for s in used)
    table = sweep_table(rows)
    assert table.count("\n") == 3  # header, rule, two rows


def test_match_dpm_steps_finds_the_fewest_that_reach_pndm(twins) -> None:
    from vald_evaluation.phantom_benchmark import match_dpm_steps

    def runner(image, settings, mask):
        # DPM-Solver++ needs 20 steps here to reach the oracle; fewer steps leave part of the lesion.
        healthy = twins[_key(image)]
        keep = 0.0 if settings.scheduler == "pndm" or settings.steps >= 20 else 0.5
        cf = healthy + keep * (image - healthy)
        noise = np.random.default_rng(settings.steps).random(image.shape) * (0.5 if keep else 0.0)
        return SimpleNamespace(counterfactual=cf, map=((image - cf) + noise * (image == healthy)) * mask.mask)

    found = match_dpm_steps(runner, N, SEED, RunSettings(), candidates=(10, 15, 20, 25), size=SIZE)
    assert found["steps"] == 20
    assert [t["steps"] for t in found["tried"]] == [10, 15, 20]  # stops at the first match
