"""Activations and losses with their derivatives (seed 002 §2.4, §3.4, §4).

Layout follows the series: a batch is extra columns, so logits ``z`` are ``(K, B)`` (K classes, B
examples) and integer labels ``y`` are ``(B,)`` with values in ``0 … K-1``.

Every function checks its arguments (real numbers, finite, the shapes below) and names the one at fault;
the losses' arithmetic itself sits in private kernels (:func:`loss_kernel`: value and gradient from one
softmax) that a sequence model calls for each step after checking the whole sequence's outputs once
(:mod:`bpcore.sequence`).
Activations act elementwise. For each ``f`` there is ``f_grad(a) = f'(a)``, the diagonal of the
Jacobian ``∂h/∂a`` of ``h = f(a)``, so a backward step is ``∇_a J = ∇_h J ⊙ f'(a)`` (002 §2.4).
``ACTIVATIONS[name] = (f, f_grad)`` looks them up by name.

Losses take a ``reduction``: ``"mean"`` (default) averages over the batch, ``"sum"`` adds.
``softmax_cross_entropy_grad(z, y, reduction="sum")`` is exactly ``softmax(z) - onehot(y)``: the
simplification of 002 §4 that backprop through softmax and log separately never finds by itself.
"""

from __future__ import annotations

import numpy as np

from bpcore.validate import ArgumentTypeError, check_array, check_nonempty, check_scalar

REDUCTIONS = ("mean", "sum")


# ---------------------------------------------------------------- activations: h = f(a), f'(a)

def identity(a):
    """``f(a) = a``."""
    return check_array("a", a)


def identity_grad(a):
    """``f'(a) = 1``."""
    return np.ones_like(check_array("a", a))


def sigmoid(a):
    """``σ(a) = 1 / (1 + e^{-a})``, computed without overflow for large ``|a|``."""
    a = check_array("a", a)
    e = np.exp(-np.abs(a))  # never overflows: exponent ≤ 0
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(a):
    """``σ'(a) = σ(a)(1 - σ(a))``, at most 1/4 (at a = 0)."""
    s = sigmoid(a)
    return s * (1.0 - s)


def tanh(a):
    """``tanh(a)``."""
    return np.tanh(check_array("a", a))


def tanh_grad(a):
    """``tanh'(a) = 1 - tanh(a)²``, in (0, 1], equal to 1 only at a = 0."""
    t = np.tanh(check_array("a", a))
    return 1.0 - t * t


def relu(a):
    """``max(0, a)``."""
    return np.maximum(check_array("a", a), 0)


def relu_grad(a):
    """``1 if a > 0 else 0``. At the kink ``a = 0`` we take 0 (a subgradient; ties are measure zero)."""
    a = check_array("a", a)
    return (a > 0).astype(a.dtype)


ACTIVATIONS = {
    "identity": (identity, identity_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
}


def _lookup(table: dict, kind: str, name):
    if not isinstance(name, str) or name not in table:
        raise ValueError(f"argument '{kind}': unknown {kind} {name!r}; expected one of {list(table)}")
    return table[name]


def activation(name: str):
    """``(f, f_grad)`` for ``name`` in ``ACTIVATIONS``; a clear ``ValueError`` otherwise."""
    return _lookup(ACTIVATIONS, "activation", name)


# ---------------------------------------------------------------- softmax and cross-entropy

def softmax(z, axis: int = 0):
    """``softmax(z)_k = e^{z_k} / Σ_j e^{z_j}`` along ``axis`` (classes, axis 0 by default).

    Subtracting the column maximum first leaves the result unchanged and keeps every exponent ≤ 0.
    """
    return _softmax(_check_axis(check_array("z", z), axis), axis)


def log_softmax(z, axis: int = 0):
    """``log softmax(z) = z - logsumexp(z)``, stable for any finite logits."""
    return _log_softmax(_check_axis(check_array("z", z), axis), axis)


def _shifted_exp(z, axis):
    """``(d, e, Σe)`` with ``d = z - max z`` and ``e = exp(d)``: what softmax and its log share."""
    d = z - z.max(axis=axis, keepdims=True)
    e = np.exp(d)
    return d, e, e.sum(axis=axis, keepdims=True)


def _softmax(z, axis):
    _, e, total = _shifted_exp(z, axis)
    return e / total


def _log_softmax(z, axis):
    d, _, total = _shifted_exp(z, axis)
    return d - np.log(total)


def _check_axis(z, axis):
    check_scalar("axis", axis, integer=True)
    if not -z.ndim <= axis < z.ndim or z.shape[axis] < 1:
        raise ValueError(f"argument 'axis': {axis} is not a non-empty axis of 'z' (shape {z.shape})")
    return z


def check_labels(y, n_classes: int, batch: int | None = None, name: str = "y") -> np.ndarray:
    """Integer class labels of shape ``(batch,)`` with values in ``0 … n_classes-1``; ``ValueError`` otherwise."""
    check_scalar("n_classes", n_classes, low=1, integer=True)
    y = np.asarray(y)
    if y.dtype.kind == "f" and y.size and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)  # 1.0, 2.0 … are accepted as labels; 0.5 is not
    if y.dtype.kind not in "iu":
        raise ArgumentTypeError(f"argument '{name}': expected integer class labels, got dtype {y.dtype}"
                                + (" with non-integer or non-finite values" if y.dtype.kind == "f" else ""))
    y = check_array(name, y, (batch,) if batch is not None else (None,), integer=True)
    bad = (y < 0) | (y >= n_classes)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"argument '{name}': label {int(y[i])} at index {i} is out of range; "
                         f"expected values in 0 … {n_classes - 1} ({n_classes} classes)")
    return y


def onehot(y, n_classes: int) -> np.ndarray:
    """``(n_classes, B)`` matrix with a 1 in row ``y[b]`` of column ``b``."""
    y = check_labels(y, n_classes)
    out = np.zeros((n_classes, y.shape[0]))
    out[y, np.arange(y.shape[0])] = 1.0
    return out


def _reduce_scale(reduction: str, batch: int) -> float:
    if reduction not in REDUCTIONS:
        raise ValueError(f"argument 'reduction': expected one of {REDUCTIONS}, got {reduction!r}")
    return 1.0 / batch if reduction == "mean" else 1.0


def _logits_and_labels(z, y):
    z = check_array("z", z, ("K", "B"))
    if z.shape[0] < 1 or z.shape[1] < 1:
        raise ValueError(f"argument 'z': expected at least one class and one example, got shape {z.shape}")
    return z, check_labels(y, z.shape[0], z.shape[1])


def cross_entropy(z, y, reduction: str = "mean") -> float:
    """Cross-entropy of integer labels under ``softmax(z)``, from the logits (002 §3.4).

    ``J = -(1/B) Σ_b log softmax(z)[y_b, b]`` (or the sum with ``reduction="sum"``), through
    ``log_softmax`` so a logit of 1000 neither overflows nor gives ``log 0``.
    z: ``(K, B)`` logits; y: ``(B,)`` labels in ``0 … K-1``.
    """
    z, y = _logits_and_labels(z, y)
    return _cross_entropy_and_grad(z, y, _reduce_scale(reduction, z.shape[1]))[0]


def softmax_cross_entropy_grad(z, y, reduction: str = "mean") -> np.ndarray:
    """``∂J/∂z = softmax(z) - onehot(y)`` (divided by B for ``reduction="mean"``), shape ``(K, B)``.

    Derivation: ``J_b = -z_{y_b} + log Σ_j e^{z_j}``, so ``∂J_b/∂z_k = -[k = y_b] + softmax(z)_k``.
    Backprop through the graph log ∘ softmax would form the full K×K softmax Jacobian and then divide
    by the probability; the algebra collapses both into one subtraction (002 §4).
    """
    z, y = _logits_and_labels(z, y)
    return _cross_entropy_and_grad(z, y, _reduce_scale(reduction, z.shape[1]))[1]


def _cross_entropy_and_grad(z, y, scale):
    """``(J, ∂J/∂z)`` from one shifted exponential: ``J`` through log-softmax, ``∂J/∂z`` through softmax."""
    d, e, total = _shifted_exp(z, 0)
    cols = np.arange(z.shape[1])
    J = float(-scale * np.sum((d - np.log(total))[y, cols]))
    g = e / total
    g[y, cols] -= 1.0
    return J, (g * scale if scale != 1.0 else g)


# ---------------------------------------------------------------- squared error

def _prediction_and_target(y_hat, y):
    dims = {}
    y_hat = check_nonempty("y_hat", check_array("y_hat", y_hat, ("n", "B"), dims), 1, "examples (the batch B)")
    y = check_array("y", y, ("n", "B"), dims)
    return y_hat, y


def squared_error(y_hat, y, reduction: str = "mean") -> float:
    """``J = (1/B) Σ_b ½ ‖ŷ_b - y_b‖²`` (or the sum); ``y_hat``, ``y`` of shape ``(n, B)``."""
    y_hat, y = _prediction_and_target(y_hat, y)
    return _squared_error_and_grad(y_hat, y, _reduce_scale(reduction, y.shape[1]))[0]


def squared_error_grad(y_hat, y, reduction: str = "mean") -> np.ndarray:
    """``∂J/∂ŷ = (ŷ - y)`` (divided by B for ``reduction="mean"``), shape ``(n, B)``."""
    y_hat, y = _prediction_and_target(y_hat, y)
    return _squared_error_and_grad(y_hat, y, _reduce_scale(reduction, y.shape[1]))[1]


def _squared_error_and_grad(y_hat, y, scale):
    diff = y_hat - y
    return float(0.5 * scale * np.sum(diff ** 2)), diff * scale


LOSSES = {
    "cross_entropy": (cross_entropy, softmax_cross_entropy_grad),
    "squared_error": (squared_error, squared_error_grad),
}
_KERNELS = {  # the losses' arithmetic, (J, dJ/dz) in one call, without the checks
    "cross_entropy": _cross_entropy_and_grad,
    "squared_error": _squared_error_and_grad,
}


def loss(name: str):
    """``(J, dJ/dz)`` for ``name`` in ``LOSSES``; a clear ``ValueError`` otherwise."""
    return _lookup(LOSSES, "loss", name)


def loss_kernel(name: str):
    """What :func:`loss`'s two functions compute, in one call and without their checks:
    ``value_and_grad(z, y, scale) -> (J, dJ/dz)`` with ``scale`` 1/B for the batch mean, the same numbers to
    the bit. For a caller that has checked ``z`` (finite, (K, B), K, B >= 1) and ``y`` (labels in range, or a
    finite (K, B) target) itself, once for all the steps of a sequence (:func:`bpcore.sequence.output_loss`)."""
    return _lookup(_KERNELS, "loss", name)
