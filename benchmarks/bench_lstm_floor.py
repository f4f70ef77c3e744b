"""How fast bpcore's LSTM pass could be with numpy: its matrix products alone, against the whole pass and torch.

    python benchmarks/bench_lstm_floor.py                 # float32 and float64, both shapes
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_lstm_floor.py   # the CPU's own kernel

``lstm.forward`` + ``lstm.backward`` make exactly these matrix products (``bench_lstm.flops`` counts them):
the input projections of all steps (one batched call), ``W_h h_{t-1}`` at every step forward and
``W_hᵀ δa_t`` at every step backward, the weight gradient over all steps and ``∂E/∂x``. Everything else —
the gate nonlinearities, the cell algebra, the copies into feature-major scratch — is numpy elementwise
work, which runs on one thread. Timing the products alone, on the same arrays and threads, gives the
fastest a numpy LSTM of this design can be; if that floor is already near torch's whole pass (oneDNN's
fused cell, elementwise work on all threads), no rearrangement of the elementwise passes reaches torch.
"""

from __future__ import annotations

import sys

from timing import best_times, set_threads, torch_module

THREADS = set_threads()

import bench_lstm  # noqa: E402
import machine  # noqa: E402
import numpy as np  # noqa: E402


def products_only(shape, dtype):
    """A function making bpcore's LSTM matrix products for ``shape`` = (B, T, n, p), nothing else."""
    B, T, n, p = shape
    r = np.random.default_rng(0)
    W_x1 = r.standard_normal((4 * p, n + 1)).astype(dtype)          # [W_x b], as forward stacks it
    x1 = r.standard_normal((T, n + 1, B)).astype(dtype)
    W_h = r.standard_normal((4 * p, p)).astype(dtype)
    W_hT = np.ascontiguousarray(W_h.T)
    hs = r.standard_normal((T + 1, p, B)).astype(dtype)
    delta_a = r.standard_normal((T, 4 * p, B)).astype(dtype)
    a_cols = r.standard_normal((4 * p, T * B)).astype(dtype)        # δa, feature-major
    Z = r.standard_normal((p + n + 1, T * B)).astype(dtype)         # [h_{t-1}; x_t; 1], feature-major
    recurrent, carry = np.empty((4 * p, B), dtype), np.empty((p, B), dtype)

    def run():
        np.matmul(W_x1, x1)                                          # input projections, all steps
        for t in range(T):
            np.matmul(W_h, hs[t], out=recurrent)                     # forward, step by step
        for t in range(T):
            np.matmul(W_hT, delta_a[t], out=carry)                   # backward, step by step
        a_cols @ Z.T                                                 # weight gradients, all steps
        W_x1[:, :n].T @ a_cols                                       # ∂E/∂x, all steps
    return run


def main(argv=None):
    torch = torch_module(THREADS)
    for line in machine.describe(THREADS if torch is not None else None):
        print(line)
    print(f"\n{'dtype':<8} {'shape (B, T, n, p)':<20} {'bpcore ms':>10} {'products ms':>12} {'torch ms':>9}"
          f"   products / torch")
    for shape in bench_lstm.SHAPES:
        for dtype in (np.float32, np.float64):
            fns = bench_lstm.candidates(shape, dtype, naive=False, torch=torch)
            fns["products"] = products_only(shape, dtype)
            best = best_times(fns, rounds=3, runs=5)
            ms = {k: 1e3 * v for k, v in best.items()}
            ratio = f"{ms['products'] / ms['torch']:.2f}" if "torch" in ms else "-"
            print(f"{np.dtype(dtype).name:<8} {str(shape):<20} {ms['bpcore']:>10.1f} {ms['products']:>12.1f} "
                  f"{ms.get('torch', float('nan')):>9.1f}   {ratio}")
    print("products: bpcore's matrix products alone (its elementwise work left out); torch: its whole pass")


if __name__ == "__main__":
    sys.exit(main())
