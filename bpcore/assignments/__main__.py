"""Command line: ``python -m bpcore.assignments make | grade | merge | check | annotate`` (see ``--help``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from . import ASSIGNMENTS, NOTEBOOKS, MakeRefused, format_problems, lessons, make, nbgrader_meta
from . import __doc__ as DOC
from .grade import format_report, grade_all, submissions


def positive(kind):
    """An argparse type: a number > 0 (a zero or negative limit is a mistake, not 'no limit')."""
    what = "a whole number > 0" if kind is int else "a number > 0"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    parse.__name__ = f"positive {kind.__name__}"
    return parse


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpcore.assignments", description=DOC,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    mk = sub.add_parser("make", help="write the student versions of the lessons")
    mk.add_argument("lessons", nargs="*", type=Path, help="lesson notebooks (default: every one in notebooks/)")
    mk.add_argument("--out", type=Path, default=ASSIGNMENTS, help="folder to write (default: assignments/)")
    gr = sub.add_parser("grade", help="grade a submission, or every notebook in a folder")
    gr.add_argument("target", type=Path, help="a submitted .ipynb or a folder of them")
    gr.add_argument("--json", type=Path, help="also write the full report as JSON here")
    gr.add_argument("--lessons", type=Path, default=NOTEBOOKS, help="instructor versions (default: notebooks/)")
    gr.add_argument("--timeout", type=positive(float), default=60, help="seconds per cell (default 60)")
    gr.add_argument("--total-timeout", type=positive(float), default=600, help="seconds per notebook (default 600)")
    gr.add_argument("--jobs", type=positive(int), default=1, help="submissions graded at once (default 1)")
    gr.add_argument("--sandbox", choices=("auto", "require", "off"), default="auto",
                    help="run each submission in a bubblewrap sandbox: auto (when bwrap works here, the default), "
                         "require (refuse to grade without it), off")
    gr.add_argument("--shard", help="grade only the K-th of N deterministic slices of the folder, e.g. 3/8 "
                                    "(a batch array job; join the shards' JSON with `merge`)")
    mg = sub.add_parser("merge", help="join the JSON reports of shards into one report, gradebook and summary")
    mg.add_argument("shards", nargs="+", type=Path, help="the shards' --json files")
    mg.add_argument("--json", type=Path, required=True, help="the joined report (.csv and .html beside it)")
    ck = sub.add_parser("check", help="report lessons that break the exercise format or whose nbgrader "
                        "metadata disagrees with it")
    ck.add_argument("lessons", nargs="*", type=Path)
    an = sub.add_parser("annotate", help="write nbgrader cell metadata into the lessons, from the exercise format")
    an.add_argument("lessons", nargs="*", type=Path, help="lesson notebooks (default: every one in notebooks/)")
    args = parser.parse_args(argv)

    if args.command == "make":
        return _make(args)
    if args.command == "check":
        bad = 0
        for path in args.lessons or lessons():
            problems = format_problems(path) or nbgrader_meta.problems(nbformat.read(path, as_version=4))
            bad += bool(problems)
            print(f"{path.name}: " + ("ok" if not problems else "\n  " + "\n  ".join(problems)))
        return 1 if bad else 0
    if args.command == "annotate":
        results = nbgrader_meta.annotate(args.lessons or None)
        for path, what in results:
            print(f"{path.name}: {what}")
        return 1 if any(what not in ("written", "unchanged") for _, what in results) else 0
    if args.command == "merge":
        return _merge(args)
    return _grade(args)


def _merge(args) -> int:
    from .summary import merge, write_all

    try:
        reports = merge(args.shards)
    except (OSError, ValueError, KeyError) as e:
        print(f"merge: {e}", file=sys.stderr)
        return 2
    for path in write_all(args.json, reports):
        print(path)
    return 0


class _Progress:
    """graded / total and time left, on one line of a terminal; nothing when stderr is a log file."""

    def __init__(self, total: int):
        import time

        self.total, self.done, self.start, self.clock = total, 0, time.monotonic(), time.monotonic
        self.tty = sys.stderr.isatty()

    def __call__(self, report) -> None:
        print(format_report(report) + "\n", flush=True)
        self.done += 1
        if self.tty:
            spent = self.clock() - self.start
            left = spent / self.done * (self.total - self.done)
            end = "\n" if self.done == self.total else ""
            print(f"\rgraded {self.done} / {self.total}, about {left / 60:.1f} min left ", end=end, file=sys.stderr,
                  flush=True)


def _make(args) -> int:
    try:
        written = make(args.out, args.lessons or None)
    except MakeRefused as e:
        print(f"make refused: {e}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


def _grade(args) -> int:
    from . import sandbox
    from .summary import parse_shard, shard, write_all

    paths = submissions(args.target)
    if args.shard:
        try:
            parse_shard(args.shard)
        except ValueError as e:
            print(e, file=sys.stderr)
            return 2
        paths = shard(paths, args.shard)
    if not paths and not args.shard:
        print(f"no notebooks at {args.target}", file=sys.stderr)
        return 2
    if args.sandbox != "off" and sandbox.bwrap() is None:
        if args.sandbox == "require":
            print("--sandbox require: bubblewrap (bwrap) is missing or does not work here", file=sys.stderr)
            return 2
        print("WARNING: bubblewrap (bwrap) is missing or does not work here: submissions are NOT sandboxed "
              "(each still runs in its own process, and the tests never enter it)", file=sys.stderr)
    reports = grade_all(paths, args.lessons, timeout=args.timeout, total=args.total_timeout, jobs=args.jobs,
                        sandboxed=None if args.sandbox != "off" else False,
                        on_report=_Progress(len(paths)))
    if len(reports) > 1:
        print("Summary")
        for r in reports:
            flag = "  SUSPECTED TAMPERING" if r.get("suspected_tampering") else ""
            print(f"  {Path(r['submission']).name:<40} {r['lesson'] or '?':<32} {r['score']:>5g} / "
                  f"{r['max_score']:g}{flag}")
    if args.json:
        write_all(args.json, reports, shard=args.shard)
    return 0

if __name__ == "__main__":
    sys.exit(main())
