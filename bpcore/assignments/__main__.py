"""Command line: ``python -m bpcore.assignments make | grade | check | annotate`` (see ``--help``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from . import ASSIGNMENTS, NOTEBOOKS, dumps_report, format_problems, lessons, make, nbgrader_meta
from . import __doc__ as DOC
from .grade import format_report, grade_all, submissions


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
    gr.add_argument("--timeout", type=float, default=60, help="seconds per cell (default 60)")
    gr.add_argument("--total-timeout", type=float, default=600, help="seconds per notebook (default 600)")
    gr.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    ck = sub.add_parser("check", help="report lessons that break the exercise format or whose nbgrader "
                        "metadata disagrees with it")
    ck.add_argument("lessons", nargs="*", type=Path)
    an = sub.add_parser("annotate", help="write nbgrader cell metadata into the lessons, from the exercise format")
    an.add_argument("lessons", nargs="*", type=Path, help="lesson notebooks (default: every one in notebooks/)")
    args = parser.parse_args(argv)

    if args.command == "make":
        for path in make(args.out, args.lessons or None):
            print(path)
        return 0
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
    paths = submissions(args.target)
    if not paths:
        print(f"no notebooks at {args.target}", file=sys.stderr)
        return 2
    reports = grade_all(paths, args.lessons, timeout=args.timeout, total=args.total_timeout, jobs=args.jobs,
                        on_report=lambda r: print(format_report(r) + "\n", flush=True))
    if len(reports) > 1:
        print("Summary")
        for r in reports:
            print(f"  {Path(r['submission']).name:<40} {r['lesson'] or '?':<32} {r['score']:>5g} / {r['max_score']:g}")
    if args.json:
        args.json.write_text(dumps_report(reports) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
