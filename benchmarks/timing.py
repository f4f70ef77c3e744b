"""What both benchmark scripts share: how a candidate is timed, and a torch recurrent layer as a candidate."""

from __future__ import annotations

import time


def best_time(fn, repeats: int = 7, pause: float = 1.0) -> float:
    """Best of ``repeats`` back-to-back runs after a warm-up, in seconds: the minimum is the least disturbed.

    Before the warm-up the benchmark idles for ``pause`` seconds: torch's OpenMP threads keep spinning for a
    while after its last call, and a candidate timed during that time shares the CPU with them. Timing the
    candidates call by call in turn did exactly that, and made bpcore look up to twice as fast as it is.
    """
    time.sleep(pause)
    fn()  # warm-up: allocations, BLAS thread start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


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
