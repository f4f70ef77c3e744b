"""Lesson 09's training in its CI setting, outside Jupyter: the 16 runs of its ``run(model, lag)``.

    python benchmarks/bench_lesson09.py              # best of 3 rounds
    python benchmarks/bench_lesson09.py --rounds 5   # a busy machine wants more

Executes the lesson's set-up cells (imports, data, settings, ``run``; its ``%matplotlib`` line dropped)
from the notebook itself, then the 16 calls that cells 9-22 make (lags 5, 10, 30 for both models; seeds 1
and 2 at lag 30; the RNN at lag 10 for seeds 1, 2 and unclipped for 0, 1, 2; the LSTM truncated to k = 10),
and prints the best wall and CPU time of each run over the rounds and of all 16 together (a round's sum).
The training is most of ``python -m bpcore.nbtools run notebooks/09_long_range_memory.ipynb``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import machine  # noqa: E402

NOTEBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "notebooks", "09_long_range_memory.ipynb")
SETUP_CELLS = ("import numpy as np", "AMPLITUDE, N_SYMBOLS", "CLASS_RUN = False", "progress = None")
RUNS = ([(m, lag, {}) for lag in (5, 10, 30) for m in ("tanh RNN", "LSTM")]                       # cell 9
        + [(m, 30, {"seed": s}) for s in (1, 2) for m in ("tanh RNN", "LSTM")]                   # cell 11
        + [("tanh RNN", 10, {"seed": s}) for s in (1, 2)]                                         # cell 13
        + [("tanh RNN", 10, {"clip": None, "seed": s}) for s in (0, 1, 2)]                        # cell 20
        + [("LSTM", 30, {"truncate": 10})])                                                       # cell 22


def lesson_run():
    """The lesson's ``run`` function, made by its own set-up cells (found by how they begin)."""
    with open(NOTEBOOK, encoding="utf-8") as f:
        cells = ["".join(c["source"]) for c in json.load(f)["cells"] if c["cell_type"] == "code"]
    cells = ["\n".join(line for line in c.splitlines() if not line.startswith("%")) for c in cells]
    namespace = {}
    for start in SETUP_CELLS:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(next(c for c in cells if c.startswith(start)), namespace)  # the lesson's own cells
    return namespace["run"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("\n".join(machine.describe()))
    run = lesson_run()
    best, totals = {}, []
    for _ in range(args.rounds):
        total = [0.0, 0.0]
        for model, lag, kw in RUNS:
            wall, cpu = time.perf_counter(), time.process_time()
            run(model, lag, **kw)
            t = (time.perf_counter() - wall, time.process_time() - cpu)
            key = f"{model} lag {lag} {kw or ''}"
            best[key] = min(best.get(key, t), t)
            total = [total[0] + t[0], total[1] + t[1]]
        totals.append(tuple(total))
    for key, (wall, cpu) in best.items():
        print(f"  {key:<42} {wall:6.3f} s wall  {cpu:6.3f} s CPU")
    wall, cpu = min(totals)
    print(f"all {len(RUNS)} runs, best round of {args.rounds}: {wall:.2f} s wall, {cpu:.2f} s CPU")


if __name__ == "__main__":
    main()
