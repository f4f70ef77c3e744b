"""LSTM forward+backward speed: bpcore.lstm's sequence functions, a naive per-step loop, and torch.nn.LSTM.

    python benchmarks/bench_lstm.py            # float64 (bpcore's default) and float32
    python benchmarks/bench_lstm.py --repeat 9

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

import argparse

import numpy as np
from timing import best_time, torch_pass

from bpcore import lstm

SHAPES = [(32, 100, 64, 128), (64, 200, 128, 256)]  # (batch, T, inputs, hidden)


def flops(B, T, n, p):
    return T * 3 * 2 * 4 * p * (n + p) * B


def bpcore_pass(params, x, dh):
    def run():
        _, cache = lstm.forward(params, x)
        lstm.backward(dh, cache)
    return run


def naive_pass(params, x, dh):
    T, _, B = x.shape
    p = params["W_f"].shape[0]

    def run():
        h, C = np.zeros((p, B), x.dtype), np.zeros((p, B), x.dtype)
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
    return run


def torch_lstm(n, p, x, dh, dtype):
    import torch

    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    model = torch.nn.LSTM(n, p).to(torch_dtype)
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 2, 1)))   # (T, B, n)
    dht = torch.from_numpy(np.ascontiguousarray(dh.transpose(0, 2, 1)))
    return torch_pass(model, xt, dht)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dtypes", default="float64,float32")
    args = parser.parse_args(argv)
    try:
        import torch
        have_torch = True
        torch_note = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    except ImportError:
        have_torch = False
        torch_note = "torch not installed: skipped"
    print(f"numpy {np.__version__}; {torch_note}")
    for dtype in (np.dtype(d).type for d in args.dtypes.split(",")):
        for B, T, n, p in SHAPES:
            rng = np.random.default_rng(0)
            params = lstm.init_params(n, p, rng, dtype=dtype)
            x = rng.standard_normal((T, n, B)).astype(dtype)
            dh = rng.standard_normal((T, p, B)).astype(dtype)
            gf = flops(B, T, n, p) / 1e9
            fns = {"bpcore.lstm": bpcore_pass(params, x, dh), "naive per-step": naive_pass(params, x, dh)}
            if have_torch:
                fns["torch.nn.LSTM"] = torch_lstm(n, p, x, dh, dtype)
            rows = {name: best_time(fn, args.repeat) for name, fn in fns.items()}
            print(f"\n{np.dtype(dtype).name}  batch {B}, T {T}, inputs {n}, hidden {p}  ({gf:.2f} GFLOP a pass)")
            for name, sec in rows.items():
                print(f"  {name:<16} {sec * 1e3:9.1f} ms   {gf / sec:7.2f} GFLOP/s")
            base = rows["bpcore.lstm"]
            print(f"  naive / bpcore = {rows['naive per-step'] / base:.2f}x"
                  + (f";  torch / bpcore = {rows['torch.nn.LSTM'] / base:.2f}x (>1: bpcore faster)"
                     if have_torch else ""))


if __name__ == "__main__":
    main()
