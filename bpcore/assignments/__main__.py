"""Command line: ``python -m bpcore.assignments make | grade | check`` (see ``--help``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import ASSIGNMENTS, NOTEBOOKS, MakeRefused, format_problems, lessons, make
from . import __doc__ as DOC
from .grade import format_report, grade_all, submissions, write_json


def positive(kind):
    """An argparse type: a number > 0 (a zero or negative limit is a mistake, not 'no limit')."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__} > 0, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__} > 0, got {text!r}")
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
    ck = sub.add_parser("check", help="report lessons that break the exercise format")
    ck.add_argument("lessons", nargs="*", type=Path)
    args = parser.parse_args(argv)

    if args.command == "make":
        return _make(args)
    if args.command == "check":
        bad = 0
        for path in args.lessons or lessons():
            problems = format_problems(path)
            bad += bool(problems)
            print(f"{path.name}: " + ("ok" if not problems else "\n  " + "\n  ".join(problems)))
        return 1 if bad else 0
    return _grade(args)


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

    paths = submissions(args.target)
    if not paths:
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
                        on_report=lambda r: print(format_report(r) + "\n", flush=True))
    if len(reports) > 1:
        print("Summary")
        for r in reports:
            flag = "  SUSPECTED TAMPERING" if r.get("suspected_tampering") else ""
            print(f"  {Path(r['submission']).name:<40} {r['lesson'] or '?':<32} {r['score']:>5g} / "
                  f"{r['max_score']:g}{flag}")
    if args.json:
        write_json(args.json, reports)
    return 0

if __name__ == "__main__":
    sys.exit(main())
