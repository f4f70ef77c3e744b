"""One BLAS thread for small models.

OpenBLAS shares every matrix product above about 2.6·10^5 multiply-adds among all its threads. A lesson's
model is small: its largest product (a weight gradient summed over all T·B columns of a minibatch) takes
tens of microseconds, less than waking a second thread costs, and on a busy machine (a browser beside the
kernel, a class on one server, CI) the woken thread waits for a core while the product waits for it.
Lesson 09's training, on 2 cores with one other job running: 21.9 s wall and 28 s of CPU with 2 threads,
11.2 s and 11 s with one; an epoch beside one spinning process 0.47 s against 0.15 s for the RNN
(``benchmarks/bench_threads.py --busy``); on a quiet machine the wall times are level. So a computation whose work is
small runs on one thread; a large one keeps them all. An explorer's update too runs on one thread: a
second one would only spin (OpenBLAS's idle workers poll for ~0.1 s after each job) on the core that the
browser and the Jupyter server need.

Without ``threadpoolctl`` (or with a BLAS it does not know) nothing changes.
"""

from __future__ import annotations

import contextlib
import functools

SMALL = 1 << 24  # multiply-adds of one forward pass below which one thread wins (about 1 ms of work)


@functools.lru_cache(maxsize=1)
def _controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def forward_work(params: dict, columns: int) -> int:
    """Multiply-adds of one forward pass, about: every weight meets every column once."""
    weights = sum(int(getattr(v, "size", 0)) for v in params.values())
    return weights * int(columns)


def one_thread():
    """A context in which BLAS runs on one thread (an explorer's update: small by design)."""
    controller = _controller()
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


def one_thread_if_small(work: int):
    """A context in which BLAS runs on one thread when ``work`` (multiply-adds) is below :data:`SMALL`."""
    return one_thread() if work < SMALL else contextlib.nullcontext()
