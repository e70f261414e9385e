"""``vald mask``: write a film's lung mask (and optionally a preview overlay)."""

from __future__ import annotations

import argparse
import json
import sys
import warnings

import numpy as np


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "mask",
        help="write a film's lung mask (255 = lung) at the film's size",
        description="Find the lung mask of FILM (mask file, dataset sibling mask, learned segmenter, or the "
        "built-in automatic mask), write it as a PNG and print its source, its verdict (ok or uncertain, with "
        "a confidence and the reasons) and the area of each lung.",
    )
    p.add_argument("film", help="the film (DICOM, PNG, JPEG, TIFF)")
    p.add_argument("--mask-file", help="use this mask picture (any size; resized to the film)")
    p.add_argument(
        "--segmenter-weights",
        "--weights",
        dest="weights",
        metavar="W.pth",
        help="weights of torchxrayvision's chest PSPNet (pspnet_chestxray_best_model_4.pth; needs the "
        "'segmenter' extra); default $VALD_SEGMENTER_WEIGHTS",
    )
    p.add_argument("--out", required=True, help="where to write the mask PNG")
    p.add_argument("--overlay", help="also write a preview: the film with both lungs tinted")
    p.add_argument(
        "--json",
        metavar="M.json",
        help="also write the mask's verdict as JSON (source, quality, confidence, reasons, and each lung's "
        "area; 'left' is the patient's left lung, on the image right of a PA/AP film)",
    )
    p.set_defaults(func=run)


def overlay_rgb(display: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """uint8 RGB preview: patient-left lung tinted blue, patient-right lung green, outlines solid."""
    from scipy import ndimage as ndi

    base = np.repeat(np.clip(display, 0, 1)[..., None], 3, axis=2).astype(np.float32)
    width = max(1, round(max(display.shape) / 400))
    for lung, colour in ((left, (0.2, 0.45, 1.0)), (right, (0.1, 0.85, 0.3))):
        tint = np.asarray(colour, np.float32)
        base[lung] = 0.7 * base[lung] + 0.3 * tint
        edge = lung & ~ndi.binary_erosion(lung, iterations=width)
        base[edge] = tint
    return (base * 255 + 0.5).astype(np.uint8)


def run(args: argparse.Namespace) -> int:
    from PIL import Image

    from vald_desktop.core.base.atomic import write_text, write_with
    from vald_desktop.core.base.errors import MaskWarning
    from vald_desktop.core.films.load import load_film
    from vald_desktop.core.masks import verdict_words
    from vald_desktop.core.masks.resolve import resolve_mask, save_mask

    film = load_film(args.film)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MaskWarning)
        mask = resolve_mask(film, mask_file=args.mask_file, weights=args.weights, film_path=args.film)
    verdict = mask.verdict()
    for w in caught:
        # A reason of the verdict is said below; the other warnings about the mask are said here.
        if issubclass(w.category, MaskWarning) and str(w.message) not in mask.reasons:
            print(f"warning: {w.message}", file=sys.stderr)
    if (note := verdict_words.sentence(verdict)) is not None:
        print(f"warning: {note}", file=sys.stderr)  # the map would be confined to a doubtful mask: say so
    save_mask(mask, args.out)
    if args.overlay:
        rgb = overlay_rgb(film.display(), mask.left, mask.right)
        write_with(args.overlay, lambda fh: Image.fromarray(rgb, mode="RGB").save(fh, format="PNG"))
    if args.json:
        write_text(args.json, json.dumps(verdict, indent=2, sort_keys=True) + "\n")
    print(f"source: {mask.source}")
    print(f"quality: {mask.quality} ({verdict_words.confidence_text(verdict)})")
    for reason in mask.reasons:
        print(f"  - {reason}")
    print(f"left lung (patient): {mask.left_fraction:.1%} of the film")
    print(f"right lung (patient): {mask.right_fraction:.1%} of the film")
    return 0
