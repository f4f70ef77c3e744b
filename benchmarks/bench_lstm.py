"""LSTM forward+backward speed: bpcore.lstm's sequence functions, a naive per-step loop, and torch.nn.LSTM.

    python benchmarks/bench_lstm.py           # float64 (bpcore's default) and float32
    python -m benchmarks                      # this, bench_rnn and the matmul peak in one table

For each shape (batch B, length T, inputs n, hidden p) it prints the best time of a full forward and
backward pass over the sequence, the matmul GFLOP/s that time corresponds to, and ratios:

* bpcore ``forward`` / ``backward``: all input projections in one matmul before the time loop, each weight
  gradient in one matmul after it; only ``W_h h_{t-1}`` and the gate algebra stay in the loop.
* naive: ``step_forward`` / ``step_backward`` called once per step, as the derivation reads (four gate
  matmuls on ``[h_{t-1}; x_t]`` per step forward, eight backward).
* torch.nn.LSTM (CPU, same dtype, same threads), if torch happens to be installed (it is not a
  requirement of the project).

FLOP count (matmuls only, multiply-add = 2): forward ``2·4p(n+p)·B`` per step; backward twice that
(the weight gradient and the gradient of ``[h_{t-1}; x_t]``), so ``T · 3 · 2·4p(n+p)·B`` in total.
"""

from __future__ import annotations

from timing import gathered, set_threads, torch_pass

THREADS = set_threads()

import numpy as np  # noqa: E402

from bpcore import lstm  # noqa: E402

SHAPES = [(32, 100, 64, 128), (64, 200, 128, 256)]  # (batch B, length T, inputs n, hidden p)


def flops(B, T, n, p):
    return T * 3 * 2 * 4 * p * (n + p) * B


def candidates(shape, dtype, *, naive: bool = True, torch=None) -> dict:
    """``{"bpcore": run, "naive": run, "torch": run}`` for one shape and dtype (naive and torch optional)."""
    B, T, n, p = shape
    rng = np.random.default_rng(0)
    params = lstm.init_params(n, p, rng, dtype=dtype)
    x = rng.standard_normal((T, n, B)).astype(dtype)
    dh = rng.standard_normal((T, p, B)).astype(dtype)

    def fast():
        _, cache = lstm.forward(params, x)
        return lstm.backward(dh, cache)

    def slow():
        h, C = np.zeros((p, B), dtype), np.zeros((p, B), dtype)
        caches = []
        for t in range(T):
            (h, C), c = lstm.step_forward(params, x[t], h, C)
            caches.append(c)
        carry_h, carry_C = np.zeros_like(h), np.zeros_like(C)
        total = None
        for t in range(T - 1, -1, -1):
            g = lstm.step_backward((dh[t] + carry_h, carry_C), caches[t])
            carry_h, carry_C = g["h_prev"], g["C_prev"]
            total = g if total is None else {k: total[k] + g[k] for k in lstm.WEIGHTS + lstm.BIASES}
        return total

    def torch_layer(torch, tdtype):
        xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 2, 1)))   # (T, B, n)
        dht = torch.from_numpy(np.ascontiguousarray(dh.transpose(0, 2, 1)))
        return torch_pass(torch.nn.LSTM(n, p).to(tdtype), xt, dht)

    return gathered(fast, slow, naive=naive, torch=torch, dtype=np.dtype(dtype), torch_layer=torch_layer)


def main():
    import sys

    import run_all

    run_all.main(["--models", "LSTM", "--naive", *sys.argv[1:]])  # same options as run_all


if __name__ == "__main__":
    main()
