"""Speed of bpcore.rnn: forward + full BPTT of the tanh recurrence, against a naive loop and torch.nn.RNN.

    python benchmarks/bench_rnn.py            # BLAS threads = 2 unless OPENBLAS_NUM_THREADS says otherwise
    python -m benchmarks                      # this, bench_lstm and the matmul peak in one table

What is timed: ``forward(x, h0, params)`` then ``backward(dh, cache)`` with an upstream gradient at every
step (the recurrent layer only, as torch.nn.RNN), best of several runs.
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

from timing import gathered, set_threads, torch_pass

THREADS = set_threads()

import numpy as np  # noqa: E402

from bpcore import rnn  # noqa: E402

SHAPES = [(32, 100, 64, 128), (64, 200, 128, 256)]  # (batch B, length T, inputs n_x, hidden n_h)


def flops(B, T, n_x, n_h):
    return 6.0 * T * B * n_h * (n_x + n_h)


def candidates(shape, dtype, *, naive: bool = True, torch=None) -> dict:
    """``{"bpcore": run, "naive": run, "torch": run}`` for one shape and dtype (naive and torch optional)."""
    B, T, n_x, n_h = shape
    rng = np.random.default_rng(0)
    p = rnn.init_params(n_x, n_h, rng, n_z=2, spectral_radius=0.9, dtype=dtype)
    x = rng.standard_normal((T, n_x, B)).astype(dtype)
    h0 = np.zeros((n_h, B), dtype=dtype)
    dh = rng.standard_normal((T, n_h, B)).astype(dtype)

    def fast():
        _, cache = rnn.forward(p, x, h0=h0)
        return rnn.backward(dh, cache)

    def slow():
        caches, h = [], h0
        for t in range(T):
            h, c = rnn.step_forward(p, x[t], h)
            caches.append(c)
        carry = np.zeros_like(h0)
        grads = {k: np.zeros_like(p[k]) for k in rnn.RECURRENT_KEYS}
        for t in reversed(range(T)):
            g = rnn.step_backward(dh[t] + carry, caches[t])
            carry = g["h_prev"]
            for k in grads:
                grads[k] += g[k]
        return grads

    def torch_layer(torch, tdtype):
        g = torch.Generator().manual_seed(0)
        x_t, dh_t = (torch.randn(T, B, n, generator=g, dtype=tdtype) for n in (n_x, n_h))
        return torch_pass(torch.nn.RNN(n_x, n_h, nonlinearity="tanh").to(tdtype), x_t, dh_t)

    return gathered(fast, slow, naive=naive, torch=torch, dtype=np.dtype(dtype), torch_layer=torch_layer)


def main():
    import sys

    import run_all

    run_all.main(["--models", "RNN", "--naive", *sys.argv[1:]])  # same options as run_all


if __name__ == "__main__":
    main()
