"""The whole speed table in one run: RNN and LSTM, float64 and float32, bpcore against torch, and the peak.

    python -m benchmarks                  # or: python benchmarks/run_all.py
    python -m benchmarks --naive          # also the naive per-step loops
    python -m benchmarks --rounds 5       # more rounds (best of rounds × runs), for a busy machine

It prints what it runs on (BLAS library, kernel, threads; a warning with the command to use when the
environment forces an OpenBLAS kernel other than the CPU's own, see ``machine.py``), then for every
shape (B, T, n_x, n_h) and cell the ratio torch time / bpcore time (above 1: bpcore is faster), the
times, bpcore's GFLOP/s, and that rate as a fraction of numpy's own matrix-product peak measured in the
same run. Candidates take turns by rounds (``timing.best_times``).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # `python -m benchmarks` and the scripts alike

from timing import best_times, set_threads, torch_module  # noqa: E402

THREADS = set_threads()

import bench_lstm  # noqa: E402
import bench_rnn  # noqa: E402
import machine  # noqa: E402
import numpy as np  # noqa: E402

MODELS = {"RNN": bench_rnn, "LSTM": bench_lstm}
DTYPES = (np.float64, np.float32)
SHAPES = bench_rnn.SHAPES
assert SHAPES == bench_lstm.SHAPES


def measure(models, *, naive: bool, torch, rounds: int, runs: int) -> dict:
    """``{(model, shape, dtype name): {candidate: best seconds}}``."""
    results = {}
    for shape in SHAPES:
        for model in models:
            for dtype in DTYPES:
                fns = MODELS[model].candidates(shape, dtype, naive=naive, torch=torch)
                results[model, shape, np.dtype(dtype).name] = best_times(fns, rounds=rounds, runs=runs)
    return results


def table(results, models, peaks) -> list[str]:
    cells = [(m, np.dtype(d).name) for m in models for d in DTYPES]
    head = "| shape (B, T, n_x, n_h) | " + " | ".join(f"{m} {d.replace('float', 'f')}" for m, d in cells) + " |"
    lines = ["torch time / bpcore time (above 1: bpcore is faster)", "", head,
             "|---" * (len(cells) + 1) + "|"]
    for shape in SHAPES:
        row = []
        for m, d in cells:
            r = results[m, shape, d]
            row.append(f"{r['torch'] / r['bpcore']:.2f}×" if "torch" in r else "-")
        lines.append(f"| {shape} | " + " | ".join(row) + " |")
    lines += ["", f"{'model':<5} {'dtype':<8} {'shape':<20} {'bpcore ms':>10} {'torch ms':>9} {'naive ms':>9} "
                  f"{'bpcore GFLOP/s':>14} {'of peak':>8}"]
    for shape in SHAPES:
        for m, d in cells:
            r = results[m, shape, d]
            rate = MODELS[m].flops(*shape) / r["bpcore"] / 1e9
            ms = {k: f"{1e3 * r[k]:.1f}" if k in r else "-" for k in ("bpcore", "torch", "naive")}
            lines.append(f"{m:<5} {d:<8} {str(shape):<20} {ms['bpcore']:>10} {ms['torch']:>9} {ms['naive']:>9} "
                         f"{rate:>14.1f} {rate / peaks[d]:>7.0%}")
    lines.append("numpy matmul peak (square 1024 and 2048, same run): "
                 + ", ".join(f"{d} {peaks[d]:.0f} GFLOP/s" for d in peaks))
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="RNN,LSTM", help="comma-separated, from RNN, LSTM")
    parser.add_argument("--naive", action="store_true", help="also time the naive per-step loops (slow)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3, help="timed calls per turn")
    args = parser.parse_args(argv)
    models = [m.strip().upper() for m in args.models.split(",")]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        parser.error(f"--models: unknown {unknown}; expected some of {list(MODELS)}")
    torch = torch_module(THREADS)
    for line in machine.describe(THREADS if torch is not None else None):
        print(line)
    if torch is None:
        print("torch not installed: its column is skipped (pip install torch to compare)")
    sys.stdout.flush()
    peaks = {np.dtype(d).name: machine.matmul_peak(d) for d in DTYPES}
    results = measure(models, naive=args.naive, torch=torch, rounds=args.rounds, runs=args.runs)
    peaks = {d: max(peaks[d], machine.matmul_peak(np.dtype(d))) for d in peaks}  # before and after: the better
    print()
    print("\n".join(table(results, models, peaks)))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"1-minute load average at the end {load:.1f}")


if __name__ == "__main__":
    main()
