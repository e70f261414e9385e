"""``vald models calibrate``: measure a model on its own training films and write its domain calibration.

``vald train`` does this for the models it exports; this command does it for a model folder that has none (or
after its training data changed). It writes ``vald-domain.json`` and, when the folder has a manifest, rewrites the
manifest so it covers the new file (after checking every listed file first).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_calibrate_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from vald_desktop.core.engine.domain_features import CALIBRATION_FILMS

    c = sub.add_parser(
        "calibrate",
        help="write a model's domain calibration (vald-domain.json) from its training films",
        description="Measures the model's VAE round-trip and denoising errors on training films (spread evenly "
        "over the data given) and writes what later runs compare a film with.",
    )
    c.add_argument("dir", help="model folder")
    c.add_argument(
        "data", nargs="+", help="the model's training data: labels.csv / train.csv, or a folder of films"
    )
    c.add_argument(
        "--films", type=int, default=CALIBRATION_FILMS, help=f"films to measure (default {CALIBRATION_FILMS})"
    )
    c.add_argument("--device", default=None, help="auto, cpu, cuda or mps (default auto)")
    c.set_defaults(func=_calibrate)


def _calibrate(args: argparse.Namespace) -> int:
    from vald_desktop.core.base.errors import DataError
    from vald_desktop.core.engine.domain import write_calibration
    from vald_desktop.core.engine.domain_features import calibrate_files
    from vald_desktop.core.engine.sampler import Engine

    if args.films < 8:
        raise DataError("A domain calibration needs at least 8 films (--films 8 or more).")
    paths = training_films([Path(d) for d in args.data])
    engine = Engine(args.dir, args.device)
    engine.load()  # checks the folder and its manifest before any film is read
    source = "training films of " + ", ".join(_name(Path(d)) for d in args.data)
    calibration = calibrate_files(engine, paths, source, args.films)
    path = write_calibration(args.dir, calibration)
    print(
        json.dumps({"calibration": str(path), "films": calibration.films, "threshold": calibration.threshold})
    )
    return 0


def training_films(sources: list[Path]) -> list[Path]:
    """The image files of training data: a CSV (``image`` / ``path`` column, relative to it) or a folder."""
    import csv

    from vald_desktop.core.base.errors import DataError
    from vald_desktop.core.films.filelist import list_films

    out: list[Path] = []
    for source in sources:
        table = source / "labels.csv" if source.is_dir() and (source / "labels.csv").is_file() else source
        if table.is_file():
            with open(table, newline="", encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    name = row.get("image") or row.get("path")
                    if name:
                        out.append(table.parent / name)
        elif source.is_dir():
            out.extend(list_films(source))
        else:
            raise DataError(f"The training data {source} does not exist.")
    if not out:
        raise DataError("The training data names no films.")
    return out


def _name(source: Path) -> str:
    # "labels.csv" alone says nothing: the folder holding it names the data set.
    return f"{source.parent.name}/{source.name}" if source.is_file() else source.name
