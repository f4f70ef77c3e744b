"""Speed of the sandboxed grader: N copies of lessons graded with ``--jobs 2``, seconds per submission.

    python benchmarks/bench_grade.py                 # 12 submissions: lessons 03 and 06, 6 copies each
    python benchmarks/bench_grade.py --copies 100    # a class of 200
    python benchmarks/bench_grade.py --no-sandbox    # the same without bubblewrap (process separation only)

Each copy is the instructor lesson itself (a submission that solves everything), so every exercise's
tests run through the proxies. What a submission costs: starting two kernels (the student's, sandboxed,
and the grader's trusted one), running the student's notebook in one and the instructor lesson in the
other, and one round trip per call of a graded function. The goal of issue 14: a class of 200 in under
10 minutes on 2 cores, i.e. under 6 s per submission with 2 jobs. The load of the machine is printed
beside the figure (figures on a shared machine are noisy).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from bpcore.assignments import NOTEBOOKS
from bpcore.assignments.grade import grade_all
from bpcore.assignments.sandbox import bwrap


def load() -> str:
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"
    except OSError:
        return "load unknown"


def _cpu() -> float:
    """User + system CPU seconds of this process and of every finished descendant (workers, kernels)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=6, help="copies of each lesson (default 6)")
    parser.add_argument("--lessons", nargs="*", default=["03_mlp_backprop", "06_bptt_rnn"])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-sandbox", action="store_true")
    args = parser.parse_args()
    sandboxed = False if args.no_sandbox else None
    if sandboxed is None and bwrap() is None:
        print("bubblewrap is not usable here: grading WITHOUT a sandbox")
    folder = Path(tempfile.mkdtemp(prefix="bench-grade-"))
    try:
        for stem in args.lessons:
            for i in range(args.copies):
                shutil.copy(NOTEBOOKS / f"{stem}.ipynb", folder / f"{stem}__{i:03d}.ipynb")
        paths = sorted(folder.glob("*.ipynb"))
        print(f"before: {load()}")
        start, cpu0 = time.perf_counter(), _cpu()
        reports = grade_all(paths, NOTEBOOKS, jobs=args.jobs, sandboxed=sandboxed)
        seconds, cpu = time.perf_counter() - start, _cpu() - cpu0
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    full = sum(r["score"] == r["max_score"] > 0 for r in reports)
    mode = "sandboxed (bubblewrap)" if reports and reports[0]["sandbox"].get("sandboxed") else "NOT sandboxed"
    print(f"{len(reports)} submissions ({', '.join(args.lessons)}), {mode}, --jobs {args.jobs}: {seconds:.1f} s, "
          f"{seconds / len(reports):.2f} s per submission; {full} / {len(reports)} with full marks")
    print(f"CPU time (grader, workers, kernels): {cpu / len(reports):.2f} s per submission, i.e. "
          f"{cpu / len(reports) / args.jobs:.2f} s per submission with {args.jobs} jobs on {args.jobs} idle cores "
          "(less sensitive to the machine's load than the wall time)")
    print(f"after: {load()}")
    print(f"a class of 200 at this rate: {200 * seconds / len(reports) / 60:.1f} min")


if __name__ == "__main__":
    main()
