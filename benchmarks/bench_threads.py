"""One BLAS thread or all of them, for the lessons' small models (the figures behind ``bpcore/blas.py``).

    python benchmarks/bench_threads.py           # quiet machine
    python benchmarks/bench_threads.py --busy    # with one process spinning beside it (a browser, a class)

Trains lesson 09's two models (tanh RNN and LSTM, 32 hidden units, lag 30, minibatches of 32) for one
epoch of 100 SGD steps with ``optim.train``, once as bpcore does it (a model this small on one thread) and
once with every BLAS thread, and prints the wall time and the CPU time of each (best of rounds).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from timing import set_threads  # noqa: E402

THREADS = set_threads()

import machine  # noqa: E402
import numpy as np  # noqa: E402

from bpcore import blas, data, lstm, optim, rnn  # noqa: E402

LAG, HIDDEN, BATCH, N_TRAIN, SYMBOLS = 30, 32, 32, 3200, 4


def _model(name: str, rng):
    if name == "LSTM":
        return lstm.init_params(SYMBOLS + 1, HIDDEN, rng, forget_bias=3.0, n_z=SYMBOLS), lstm.loss_and_grads
    return rnn.init_params(SYMBOLS + 1, HIDDEN, rng, n_z=SYMBOLS), rnn.loss_and_grads


def one_epoch(name: str) -> tuple[float, float]:
    """Wall and CPU seconds (all threads) of one epoch of training."""
    rng = np.random.default_rng(0)
    x, y = data.delayed_recall(N_TRAIN, LAG, rng, amplitude=5.0)
    params, loss_and_grads = _model(name, rng)
    wall, cpu = time.perf_counter(), time.process_time()
    optim.train(lambda P, xb, yb: loss_and_grads(P, xb, yb)[:2], params, x, y, lr=1.0, epochs=1,
                batch_size=BATCH, rng=rng, clip=1.0)
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(rounds: int) -> dict:
    small = blas.SMALL
    best = {}
    for _ in range(rounds):
        for name in ("RNN", "LSTM"):
            for how, threshold in (("one thread (bpcore)", small), (f"{THREADS} threads", 0)):
                blas.SMALL = threshold  # 0: no model counts as small
                w, c = one_epoch(name)
                key = (name, how)
                best[key] = min(best.get(key, (w, c)), (w, c))
    blas.SMALL = small
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--busy", action="store_true", help="one spinning process beside the benchmark")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print("\n".join(machine.describe()))
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    try:
        best = measure(args.rounds)
    finally:
        if spinner:
            spinner.kill()
    beside = " beside a busy process" if args.busy else ""
    print(f"\none epoch of lesson 09 (lag {LAG}, {N_TRAIN // BATCH} steps){beside}")
    print(f"{'model':<6} {'BLAS threads':<22} {'wall s':>7} {'cpu s':>7}")
    for (name, how), (w, c) in best.items():
        print(f"{name:<6} {how:<22} {w:7.2f} {c:7.2f}")


if __name__ == "__main__":
    main()
