"""What the benchmark scripts share: how candidates are timed, torch as an optional candidate, the threads.

    from timing import best_times, torch_pass
"""

from __future__ import annotations

import os
import time

THREADS_DEFAULT = "2"  # BLAS threads unless the environment says otherwise (set before numpy is imported)


def set_threads() -> int:
    """BLAS/OpenMP threads for this run: the environment's ``OPENBLAS_NUM_THREADS``, else 2 (the CI machine's
    cores). Call before numpy is imported; torch gets the same number (:func:`torch_module`)."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, os.environ.get("OPENBLAS_NUM_THREADS", THREADS_DEFAULT))
    return int(os.environ["OPENBLAS_NUM_THREADS"])


def torch_module(threads: int):
    """torch set to ``threads`` threads, or None when it is not installed (it is not a requirement)."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


def best_times(candidates: dict, rounds: int = 3, runs: int = 3, pause: float = 0.5) -> dict:
    """Best time in seconds of each candidate (a function of no arguments), over ``rounds`` × ``runs`` calls.

    The candidates take turns by rounds (A's runs, B's runs, A's runs, …), so a change in the machine's load
    during the measurement reaches all of them, and the minimum is each one's least disturbed run. Every
    turn starts with ``pause`` seconds idle and one untimed call: torch's OpenMP threads (and OpenBLAS's)
    keep spinning for a while after their last call, and a candidate timed call by call right after the
    other shares the CPU with them (that made bpcore look up to twice as fast as it is).
    """
    best = {name: float("inf") for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            time.sleep(pause)
            fn()
            for _ in range(runs):
                start = time.perf_counter()
                fn()
                best[name] = min(best[name], time.perf_counter() - start)
    return best


def gathered(fast, slow, *, naive: bool, torch, dtype, torch_layer) -> dict:
    """``{"bpcore": fast, "naive": slow, "torch": ...}``: the naive loop if asked for, torch if installed
    (``torch_layer(torch, torch_dtype)`` builds its pass, see :func:`torch_pass`)."""
    out = {"bpcore": fast}
    if naive:
        out["naive"] = slow
    if torch is not None:
        out["torch"] = torch_layer(torch, torch.float64 if str(dtype).endswith("64") else torch.float32)
    return out


def torch_pass(layer, x, dh):
    """One forward and backward pass of a torch recurrent ``layer`` on ``x`` (T, B, n) with upstream gradient
    ``dh`` on every output; ``x`` requires grad, so torch also computes ∂E/∂x, as bpcore does."""
    x.requires_grad_(True)

    def run():
        layer.zero_grad(set_to_none=True)
        x.grad = None
        out, _ = layer(x)
        out.backward(dh)
    return run
