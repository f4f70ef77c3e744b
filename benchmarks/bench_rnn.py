"""Speed of bpcore.rnn: forward + full BPTT of the tanh recurrence, against a naive loop and torch.nn.RNN.

    python benchmarks/bench_rnn.py            # BLAS threads = 2 (set before numpy is imported)

What is timed: ``forward(x, h0, params)`` then ``backward(dh, cache)`` with an upstream gradient at every
step (the recurrent layer only, as torch.nn.RNN), the median of several runs after a warm-up.
FLOPs counted: forward ``2·T·B·n_h·(n_x + n_h)`` (input projection + recurrent product), backward twice
that (gradient of the weights and of the inputs/states), so ``6·T·B·n_h·(n_x + n_h)`` in total; the
elementwise tanh work is not counted.

Precision: bpcore defaults to float64 (so gradient checks reach 1e-10); float32 is accepted and is what
torch uses by default, so both are printed and the torch ratio is taken at equal precision.
The naive loop calls the readable ``step_forward`` / ``step_backward`` once per step (with their input
checks, fresh arrays every step and one small input projection per step).
torch is optional: it is timed only when importable (it is not a requirement of the project).
"""

from __future__ import annotations

import os

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "2")

import numpy as np  # noqa: E402
from timing import best_time, torch_pass  # noqa: E402

from bpcore import rnn  # noqa: E402

SHAPES = [dict(B=32, T=100, n_x=64, n_h=128), dict(B=64, T=200, n_x=128, n_h=256)]


def flops(B, T, n_x, n_h):
    return 6.0 * T * B * n_h * (n_x + n_h)


def problem(B, T, n_x, n_h, dtype):
    rng = np.random.default_rng(0)
    p = rnn.init_params(n_x, n_h, rng, n_z=2, spectral_radius=0.9, dtype=dtype)
    x = rng.standard_normal((T, n_x, B)).astype(dtype)
    h0 = np.zeros((n_h, B), dtype=dtype)
    dh = rng.standard_normal((T, n_h, B)).astype(dtype)
    return p, x, h0, dh


def bpcore_fast(p, x, h0, dh):
    def run():
        _, cache = rnn.forward(p, x, h0=h0)
        return rnn.backward(dh, cache)
    return run


def bpcore_naive(p, x, h0, dh):
    def run():
        caches, h = [], h0
        for t in range(x.shape[0]):
            h, c = rnn.step_forward(p, x[t], h)
            caches.append(c)
        carry = np.zeros_like(h0)
        grads = {k: np.zeros_like(p[k]) for k in rnn.RECURRENT_KEYS}
        for t in reversed(range(x.shape[0])):
            g = rnn.step_backward(dh[t] + carry, caches[t])
            carry = g["h_prev"]
            for k in grads:
                grads[k] += g[k]
        return grads
    return run


def torch_rnn(B, T, n_x, n_h, dtype):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    layer = torch.nn.RNN(n_x, n_h, nonlinearity="tanh").to(tdtype)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(T, B, n_x, generator=g, dtype=tdtype)
    dh = torch.randn(T, B, n_h, generator=g, dtype=tdtype)
    return torch_pass(layer, x, dh)


def main():
    try:
        import torch
        torch_version = torch.__version__
    except ImportError:
        torch_version = None
    print(f"numpy {np.__version__}, BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}, "
          f"torch {torch_version or 'not installed (torch column skipped)'}")
    header = (f"{'shape (B, T, n_x, n_h)':<24} {'dtype':<8} {'bpcore ms':>10} {'GFLOP/s':>8} {'naive ms':>9} "
              f"{'naive/fast':>10} {'torch ms':>9} {'torch/fast':>10}")
    print(header)
    print("-" * len(header))
    for shape in SHAPES:
        for dtype in (np.float64, np.float32):
            args = problem(**shape, dtype=dtype)
            fast = best_time(bpcore_fast(*args))
            naive = best_time(bpcore_naive(*args), repeats=3)
            run_torch = torch_rnn(**shape, dtype=dtype)
            t_torch = best_time(run_torch) if run_torch else None
            label = f"({shape['B']}, {shape['T']}, {shape['n_x']}, {shape['n_h']})"
            torch_cols = (f"{1e3 * t_torch:>9.1f} {t_torch / fast:>9.2f}x" if t_torch
                          else f"{'-':>9} {'-':>10}")
            print(f"{label:<24} {np.dtype(dtype).name:<8} {1e3 * fast:>10.1f} {flops(**shape) / fast / 1e9:>8.1f} "
                  f"{1e3 * naive:>9.1f} {naive / fast:>9.2f}x {torch_cols}")
    print("ratios > 1 mean bpcore's sequence functions are faster")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"1-minute load average {load:.1f} on {os.cpu_count()} CPUs (a shared machine makes every column slower)")


if __name__ == "__main__":
    main()
