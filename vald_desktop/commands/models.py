"""``vald models convert|verify|assemble|which|fetch|calibrate``: manage local model folders.

Only ``fetch`` (``commands/models_fetch.py``) goes online; every other action, and all loading, is local.
"""

from __future__ import annotations

import argparse
import json

from vald_desktop.commands.models_calibrate import add_calibrate_parser
from vald_desktop.commands.models_fetch import add_fetch_parser


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "models",
        help="check, convert and assemble local model folders",
        description="Model folders are local diffusers folders (SD 1.x img2img, BERT or CLIP text encoder), "
        "safetensors only, with a vald-manifest.json.",
    )
    sub = p.add_subparsers(dest="models_command", metavar="ACTION")
    sub.required = True

    c = sub.add_parser("convert", help="turn .bin/.pt weights into safetensors and write a manifest")
    c.add_argument("src", help="folder with pytorch_model.bin / diffusion_pytorch_model.bin weights")
    c.add_argument("dst", help="new folder for the safetensors copy")
    c.add_argument("--overwrite", action="store_true", help="replace a non-empty DST")
    c.set_defaults(func=_convert)

    v = sub.add_parser("verify", help="check a model folder (structure, safetensors, manifest, widths)")
    v.add_argument("dir", help="model folder (or the name of a model installed by 'vald models fetch')")
    v.add_argument("--load", action="store_true", help="also load it (slow for full-size models)")
    v.add_argument("--device", default="cpu", help="device for --load (default cpu)")
    v.set_defaults(func=_verify)

    a = sub.add_parser(
        "assemble", help="build an SD 1.x + BERT folder from a local SD folder and a local BERT folder"
    )
    a.add_argument("--sd", dest="sd_dir", required=True, help="local Stable Diffusion 1.x diffusers folder")
    a.add_argument(
        "--text-encoder",
        dest="text_encoder_dir",
        required=True,
        help="local BERT folder (e.g. RadBERT) with its tokenizer",
    )
    a.add_argument("--out", dest="out_dir", required=True, help="new model folder")
    a.set_defaults(func=_assemble)

    w = sub.add_parser("which", help="print the model folder that 'vald run' would use")
    w.add_argument("--model", default=None, help="explicit model folder")
    w.set_defaults(func=_which)

    add_fetch_parser(sub)
    add_calibrate_parser(sub)


def _convert(args: argparse.Namespace) -> int:
    from vald_desktop.core.engine.convert import convert_model
    from vald_desktop.core.engine.manifest import manifest_hash

    out = convert_model(args.src, args.dst, overwrite=args.overwrite)
    print(json.dumps({"converted": str(out), "manifest_hash": manifest_hash(out)}))
    return 0


def _verify(args: argparse.Namespace) -> int:
    from vald_desktop.core.engine.manifest import manifest_hash, read_manifest
    from vald_desktop.core.engine.models import check_model_dir, native_size, resolve_model_dir

    folder = resolve_model_dir(args.dir)  # a folder, or the name of an installed model
    check_model_dir(folder)
    report: dict[str, object] = {
        "ok": True,
        "model": str(folder),
        "manifest": read_manifest(folder) is not None,
        "manifest_hash": manifest_hash(folder),
        "native_size": native_size(folder),
    }
    if args.load:
        from vald_desktop.core.engine.models import load_pipeline

        _, info = load_pipeline(folder, args.device)
        report.update(device=info.device, dtype=info.dtype, text_encoder=info.text_encoder)
    print(json.dumps(report))
    return 0


def _assemble(args: argparse.Namespace) -> int:
    from vald_desktop.core.engine.assemble import assemble_model

    out = assemble_model(args.sd_dir, args.text_encoder_dir, args.out_dir)
    print(json.dumps({"assembled": str(out)}))
    return 0


def _which(args: argparse.Namespace) -> int:
    from vald_desktop.core.engine.models import resolve_model_dir

    print(resolve_model_dir(args.model))
    return 0
