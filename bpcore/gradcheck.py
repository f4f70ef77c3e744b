"""Gradient checking: analytic gradients against centered finite differences.

Every backward function in bpcore, and every derivation in the lessons, is checked with this module.

Numerical derivative. For one entry ``θ_i`` we use the fourth-order centered difference

    ∂f/∂θ_i ≈ [8 (f(θ+h e_i) - f(θ-h e_i)) - (f(θ+2h e_i) - f(θ-2h e_i))] / (12 h),

whose truncation error is O(h⁴) instead of the O(h²) of the two-point rule. That lets ``h`` be large
enough (1e-4) that round-off stays near 1e-12 relative, so float64 checks reach about 1e-10.

Relative error. Per entry, ``|a - n| / max(|a| + |n|, floor)``. The floor is a fraction
(``floor_rel``) of the parameter's largest ``|a| + |n|``: an entry a thousand times smaller than the
largest one is judged against the same absolute round-off, instead of dividing noise by nearly zero.

Kinks. relu at 0 or max at a tie has no derivative there, and a finite difference that straddles the
kink averages the two one-sided slopes. We detect that from the function alone: for a smooth function
the second differences over ``±h`` and ``±2h`` agree; across a kink they differ by about the slope
jump over ``h``. Such entries are reported as kinks and left out of the verdict, not failed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from bpcore.validate import ArgumentTypeError, check_array, check_dict, check_rng, check_scalar


class GradcheckError(AssertionError):
    """Raised by :meth:`GradReport.assert_ok`; its message is the full report."""


class PrecisionWarning(UserWarning):
    """Gradient checks below float64 cannot reach tight thresholds."""


def _as_dict(params):
    check_dict("params", params, nonempty=True)   # a check of nothing must not pass
    out = {}
    for k, v in params.items():
        arr = check_array(f"params['{k}']", v)   # integers become float64; NaN/inf is the caller's point, not f's
        if arr.dtype == np.float16:
            raise ArgumentTypeError(f"argument 'params['{k}']': expected float64 (or float32), got float16, whose "
                                    "spacing (1e-3 near 1) swallows a finite-difference step")
        if arr.dtype != np.float64:
            warnings.warn(f"gradient check of '{k}' in {arr.dtype}: use float64 for thresholds "
                          "below 1e-4", PrecisionWarning, stacklevel=3)
        out[k] = np.array(arr, copy=True, order="C")  # perturbed in place; the caller's stays intact
    return out


def _scalar(f, params):
    value = f(params)
    value = np.asarray(value)
    if value.size != 1:
        raise ValueError(f"the function under check must return a scalar, got shape {value.shape}")
    value = float(value.reshape(()))
    if not np.isfinite(value):
        raise ValueError(f"the function under check returned {value} at the checked point")
    return value


def numerical_gradient(f, params: dict, *, step: float = 1e-4):
    """Fourth-order centered differences of the scalar ``f(params)`` for every entry of every array.

    Returns ``(grads, kinks)``: dicts keyed like ``params`` holding the numerical gradient and a boolean
    mask of the entries whose stencil straddles a kink. ``f`` sees perturbed copies; ``params`` is
    never modified.
    """
    if not callable(f):
        raise ValueError(f"argument 'f': expected a function of the parameter dict, got {type(f).__name__}")
    check_scalar("step", step, low=0, low_open=True)
    params = _as_dict(params)
    f0 = _scalar(f, params)
    grads, kinks = {}, {}
    for name, arr in params.items():
        g = np.zeros(arr.shape, dtype=np.float64)
        kink = np.zeros(arr.shape, dtype=bool)
        flat = arr.reshape(-1)  # a view of our own contiguous copy: perturbing it perturbs params[name]
        for i in range(flat.size):
            orig = flat[i]
            vals = []
            for delta in (step, -step, 2 * step, -2 * step):
                flat[i] = orig + delta
                vals.append(_scalar(f, params))
            flat[i] = orig
            fp1, fm1, fp2, fm2 = vals
            g.flat[i] = (8 * (fp1 - fm1) - (fp2 - fm2)) / (12 * step)
            inner = (fp1 - 2 * f0 + fm1) / step**2
            outer = (fp2 - 2 * f0 + fm2) / (4 * step**2)
            kink.flat[i] = abs(inner - outer) * step > 1e-8 * (1.0 + abs(f0))
        grads[name], kinks[name] = g, kink
    return grads, kinks


@dataclass
class Row:
    name: str
    shape: tuple
    max_rel: float
    where: tuple
    max_abs: float
    kinks: int
    ok: bool
    hint: str = ""  # for a failing row: what the analytic gradient looks like (see diagnose)


@dataclass
class GradReport:
    """Per-parameter comparison of analytic and numerical gradients; ``str()`` prints the table."""

    rows: list = field(default_factory=list)
    threshold: float = 1e-8

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def max_rel(self) -> float:
        return max((r.max_rel for r in self.rows), default=0.0)

    def __getitem__(self, name) -> Row:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    def __str__(self) -> str:
        width = max([len("parameter")] + [len(r.name) for r in self.rows])
        head = f"{'parameter':<{width}}  {'shape':<14} {'max rel err':>11}  {'at':<12} {'max |diff|':>10}  verdict"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            lines.append(f"{r.name:<{width}}  {str(r.shape):<14} {self._figures(r)}  {self._verdict(r)}")
        hints: dict[str, list[str]] = {}  # rows failing the same way share one hint line
        for r in self.rows:
            if not r.ok and r.hint:
                hints.setdefault(r.hint, []).append(r.name)
        lines += [f"hint for {', '.join(names)}: {hint}" for hint, names in hints.items()]
        return "\n".join(lines)

    def _figures(self, r: Row) -> str:
        """A passing row's error is round-off: its digits and its location differ between CPUs, BLAS
        kernels and thread counts, so only the bound it met is printed. A failing row's error is a
        mistake, large and the same everywhere: its value, where it is largest and by how much."""
        if r.ok:
            return f"{'< ' + format(self.threshold, '.0e'):>11}  {'':<12} {'':>10}"
        return f"{r.max_rel:>11.1e}  {str(r.where):<12} {r.max_abs:>10.1e}"

    def _verdict(self, r: Row) -> str:
        verdict = "ok" if r.ok else f"FAIL (> {self.threshold:.0e})"
        if r.kinks:
            verdict += f", {r.kinks} entr{'y' if r.kinks == 1 else 'ies'} at a kink skipped"
        return verdict

    __repr__ = __str__

    def assert_ok(self) -> "GradReport":
        if not self.ok:
            raise GradcheckError("gradient check failed:\n" + str(self))
        return self


class MissingGradientError(ValueError, KeyError):
    """A backward function returned no gradient for a parameter (a ValueError; a KeyError for old callers)."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


def shape_hint(got: tuple, expected: tuple) -> str:
    """Explain a gradient of the wrong shape in terms of the usual slip, or return ''."""
    if len(got) == 2 and len(expected) == 2 and got == expected[::-1]:
        return (" — the transpose of the expected shape: a weight gradient is delta @ input.T "
                "(out × in), not input @ delta.T")
    if len(expected) == 2 and expected[1] == 1 and len(got) == 2 and got[0] == expected[0]:
        return (" — a bias gradient must be summed over the batch: delta.sum(axis=1, keepdims=True)")
    if len(got) == len(expected) + 1 and got[1:] == expected:
        return " — one axis too many: sum the per-step (or per-example) gradients over the first axis"
    return ""


def _close(x, y, tol):
    scale = max(np.max(np.abs(x)) if x.size else 0.0, np.max(np.abs(y)) if y.size else 0.0, 1e-300)
    return bool(np.max(np.abs(x - y)) <= tol * scale) if x.size else True


def diagnose(analytic, numerical, mask=None, *, tol: float = 1e-4) -> str:
    """Name the common mistake that turns the true gradient ``numerical`` into ``analytic``.

    Recognised: all zeros (never computed or never accumulated — a forgotten bias gradient),
    the transpose (a transposed weight), the negative (a sign error), a constant factor (a dropped 2,
    a mean instead of a sum over the batch), and errors confined to some rows, columns or entries.
    ``mask`` selects the entries to judge (kinks excluded). Returns one sentence, or a general hint.
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numerical, dtype=np.float64)
    m = np.ones(n.shape, bool) if mask is None else np.asarray(mask, bool)
    am, nm = a[m], n[m]
    if am.size == 0:
        return ""
    n_scale = float(np.max(np.abs(nm)))
    a_scale = float(np.max(np.abs(am)))
    if n_scale == 0.0:
        return "the true gradient is zero here (the parameter does not reach the output), but yours is not"
    if a_scale <= 1e-12 * n_scale:
        return ("your gradient is all zeros: it is never computed or never accumulated "
                "(a forgotten bias gradient, or a += that never happens)")
    if a.ndim == 2 and a.shape[0] == a.shape[1] > 1 and m.all():
        if _close(a, n.T, tol) and not _close(a, n, tol):
            return ("it equals the transpose of the true gradient: a transposed weight "
                    "(use delta @ input.T for a weight, W.T @ delta to go back through it)")
    if _close(am, -nm, tol):
        return "it is the negative of the true gradient: a sign error"
    c = float(np.dot(am, nm) / np.dot(nm, nm))
    if c != 0.0 and _close(am, c * nm, tol):
        if abs(c - 1) > tol:
            return (f"it is {c:.4g} times the true gradient: a constant factor is off (a dropped 2 from a "
                    "square, a 1/2 or 1/N too many, a mean instead of a sum over the batch, or the reverse)")
    wrong = np.zeros(n.shape, bool)
    scale = np.abs(a) + np.abs(n)
    wrong[m] = np.abs(am - nm) > tol * np.maximum(scale[m], 1e-3 * scale[m].max())
    count, total = int(wrong.sum()), int(m.sum())
    if 0 < count < total and a.ndim == 2 and min(a.shape) > 1:
        rows = np.flatnonzero(wrong.any(axis=1))
        cols = np.flatnonzero(wrong.any(axis=0))
        if len(rows) < a.shape[0]:
            return (f"only row(s) {_span(rows)} of {a.shape[0]} are wrong, the others are right: "
                    "check the part of the computation that feeds those outputs (one gate, one unit, one term)")
        if len(cols) < a.shape[1]:
            return (f"only column(s) {_span(cols)} of {a.shape[1]} are wrong, the others are right: "
                    "check the inputs (or time steps, or examples) those columns belong to")
    if 0 < count < total:
        return (f"{total - count} of {total} entries are right and {count} are wrong: "
                "a term of the chain rule is missing or wrong for some entries")
    return ("not a transpose, sign or constant factor: check each factor of the chain rule — the derivative "
            "of the right nonlinearity at the right point (tanh' = 1 - tanh², sigmoid' = σ(1 - σ)), "
            "and every path into the parameter (gradients add where paths meet)")


def _span(idx) -> str:
    idx = [int(i) for i in idx]
    if len(idx) > 2 and idx == list(range(idx[0], idx[-1] + 1)):
        return f"{idx[0]}–{idx[-1]}"
    return ", ".join(map(str, idx[:8])) + (" …" if len(idx) > 8 else "")


def compare(analytic: dict, numerical: dict, kinks: dict | None = None, *, threshold: float = 1e-8,
            floor_rel: float = 1e-3) -> GradReport:
    """Build a :class:`GradReport` from analytic and numerical gradients keyed alike."""
    check_dict("numerical", numerical, nonempty=True)   # a check of nothing must not pass
    check_dict("analytic", analytic)
    check_scalar("threshold", threshold, low=0, low_open=True)
    check_scalar("floor_rel", floor_rel, low=0, low_open=True)
    missing = set(numerical) - set(analytic)
    if missing:
        raise ValueError(f"analytic gradients are missing key(s) {sorted(missing)}; got {sorted(analytic)}"
                         " (every parameter needs a gradient: a forgotten bias gradient?)")
    report = GradReport(threshold=threshold)
    for name, n in numerical.items():
        n = check_array(f"numerical['{name}']", n).astype(np.float64)
        a = check_array(f"analytic['{name}']", analytic[name], finite=False).astype(np.float64)  # NaN: a FAIL row
        if a.shape != n.shape:
            raise ValueError(f"analytic gradient '{name}' has shape {a.shape}, expected {n.shape}"
                             + shape_hint(a.shape, n.shape))
        kink = np.zeros(n.shape, bool) if kinks is None else kinks[name]
        scale = np.abs(a) + np.abs(n)
        floor = max(floor_rel * (scale.max() if scale.size else 0.0), 1e-300)
        with np.errstate(invalid="ignore", over="ignore"):    # an inf or NaN analytic entry is a FAIL row
            rel = np.where(kink, 0.0, np.where(np.isfinite(a), np.abs(a - n) / np.maximum(scale, floor), np.inf))
        i = np.unravel_index(int(np.argmax(rel)), rel.shape) if rel.size else ()
        max_rel = float(rel[i]) if rel.size else 0.0
        max_abs = float(np.max(np.where(kink, 0.0, np.abs(a - n)))) if rel.size else 0.0
        ok = max_rel <= threshold
        report.rows.append(Row(name, tuple(n.shape), max_rel, tuple(int(j) for j in i), max_abs,
                               int(kink.sum()), ok, "" if ok else diagnose(a, n, ~kink)))
    return report


def check_gradients(f, params: dict, grads: dict, *, threshold: float = 1e-8, step: float = 1e-4,
                    floor_rel: float = 1e-3) -> GradReport:
    """Compare ``grads`` (analytic ∂f/∂params) with finite differences of the scalar ``f(params)``."""
    for k, g in check_dict("grads", grads).items():          # named as the caller knows them (NaN: a FAIL row)
        check_array(f"grads['{k}']", g, finite=False)
    numerical, kinks = numerical_gradient(f, params, step=step)
    return compare(grads, numerical, kinks, threshold=threshold, floor_rel=floor_rel)


def _leaves(tree):
    if isinstance(tree, dict):
        return [x for k in tree for x in _leaves(tree[k])]
    if isinstance(tree, (tuple, list)):
        return [x for t in tree for x in _leaves(t)]
    return [np.asarray(tree)]


def random_like(tree, rng: np.random.Generator):
    """Standard-normal arrays with the structure (dict / tuple / array) of ``tree``."""
    check_rng(rng)
    if isinstance(tree, dict):
        return {k: random_like(v, rng) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return type(tree)(random_like(t, rng) for t in tree)
    return rng.standard_normal(np.shape(tree))


def check_vjp(forward, backward, params: dict, rng: np.random.Generator, *, threshold: float = 1e-8,
              step: float = 1e-4, floor_rel: float = 1e-3) -> GradReport:
    """Check a backward function as a vector–Jacobian product, not only through a scalar loss.

    ``forward(params) -> (out, cache)``; ``backward(dout, cache) -> grads`` keyed like ``params``.
    ``out`` may be an array or a tuple/dict of arrays. A random upstream gradient ``dout`` is drawn
    once; then ``backward(dout)`` must equal the gradient of the scalar ``Σ out ⊙ dout``.
    """
    check_rng(rng)
    with warnings.catch_warnings():              # checked before forward sees them; the warning comes below
        warnings.simplefilter("ignore", PrecisionWarning)
        params = _as_dict(params)
    out, cache = forward(params)
    dout = random_like(out, rng)
    grads = backward(dout, cache)
    dout_leaves = _leaves(dout)

    def pairing(p):
        o, _ = forward(p)
        return sum(float(np.sum(a * b)) for a, b in zip(_leaves(o), dout_leaves))

    if not isinstance(grads, dict):
        raise MissingGradientError(f"backward must return a dict of gradients keyed like the parameters "
                                   f"{sorted(params)}, got {type(grads).__name__}")
    missing = [k for k in params if k not in grads]
    if missing:
        raise MissingGradientError(f"backward returned no gradient for {missing} (it returned {sorted(grads)}): "
                                   "every parameter needs a gradient — a forgotten bias gradient?")
    return check_gradients(pairing, params, {k: grads[k] for k in params}, threshold=threshold,
                           step=step, floor_rel=floor_rel)
