"""``vald bench --quick`` on the tiny model: finishes in time and reports every item with sane numbers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from vald_desktop.cli import main
from vald_desktop.commands import bench_app as bench


@pytest.mark.slow
def test_quick_bench_on_tiny_model(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    t0 = time.perf_counter()
    assert (
        main(["bench", "--model", str(tiny_model_dir), "--device", "cpu", "--quick", "--json", str(out)]) == 0
    )
    assert time.perf_counter() - t0 < 120
    doc = json.loads(out.read_text())
    assert isinstance(doc["overhead_vs_diffusers"], float) and 0.3 < doc["overhead_vs_diffusers"] < 3.0
    assert 0.3 < doc["overhead"]["cpu_ratio"] < 3.0  # on a CPU the load-independent ratio is reported too
    calls = {(s["scheduler"], s["steps"], s["strength"]): s["unet_calls"] for s in doc["schedulers"]}
    # img2img runs int(steps * strength) denoising steps; PNDM adds one UNet call, CFG batches instead of calling twice.
    assert calls[("pndm", 75, 0.85)] == int(75 * 0.85) + 1
    assert calls[("pndm", 75, 0.55)] == int(75 * 0.55) + 1
    # Without --dpm-steps the DPM row times the step count that matched PNDM-75 on the phantom benchmark.
    assert calls[("dpmpp", bench.DPM_STEPS, 0.55)] == int(bench.DPM_STEPS * 0.55)
    assert doc["warm_vs_cold"]["vae_encodes_in_warm_runs"] == 0
    assert doc["memory"]["rss_mib"] > 50
    assert doc["film_open"]["seconds"] > 0
    table = capsys.readouterr().out
    assert "| 1. overhead vs stock img2img |" in table and "| 6. worst GUI stall |" in table
    assert "Item 1: Same network work on both sides" in table  # what the ratio compares is stated
    assert "CPU time" in table


def test_dpm_steps_option_overrides_the_matched_default(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def fake_run_bench(cfg: bench.BenchConfig, log=None) -> dict:
        seen.append(cfg.dpm_steps)
        raise SystemExit(0)

    monkeypatch.setattr(bench, "run_bench", fake_run_bench)
    for argv, expected in ((["bench"], bench.DPM_STEPS), (["bench", "--dpm-steps", "7"], 7)):
        with pytest.raises(SystemExit):
            main(argv)
        assert seen.pop() == expected


def test_dpm_steps_below_one_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--dpm-steps", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err


def _bench_config_of(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> bench.BenchConfig:
    """The configuration ``vald bench`` builds from ``argv`` (the bench itself does not run)."""
    seen: list[bench.BenchConfig] = []

    def fake_run_bench(cfg: bench.BenchConfig, log=None) -> dict:
        seen.append(cfg)
        raise SystemExit(0)

    monkeypatch.setattr(bench, "run_bench", fake_run_bench)
    with pytest.raises(SystemExit):
        main(argv)
    return seen[0]


def test_the_bench_command_measures_gui_stalls_with_the_gui_meter(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from vald_desktop.gui.stall import measure_stall

    assert _bench_config_of(["bench"], monkeypatch).stall_meter is measure_stall
    monkeypatch.setitem(sys.modules, "vald_desktop.gui.stall", None)  # import fails like a missing module
    cfg = _bench_config_of(["bench"], monkeypatch)
    assert cfg.stall_meter is None and "vald_desktop.gui.stall unavailable" in cfg.stall_unavailable


def test_gui_stall_is_reported_or_explained() -> None:
    from types import SimpleNamespace

    result = bench.gui_stall(engine=None, cfg=bench.BenchConfig(quick=True))
    assert result["note"] == "GUI stall not measured (no GUI stall meter was given)"
    engine = SimpleNamespace(info=SimpleNamespace(path="model"))

    def no_display(*_: object, **__: object) -> dict:
        raise RuntimeError("no display")

    result = bench.gui_stall(engine, bench.BenchConfig(quick=True, stall_meter=no_display))
    assert result["note"] == "GUI stall not measured (RuntimeError: no display)"
    result = bench.gui_stall(
        engine,
        bench.BenchConfig(
            quick=True, stall_meter=lambda *_, **__: {"outcome": "finished", "worst_stall_ms": 12}
        ),
    )
    assert result["worst_stall_ms"] == 12.0


def test_rg1_is_found_in_the_installed_test_data() -> None:
    path = bench.find_rg1()
    assert path is not None and path.name == "RG1_UNCI.dcm"
