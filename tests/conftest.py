"""Fixtures shared by every test area. Area-specific fixtures live in tests/<area>/conftest.py."""

from __future__ import annotations

import os
import socket
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

# Keep tests frugal on small machines and deterministic across runs.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

# Every test in these folders carries the marker (pyproject.toml declares them all).
FOLDER_MARKERS = {"gui": "gui", "training": "training"}
# Tests that take seconds each on 2 cores (measured with --durations), marked slow here rather than in their
# modules; with the decorated ones they keep the fast subset under a minute. Relative to tests/; a parametrised
# test by its name marks every case.
SLOW = frozenset(
    {
        # whole `vald run` commands in-process, each loading the model and writing every output
        "engine/test_run_command.py::test_the_model_s_recommended_noise_and_confinement_apply_unless_overridden",
        "engine/test_run_command.py::test_the_model_s_recommended_value_applies_unless_the_flag_says_otherwise",
        "engine/test_engine_inversion.py::test_vald_run_noise_flag_reaches_the_record",
        # loads a second model and re-encodes a film
        "engine/test_engine_cache.py::test_a_different_film_is_encoded_and_a_model_switch_empties_the_caches",
        # Inception forward passes on the CPU
        "evaluation/test_eval_fid.py::test_features_have_pool3_shape_and_are_deterministic",
        "evaluation/test_eval_fid.py::test_fid_between_sets_is_cached_and_positive",
        # worker processes rendering phantom sets
        "phantoms/test_phantoms_files.py::test_both_sides_writes_each_sided_prompt_twice_on_one_anatomy",
        "phantoms/test_phantoms_files.py::test_any_number_of_workers_writes_the_same_files",
        # a 2k JPEG 2000 decode and a helper process, each watched for GUI stalls
        "gui/test_gui_stall.py::test_opening_a_2k_jpeg2000_film_never_freezes_the_window",
        "gui/test_gui_stall.py::test_automatic_mask_from_the_helper_process_is_the_one_found_here",
        # waits out the node's 2 s timeout
        "gui/test_gui_pacs.py::test_a_silent_pacs_times_out_with_a_sentence_while_the_window_stays_responsive",
        # the model's domain score over a set of held-out phantoms / a report over several sets
        "engine/test_domain_demo.py::test_held_out_phantoms_are_in_the_demo_model_s_domain",
        "evaluation/test_eval_domain.py::test_the_report_covers_held_out_shifted_and_given_films",
        # the self-test in subprocesses, each loading torch and the model
        "install/test_doctor.py::test_a_broken_model_folder_fails_with_exit_2_and_names_the_check",
        "install/test_doctor.py::test_doctor_json_lists_every_check",
        # phantom benchmarks with the engine
        "evaluation/test_eval_phantoms_cli.py::test_phantom_sweep_table",
        "evaluation/test_eval_phantoms_cli.py::test_match_dpm_tries_the_given_step_counts_fewest_first",
        "evaluation/test_eval_phantoms_cli.py::test_phantom_benchmark_json_with_the_engine",
        # Inception forward passes against the TorchScript network; a whole run exported three ways
        "evaluation/test_eval_fid_weights.py::test_features_equal_the_torchscript_network",
        "export/test_export_agreement.py::test_cli_and_app_exports_report_the_same_lung_statistics",
        # region-confined editing end to end: `vald run --region` with its exports, a painted region run in the app
        "engine/test_edit_region.py::test_vald_run_region_records_the_region_and_exports_outline_it",
        "gui/test_gui_region_measure.py::test_painted_region_confines_the_run_and_its_export_outlines_it",
        "gui/test_gui_region_measure.py::test_roi_reads_the_map_mean_of_a_result",
        "evaluation/test_eval_region.py::test_vald_evaluate_region_prints_the_json_report",
        # more whole runs of the tiny model; each file keeps a quicker run of the same path in the fast subset
        # (a single film, sharding, a lateral view refused, the inverted start, a guided share, one OOM retry)
        "engine/test_run_command.py::test_batch_folder_one_folder_per_film_and_skips_done_ones",
        "engine/test_run_command.py::test_auto_mask_restricts_the_map_to_the_found_lungs",
        "engine/test_engine_inversion.py::test_inverted_runs_ignore_the_seed_and_repeat_exactly",
        "engine/test_engine_inversion.py::test_progress_counts_inversion_and_denoising_in_one_bar",
        "engine/test_domain.py::test_calibrating_a_model_then_runs_carry_a_score",
        "engine/test_domain_demo.py::test_header_less_pictures_the_pixels_and_the_model_both_reject_are_refused",
        "engine/test_domain_demo.py::test_vald_run_refuses_non_radiographs_with_exit_2",
        "engine/test_engine_guidance_interval.py::test_a_small_guided_share_lands_near_an_unguided_run",
        "engine/test_engine_oom.py::test_repeated_oom_raises_the_typed_error",
        "engine/test_model_folders.py::test_radbert_style_folder_gets_capped_tokens_and_attention_masks",
        # Inception conversions and forward passes; the loaders' refusals and preprocessing stay fast
        "evaluation/test_eval_fid.py::test_converted_weights_are_found_without_a_path",
        "evaluation/test_eval_fid.py::test_phantom_benchmark_reports_fid_against_the_healthy_twins",
        "evaluation/test_eval_cli.py::test_paper_tables_without_fid_weights",
        "evaluation/test_eval_cli.py::test_fid_weights_command_converts_and_reports",
        "evaluation/test_eval_fid_weights.py::test_wheel_is_the_pinned_one_and_conversion_leaves_only_safetensors",
        "evaluation/test_eval_paper_layout.py::test_missing_inputs_leave_ours_empty_with_a_note",
        "evaluation/test_eval_paper_layout.py::test_each_row_compares_the_papers_image_sets",
        "engine/test_domain_demo.py::test_a_model_without_calibration_says_domain_unknown",
        "engine/test_engine_inversion.py::test_a_new_prompt_reuses_the_inversion_but_a_new_negative_prompt_does_not",
        "engine/test_engine_cache.py::test_new_prompt_on_same_film_skips_the_vae_encode",
        "engine/test_run_command.py::test_a_bad_film_in_a_batch_is_skipped_not_fatal",
        # the window around whole runs and 2k films; quicker window tests of each part stay fast
        "gui/test_gui_stall.py::test_gui_thread_never_stalls_long_during_a_run",
        "gui/test_gui_deid.py::test_a_film_that_does_not_say_is_exported_only_after_the_user_confirms_once",
        "gui/test_gui_generate.py::test_restoring_a_history_entry_brings_back_its_settings_and_images",
        "gui/test_gui_generate.py::test_cancel_interrupts_the_real_pipeline",
        "gui/test_gui_large_films.py::test_a_2k_result_is_drawn_off_the_gui_thread_and_follows_the_overlay_controls",
        "gui/test_gui_persistence.py::test_last_settings_and_recent_files_come_back_after_restart",
        # waits out a timeout or a dropped connection
        "install/test_models_fetch.py::test_a_connection_dropped_mid_file_resumes_with_a_ranged_request",
        "export/test_export_pacs.py::test_silent_server_times_out_with_a_clear_error",
    }
)


@pytest.hookimpl(tryfirst=True)  # before -m deselects by these markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    seen: set[str] = set()
    collected: set[Path] = set()
    for item in items:
        path = item.path.resolve()
        if not path.is_relative_to(TESTS):
            continue
        collected.add(path)
        rel = path.relative_to(TESTS)
        marker = FOLDER_MARKERS.get(rel.parts[0])
        if marker:
            item.add_marker(marker)
        if {"orthanc", "orthanc_web"} & set(getattr(item, "fixturenames", ())):
            item.add_marker("orthanc")
        node = f"{rel.as_posix()}::{item.name.split('[')[0]}"
        if node in SLOW:
            item.add_marker("slow")
            seen.add(node)
    for node in sorted(SLOW - seen):
        if TESTS / node.split("::")[0] in collected:
            # The file was collected but the test is gone or renamed: the list would silently stop marking it.
            warnings.warn(pytest.PytestWarning(f"tests/conftest.py SLOW names no test: {node}"), stacklevel=1)


@pytest.fixture(scope="session", autouse=True)
def private_deidentification_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """De-identification's per-installation key lives in a temporary folder, never the user's config folder."""
    path = tmp_path_factory.mktemp("deid-key") / "deidentification.key"
    before = os.environ.get("VALD_DEID_KEY")
    os.environ["VALD_DEID_KEY"] = str(path)
    yield path
    if before is None:
        os.environ.pop("VALD_DEID_KEY", None)
    else:
        os.environ["VALD_DEID_KEY"] = before


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def pydicom_data_dir() -> Path:
    """The folder of real DICOM test files shipped by the ``pydicom-data`` wheel (import name ``data_store``)."""
    import data_store  # type: ignore[import-untyped]

    folder = Path(data_store.__file__).parent / "data"
    assert folder.is_dir(), "pydicom-data is not installed; the real-film tests need it"
    return folder


@pytest.fixture(scope="session")
def rg1_path(pydicom_data_dir: Path) -> Path:
    """RG1_UNCI.dcm: a real CR chest radiograph (1955x1841, 15-bit, MONOCHROME1)."""
    hits = sorted(pydicom_data_dir.rglob("RG1_UNCI.dcm"))
    assert hits, "pydicom-data does not ship RG1_UNCI.dcm any more; the real-film tests need it"
    return hits[0]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight SD-format img2img model with a BERT text encoder (safetensors + manifest)."""
    from vald_training.architecture import build_tiny_model

    out = tmp_path_factory.mktemp("tiny-model") / "tiny"
    build_tiny_model(out, seed=0)
    return out


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections, held for the whole test.

    The socket is bound but never listens: connecting gets "connection refused" at once, and no other process can
    take the port meanwhile (unlike a port found free and released, which anything may grab before it is used).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])
