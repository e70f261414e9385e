"""``vald pacs find | series | get | cache``: search a PACS and fetch series, over DIMSE or DICOMweb.

``find`` prints one study per line (tab-separated: Study Instance UID first, then date, patient ID, name,
accession, modalities, description, series count; ``--json``: one JSON object per line). ``series STUDY_UID`` lists
a study's series the same way. ``get STUDY_UID [--series UID] --out DIR`` retrieves with C-GET (or C-MOVE, see
``--retrieve``) or WADO-RS; a failed or interrupted retrieve leaves nothing in DIR. ``cache`` reports (``--clear``
empties) the app's local cache of opened series. The node is the saved one unless flags name another
(``commands.node_flags``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vald_desktop.commands.node_flags import add_node_arguments, node_from_args


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "pacs",
        help="search a PACS (C-FIND / QIDO-RS) and fetch series (C-GET, C-MOVE / WADO-RS)",
        description="Search the saved PACS node (or the one --to / --dicomweb names) and fetch series.",
    )
    sub = parser.add_subparsers(dest="pacs_command", metavar="ACTION")
    sub.required = True

    find = sub.add_parser("find", help="find studies; one per line, Study Instance UID first")
    find.add_argument("--patient-id", default="", metavar="ID")
    find.add_argument(
        "--patient-name", default="", metavar="NAME", help="a prefix, or a pattern with * and ?"
    )
    find.add_argument(
        "--dates", default="", metavar="FROM-TO", help="YYYYMMDD-YYYYMMDD; either side may be open"
    )
    find.add_argument("--accession", default="", metavar="NUMBER")
    find.add_argument("--modality", default="", metavar="M", help="e.g. CR, DX")
    find.add_argument("--limit", type=int, default=200, help="at most this many studies (default 200)")
    find.add_argument("--json", action="store_true", help="one JSON object per line")
    add_node_arguments(find)
    find.set_defaults(func=run_find)

    series = sub.add_parser("series", help="list the series of a study")
    series.add_argument("study", metavar="STUDY_UID")
    series.add_argument("--json", action="store_true", help="one JSON object per line")
    add_node_arguments(series)
    series.set_defaults(func=run_series)

    get = sub.add_parser("get", help="fetch a study, or one of its series, into a folder")
    get.add_argument("study", metavar="STUDY_UID")
    get.add_argument("--series", default=None, metavar="UID", help="only this series")
    get.add_argument("--out", required=True, type=Path, metavar="DIR", help="where the files go")
    get.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_node_arguments(get, retrieve=True)
    get.set_defaults(func=run_get)

    cache = sub.add_parser("cache", help="show (or --clear) the app's cache of series opened from a PACS")
    cache.add_argument("--clear", action="store_true", help="empty the cache")
    cache.set_defaults(func=run_cache)
    return parser


def run_find(args: argparse.Namespace) -> int:
    from vald_desktop.core.export.remote import find_studies
    from vald_desktop.core.export.remote_types import StudyQuery

    query = StudyQuery.from_form(
        patient_id=args.patient_id,
        patient_name=args.patient_name,
        dates=args.dates,
        accession=args.accession,
        modality=args.modality,
        limit=args.limit,
    )
    for match in find_studies(node_from_args(args), query):
        print(json.dumps(match.to_dict(), sort_keys=True) if args.json else match.line())
    return 0


def run_series(args: argparse.Namespace) -> int:
    from vald_desktop.core.export.remote import find_series

    for s in find_series(node_from_args(args), args.study):
        if args.json:
            print(json.dumps(s.to_dict(), sort_keys=True))
        else:
            count = "" if s.instance_count is None else f"{s.instance_count} images"
            number = "" if s.number is None else str(s.number)
            print("\t".join([s.series_uid, s.modality, number, s.description, count]))
    return 0


def run_get(args: argparse.Namespace) -> int:
    from vald_desktop.core.export.remote import describe, retrieve

    node = node_from_args(args)
    show = not args.quiet and sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show:
            of = f" of {total}" if total else ""
            print(f"\rreceived {done}{of}", end="", file=sys.stderr, flush=True)

    got = retrieve(node, args.study, args.series, args.out, progress)
    if show:
        print(file=sys.stderr)
    if got.failed:
        print(f"warning: {got.failed} objects could not be retrieved from {describe(node)}.", file=sys.stderr)
    for path in got.files:
        print(path)
    return 0


def run_cache(args: argparse.Namespace) -> int:
    from vald_desktop.core.export import pacs_cache

    root = pacs_cache.cache_root()
    if args.clear:
        freed = pacs_cache.clear()
        print(f"cleared the PACS cache in {root} ({freed / 1e6:.1f} MB freed)")
        return 0
    use = pacs_cache.usage()
    limit = pacs_cache.limit_bytes()
    print(f"{root}: {use.series} series, {use.bytes / 1e6:.1f} MB of {limit / 1e6:.0f} MB")
    return 0
