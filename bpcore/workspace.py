"""Scratch arrays that are reused from one call to the next.

A sequence pass needs a few large intermediate arrays that never leave the function (the gate gradients
before the weight-gradient matmul, for example). Allocating them afresh costs more than filling them:
the operating system hands over new memory page by page (measured here: about 0.2 ms per MB, some 5 ms
for one 26 MB array), so :func:`empty` keeps one array per name, shape and dtype and returns it again.

Only for arrays that do not escape the function that asked for them: the next call overwrites them.
Each thread has its own arrays. :func:`clear` gives the memory back. :func:`columns` builds the
feature-major matrices that the sequence functions' all-steps matrix products need.
"""

from __future__ import annotations

import threading

import numpy as np

_local = threading.local()


def empty(name: str, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised array for scratch use, the same one on every call with the same arguments."""
    arrays = getattr(_local, "arrays", None)
    if arrays is None:
        arrays = _local.arrays = {}
    key = (name, tuple(shape), np.dtype(dtype))
    a = arrays.get(key)
    if a is None:
        arrays.pop(next((k for k in arrays if k[0] == name), None), None)   # one size per name: drop the old
        a = arrays[key] = np.empty(shape, dtype)
    return a


def clear() -> None:
    """Drop every scratch array of this thread."""
    _local.arrays = {}


def columns(name: str, parts: list, dtype, *, ones: bool = False) -> np.ndarray:
    """Sequences ``(T, n_i, B)`` stacked feature-major into one scratch matrix ``(Σ n_i [+ 1], T·B)``.

    Column ``(t, b)`` is ``[part_1; part_2; …]`` of example b at step t, with a last row of ones if ``ones``
    (so that one matmul with ``[W b]`` also adds a bias, or one matmul against it also sums a bias gradient).
    This is the layout in which a sum over all steps and examples is a single matrix product.
    """
    T, _, B = parts[0].shape
    rows = sum(q.shape[1] for q in parts) + ones
    Z = empty(name, (rows, T, B), dtype)
    start = 0
    for q in parts:
        Z[start:start + q.shape[1]] = q.transpose(1, 0, 2)
        start += q.shape[1]
    if ones:
        Z[-1] = 1.0
    return Z.reshape(rows, T * B)
