"""Input checks shared by every public function of bpcore: one helper per rule.

A wrong input must fail at the door with a message that names the argument, what was expected and
what arrived, instead of surfacing later as a broadcasting error deep in a backward pass or as a
silent NaN in a plot.

Shapes are written as tuples whose entries are ints (an exact size), strings (a named size that must
agree across arguments, such as ``"B"`` for the batch) or ``None`` (anything)::

    dims = {}
    x = check_array("x", x, ("T", "n", "B"), dims)
    h0 = check_array("h0", h0, ("m", "B"), dims)   # its B must equal x's B

The rules, each one helper:

* values (:func:`check_array`): real numbers only. Integers are converted exactly to float64; bool,
  complex, object and text arrays raise :class:`ArgumentTypeError`; NaN and inf raise ``ValueError``.
* parameters (:func:`check_params`, :func:`check_parameter`): float32 or float64 arrays; a model computes in their dtype
  (:func:`params_dtype`), casts its inputs to it, and returns every gradient in it.
* settings (:func:`check_scalar`), dtypes (:func:`check_float_dtype`), generators (:func:`check_rng`),
  non-empty axes (:func:`check_nonempty`), dicts (:func:`check_dict`).
"""

from __future__ import annotations

import numpy as np

FLOAT_DTYPES = (np.float64, np.float32)


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type or dtype. A TypeError, and a ValueError for callers that catch those."""


def _fmt(shape) -> str:
    return "(" + ", ".join("*" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def check_array(name: str, value, shape=None, dims: dict | None = None, *, finite: bool = True,
                integer: bool = False) -> np.ndarray:
    """Return ``value`` as a real ndarray after checking its dtype, shape, named dimensions and values.

    Raises :class:`ArgumentTypeError` for bool, complex, object or text data; integers become float64
    unless ``integer`` (labels, indices: then integers are kept and floats refused). Raises
    ``ValueError`` naming ``name`` with expected and actual shape, or where NaN/inf sits.
    ``dims`` collects the sizes bound to named dimensions so later arguments must agree with them.
    """
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as e:      # ragged nested lists
        raise ArgumentTypeError(f"argument '{name}': expected an array of numbers ({e})") from None
    kind = arr.dtype.kind
    if integer:
        if kind not in "iu":
            raise ArgumentTypeError(f"argument '{name}': expected integers, got dtype {arr.dtype}")
    elif kind in "iu":
        arr = arr.astype(np.float64)
    elif kind != "f":
        what = {"b": "bool", "c": "complex"}.get(kind, "non-numeric")
        raise ArgumentTypeError(f"argument '{name}': expected real numbers (a float array), got {what} "
                                f"dtype {arr.dtype}")
    if shape is not None:
        _check_shape(name, arr.shape, tuple(shape), dims if dims is not None else {})
    if finite and kind == "f" and not _all_finite(arr):
        bad = np.argwhere(~np.isfinite(arr))
        where = tuple(int(i) for i in bad[0])
        raise ValueError(f"argument '{name}': contains {len(bad)} NaN or inf value(s), "
                         f"first at index {where} ({arr[where]!r})")
    return arr


def _all_finite(arr: np.ndarray) -> bool:
    """Whether every entry is finite: ``np.all(np.isfinite(arr))`` without its Python wrapper, which costs
    more than the test itself on the small arrays a training step checks dozens of times."""
    return bool(np.logical_and.reduce(np.isfinite(arr), axis=None))


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


def check_nonempty(name: str, arr: np.ndarray, axis: int, what: str) -> np.ndarray:
    """Refuse a zero-length axis, e.g. ``check_nonempty("x", x, -1, "examples (the batch B)")``."""
    if arr.shape[axis] < 1:
        raise ValueError(f"argument '{name}': expected at least one of its {what}, got shape {arr.shape}")
    return arr


def check_dict(name: str, value, *, nonempty: bool = False) -> dict:
    """A dict (of arrays, usually); ``nonempty`` refuses ``{}`` (a check of nothing would pass)."""
    if not isinstance(value, dict):
        raise ArgumentTypeError(f"argument '{name}': expected a dict of arrays, got {type(value).__name__}")
    if nonempty and not value:
        raise ValueError(f"argument '{name}': expected at least one entry, got an empty dict")
    return value


def check_float_dtype(name: str, dtype):
    """A parameter dtype: float64 or float32 (float16 is too coarse for training, ints truncate weights)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.type not in FLOAT_DTYPES:
        raise ArgumentTypeError(f"argument '{name}': expected float64 or float32, got {dtype!r}")
    return dt


def check_params(params: dict, shapes: dict, dims: dict | None = None, *, where: str = "params") -> dict:
    """Check a parameter dict against ``{key: shape}``: missing keys, float32/float64, shapes, finiteness."""
    dims = {} if dims is None else dims
    check_dict(where, params)
    missing = [k for k in shapes if k not in params]
    if missing:
        raise ValueError(f"argument '{where}': missing key(s) {missing}; expected keys {list(shapes)}")
    return {k: check_parameter(f"{where}['{k}']", params[k], shape, dims) for k, shape in shapes.items()}


def check_parameter(name: str, value, shape=None, dims: dict | None = None) -> np.ndarray:
    """A trainable array: float64 or float32 (an int array would truncate every update), then as check_array."""
    dt = getattr(value, "dtype", None)
    if dt is None or dt.type not in FLOAT_DTYPES:
        raise ArgumentTypeError(f"argument '{name}': expected a float64 or float32 array, "
                                f"got {type(value).__name__} of dtype {dt}")
    return check_array(name, value, shape, dims)


def linalg_float(a: np.ndarray) -> np.ndarray:
    """A checked array as numpy's linalg takes it: float16 as float32 (linalg has no float16 kernels)."""
    return a.astype(np.float32) if a.dtype == np.float16 else a


def params_dtype(params: dict) -> np.dtype:
    """The dtype a model computes in: that of its (checked) parameters, float64 if they are mixed."""
    return np.result_type(*params.values())


def check_rng(rng, name: str = "rng") -> np.random.Generator:
    """An explicit ``np.random.Generator``: the only source of randomness bpcore uses."""
    if not isinstance(rng, np.random.Generator):
        raise ArgumentTypeError(f"argument '{name}': expected a numpy.random.Generator "
                                f"(np.random.default_rng(seed)), got {type(rng).__name__}")
    return rng


def check_scalar(name: str, value, *, low=None, high=None, low_open=False, high_open=False,
                 integer=False):
    """Check a scalar setting lies in its interval, e.g. ``check_scalar("pi", p, low=0, high=1, low_open=True)``."""
    if integer:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ArgumentTypeError(f"argument '{name}': expected an integer, got {value!r}")
    elif not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"argument '{name}': expected a real number, got {value!r}")
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
