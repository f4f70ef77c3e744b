"""Input checks shared by every public function of bpcore.

A wrong input must fail at the door with a message that names the argument, what was expected and
what arrived, instead of surfacing later as a broadcasting error deep in a backward pass or as a
silent NaN in a plot.

Shapes are written as tuples whose entries are ints (an exact size), strings (a named size that must
agree across arguments, such as ``"B"`` for the batch) or ``None`` (anything)::

    dims = {}
    x = check_array("x", x, ("T", "n", "B"), dims)
    h0 = check_array("h0", h0, ("m", "B"), dims)   # its B must equal x's B
"""

from __future__ import annotations

import numpy as np

FLOAT_DTYPES = (np.float64, np.float32)


def _fmt(shape) -> str:
    return "(" + ", ".join("*" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def check_array(name: str, value, shape=None, dims: dict | None = None, *, finite: bool = True,
                dtype=None) -> np.ndarray:
    """Return ``value`` as an ndarray after checking its shape, named dimensions and values.

    Raises ``ValueError`` naming ``name`` with expected and actual shape, or where NaN/inf sits.
    ``dims`` collects the sizes bound to named dimensions so later arguments must agree with them.
    """
    arr = np.asarray(value)
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"argument '{name}': expected a numeric array, got dtype {arr.dtype}")
    if shape is not None:
        _check_shape(name, arr.shape, tuple(shape), dims if dims is not None else {})
    if finite and np.issubdtype(arr.dtype, np.inexact) and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))
        where = tuple(int(i) for i in bad[0])
        raise ValueError(f"argument '{name}': contains {len(bad)} NaN or inf value(s), "
                         f"first at index {where} ({arr[where]!r})")
    return arr


def _check_shape(name, actual, expected, dims):
    if len(actual) != len(expected):
        raise ValueError(f"argument '{name}': expected shape {_fmt(expected)} ({len(expected)}-d), "
                         f"got {actual} ({len(actual)}-d)")
    for axis, (got, want) in enumerate(zip(actual, expected)):
        if want is None:
            continue
        if isinstance(want, str):
            bound = dims.setdefault(want, got)
            if bound != got:
                raise ValueError(f"argument '{name}': axis {axis} ('{want}') has size {got}, but "
                                 f"'{want}' = {bound} from an earlier argument "
                                 f"(expected shape {_fmt(expected)} with {want}={bound}, got {actual})")
        elif got != want:
            raise ValueError(f"argument '{name}': expected shape {_fmt(expected)}, got {actual}")


def check_params(params: dict, shapes: dict, dims: dict | None = None, *, where: str = "params") -> dict:
    """Check a parameter dict against ``{key: shape}``: missing keys, shapes, finiteness."""
    dims = {} if dims is None else dims
    missing = [k for k in shapes if k not in params]
    if missing:
        raise ValueError(f"argument '{where}': missing key(s) {missing}; expected keys {list(shapes)}")
    return {k: check_array(f"{where}['{k}']", params[k], shapes[k], dims) for k in shapes}


def check_scalar(name: str, value, *, low=None, high=None, low_open=False, high_open=False,
                 integer=False):
    """Check a scalar setting lies in its interval, e.g. ``check_scalar("pi", p, low=0, high=1, low_open=True)``."""
    if integer:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"argument '{name}': expected an integer, got {value!r}")
    elif not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
        raise ValueError(f"argument '{name}': expected a number, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"argument '{name}': expected a finite number, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        left = "(" if low_open or low is None else "["
        right = ")" if high_open or high is None else "]"
        interval = f"{left}{lo}, {hi}{right}"
        raise ValueError(f"argument '{name}': expected a value in {interval}, got {value!r}")
    return value
