"""Deep feedforward network: init, forward with cache, backward with weight decay (000 BP, 002 §2.4, §3.4).

Parameters are a plain dict ``{"W1", "b1", …, "Wl", "bl"}`` with ``W_k`` of shape ``(n_k, n_{k-1})``
(out × in) and ``b_k`` of shape ``(n_k, 1)``; a network without biases (002 §3.4) simply has no
``b_k`` keys. Inputs are columns, a batch is extra columns: ``x`` is ``(n_0, B)``.

Forward (002 §2.4, with its typo corrected: the activation acts on ``a_k``, not on ``b_k``)::

    h_0 = x;   a_k = W_k h_{k-1} + b_k,   h_k = f_k(a_k)   for k = 1 … l

Backward, keeping the invariant ``g = ∇_{h_k} J`` at the top of each iteration ``k = l … 1``::

    g ← g ⊙ f_k'(a_k)                        (= ∇_{a_k} J; the Jacobian of f_k is diagonal)
    ∇_{b_k} J = Σ_batch g,   ∇_{W_k} J = g h_{k-1}ᵀ + 2λ W_k
    g ← W_kᵀ g                               (= ∇_{h_{k-1}} J)

The weight-decay term is ``Ω = λ Σ_k Σ_{i,j} W_k[i,j]²`` (002 §3.4 with its parenthesis fixed:
``λ(Σ W1² + Σ W2²)``); biases are not decayed, so ``∇_{W_k} Ω = 2λ W_k`` and ``∇_{b_k} Ω = 0``.

Every matmul can report its multiply–adds into an ``ops`` dict (``ops["forward"]``,
``ops["backward"]``), so the cost claim of 002 §3.4 can be measured rather than asserted.
"""

from __future__ import annotations

import numpy as np

from bpcore.functional import ACTIVATIONS
from bpcore.functional import activation as _activation
from bpcore.functional import loss as _loss
from bpcore.validate import (
    check_array,
    check_dict,
    check_float_dtype,
    check_nonempty,
    check_parameter,
    check_params,
    check_rng,
    check_scalar,
    params_dtype,
)

INIT_SCHEMES = ("glorot", "he")


# ---------------------------------------------------------------- init

def init_params(sizes, rng: np.random.Generator, *, scale="glorot", bias: bool = True,
                dtype=np.float64) -> dict:
    """Random weights for layer sizes ``[n_0, n_1, …, n_l]``; biases zero.

    ``W_k[i,j] ~ N(0, σ_k²)`` with
      - ``scale="glorot"``: ``σ_k = sqrt(2 / (n_{k-1} + n_k))`` (keeps variance for tanh-like units),
      - ``scale="he"``: ``σ_k = sqrt(2 / n_{k-1})`` (keeps variance through relu, which zeroes half),
      - ``scale=g`` (a number): ``σ_k = g / sqrt(n_{k-1})``; g = 1 keeps ``Var(a_k)`` equal to
        ``Var(h_{k-1})`` for linear units, g = √2 is He.
    ``bias=False`` leaves out the ``b_k`` (the network of 002 §3.4).
    """
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise ValueError(f"argument 'sizes': expected a list of layer sizes [n_0, …, n_l], got {sizes!r}")
    sizes = [int(check_scalar(f"sizes[{i}]", n, low=1, integer=True)) for i, n in enumerate(sizes)]
    check_rng(rng)
    dtype = check_float_dtype("dtype", dtype)
    if len(sizes) < 2:
        raise ValueError(f"argument 'sizes': expected at least [n_in, n_out], got {sizes}")
    if isinstance(scale, str):
        if scale not in INIT_SCHEMES:
            raise ValueError(f"argument 'scale': expected one of {INIT_SCHEMES} or a positive number, got {scale!r}")
    else:
        check_scalar("scale", scale, low=0, low_open=True)
    params = {}
    for k in range(1, len(sizes)):
        n_in, n_out = sizes[k - 1], sizes[k]
        if scale == "glorot":
            std = np.sqrt(2.0 / (n_in + n_out))
        elif scale == "he":
            std = np.sqrt(2.0 / n_in)
        else:
            std = scale / np.sqrt(n_in)
        params[f"W{k}"] = (std * rng.standard_normal((n_out, n_in))).astype(dtype)
        if bias:
            params[f"b{k}"] = np.zeros((n_out, 1), dtype=dtype)
    return params


def n_layers(params: dict) -> int:
    """The number of layers ``l``: params must hold ``W1 … Wl`` (and ``b1 … bl`` or no biases at all)."""
    check_dict("params", params)
    l = 0
    while f"W{l + 1}" in params:
        l += 1
    if l == 0:
        raise ValueError(f"argument 'params': expected keys W1 … Wl, got {sorted(params)}")
    expected = {f"W{k}" for k in range(1, l + 1)}
    biases = {f"b{k}" for k in range(1, l + 1)}
    extra = set(params) - expected - biases
    present = biases & set(params)
    if extra or (present and present != biases):
        raise ValueError(f"argument 'params': expected keys W1 … W{l} and either all of b1 … b{l} or none, "
                         f"got {sorted(params)}")
    return l


def layer_activations(activation, l: int, output: str = "identity") -> list:
    """Per-layer activation names: a string is used for the hidden layers 1 … l-1 and ``output``
    for layer l; a list or tuple must name all ``l`` activations."""
    if isinstance(activation, str):
        names = [activation] * (l - 1) + [output]
    elif not isinstance(activation, (list, tuple)):
        raise ValueError(f"argument 'activation': expected a name such as 'relu' or a list of {l} names, "
                         f"got {activation!r}")
    else:
        names = list(activation)
        if len(names) != l:
            raise ValueError(f"argument 'activation': expected {l} activation names (one per layer), got {names}")
    if not isinstance(output, str) or output not in ACTIVATIONS:
        raise ValueError(f"argument 'output': unknown activation {output!r}; expected one of {list(ACTIVATIONS)}")
    for name in names:
        _activation(name)  # raises on an unknown name
    return names


# ---------------------------------------------------------------- one layer

def _matmul(A, B, ops, phase):
    if ops is not None:
        ops[phase] = ops.get(phase, 0) + A.shape[0] * A.shape[1] * B.shape[1]
    return A @ B


def dense_forward(W, b, h_prev, activation: str, *, ops=None):
    """One layer: ``a = W h_prev + b``, ``h = f(a)``; returns ``(h, cache)``. Parameters first, as everywhere.

    W: ``(n_out, n_in)``; b: ``(n_out, 1)`` or ``None``; h_prev: ``(n_in, B)``; h: ``(n_out, B)``.
    cache: ``(h_prev, W, a, activation)`` — what the backward step needs.
    """
    f, _ = _activation(activation)
    W, b, h_prev = _check_layer(W, b, h_prev)
    a = _matmul(W, h_prev, ops, "forward")
    if b is not None:
        a = a + b
    return f(a), (h_prev, W, a, activation)


def _check_layer(W, b, h_prev):
    dims = {}
    W = check_parameter("W", W, ("n_out", "n_in"), dims)
    b = None if b is None else check_parameter("b", b, ("n_out", 1), dims)
    h_prev = check_array("h_prev", h_prev, ("n_in", "B"), dims).astype(np.result_type(W, *([b] * (b is not None))),
                                                                      copy=False)
    return W, b, h_prev


def dense_backward(dout, cache, *, need_dh_prev: bool = True, ops=None):
    """Backward of :func:`dense_forward`: from ``dout = ∇_h J`` to ``(dh_prev, dW, db)``.

    ``da = dh ⊙ f'(a)``; ``dW = da h_prevᵀ``; ``db = Σ_batch da`` (shape ``(n_out, 1)``);
    ``dh_prev = Wᵀ da`` (``None`` when ``need_dh_prev`` is false: the first layer's input gradient
    is not needed for learning and costs one more matmul).
    """
    h_prev, W, a, activation = cache
    _, f_grad = _activation(activation)
    da = check_array("dout", dout, a.shape).astype(a.dtype, copy=False) * f_grad(a)
    dW = _matmul(da, h_prev.T, ops, "backward")
    db = da.sum(axis=1, keepdims=True)
    dh_prev = _matmul(W.T, da, ops, "backward") if need_dh_prev else None
    return dh_prev, dW, db


# ---------------------------------------------------------------- the network

def _check_inputs(params, x):
    l = n_layers(params)
    dims = {}
    shapes = {}
    for k in range(1, l + 1):
        shapes[f"W{k}"] = (f"n{k}", f"n{k - 1}")
        if f"b{k}" in params:
            shapes[f"b{k}"] = (f"n{k}", 1)
    checked = check_params(params, shapes, dims)
    x = check_array("x", x, ("n0", "B"), dims).astype(params_dtype(checked), copy=False)
    check_nonempty("x", x, 1, "examples (the batch B, its columns)")
    return l, checked, x


def forward(params: dict, x, activation="relu", *, output: str = "identity", ops=None):
    """``h_l`` of the network for a batch ``x`` of shape ``(n_0, B)``; returns ``(h_l, cache)``.

    ``activation``: one name for every hidden layer (then layer l uses ``output``, identity by
    default, so ``h_l`` are logits) or a list of l names. ``h_l`` has shape ``(n_l, B)``.
    """
    l, params, x = _check_inputs(params, x)
    names = layer_activations(activation, l, output)
    h, layers = x, []
    for k in range(1, l + 1):
        h, layer_cache = dense_forward(params[f"W{k}"], params.get(f"b{k}"), h, names[k - 1], ops=ops)
        layers.append(layer_cache)
    return h, {"layers": layers, "bias": "b1" in params, "out_shape": h.shape}


def backward(dout, cache: dict, *, weight_decay: float = 0.0, ops=None, hidden_grads: dict | None = None) -> dict:
    """Gradients of J with respect to every parameter, given ``dout = ∇_{h_l} J`` (002 §2.4).

    Adds the weight-decay gradient ``2λ W_k`` for ``J = L + λ Σ_k ‖W_k‖²`` (``λ = weight_decay``).
    Returns ``{"W1": …, "b1": …, …}`` keyed and shaped like the parameters.
    ``hidden_grads``: if a dict is given, it receives ``hidden_grads[k] = ∇_{h_k} J`` for k = l … 1 (the
    signal ``g`` of the loop invariant), for plots of how it shrinks or grows layer by layer.
    """
    check_scalar("weight_decay", weight_decay, low=0)
    g = check_array("dout", dout, cache["out_shape"]).astype(cache["layers"][-1][2].dtype, copy=False)
    grads = {}
    for k in range(len(cache["layers"]), 0, -1):
        if hidden_grads is not None:
            hidden_grads[k] = g
        layer_cache = cache["layers"][k - 1]
        g, dW, db = dense_backward(g, layer_cache, need_dh_prev=k > 1, ops=ops)
        grads[f"W{k}"] = dW + 2.0 * weight_decay * layer_cache[1] if weight_decay else dW
        if cache["bias"]:
            grads[f"b{k}"] = db
    return dict(sorted(grads.items(), key=lambda kv: (int(kv[0][1:]), kv[0][0] == "b")))


def l2_penalty(params: dict, weight_decay: float) -> float:
    """``Ω = λ Σ_k Σ_{i,j} W_k[i,j]²`` — the weights only, one λ for all layers (002 §3.4, fixed)."""
    check_scalar("weight_decay", weight_decay, low=0)
    Ws = [check_parameter(f"params['W{k}']", params[f"W{k}"]) for k in range(1, n_layers(params) + 1)]
    return float(weight_decay * sum(np.sum(W.astype(np.float64) ** 2) for W in Ws))


def loss_and_grads(params: dict, x, y, *, activation="relu", output: str = "identity",
                   loss: str = "cross_entropy", weight_decay: float = 0.0, ops=None):
    """``(J, grads)`` with ``J = L(h_l, y) + λ Σ_k ‖W_k‖²`` averaged over the batch.

    ``loss="cross_entropy"``: ``h_l`` are logits ``(K, B)``, ``y`` integer labels ``(B,)``;
    its gradient is ``(softmax(h_l) - onehot(y)) / B``.
    ``loss="squared_error"``: ``y`` is ``(n_l, B)``; gradient ``(h_l - y) / B``.
    """
    J_fn, dJ_fn = _loss(loss)
    out, cache = forward(params, x, activation, output=output, ops=ops)
    J = J_fn(out, y) + l2_penalty(params, weight_decay)
    return J, backward(dJ_fn(out, y), cache, weight_decay=weight_decay, ops=ops)


def predict(params: dict, x, activation="relu", *, output: str = "identity") -> np.ndarray:
    """Class predictions ``argmax_k h_l[k, b]``, shape ``(B,)``."""
    out, _ = forward(params, x, activation, output=output)
    return np.argmax(out, axis=0)


def accuracy(params: dict, x, y, activation="relu", *, output: str = "identity") -> float:
    """Fraction of columns of ``x`` whose predicted class equals ``y`` (integer labels ``(B,)``)."""
    from bpcore.functional import check_labels

    pred = predict(params, x, activation, output=output)
    n_classes = params[f"W{n_layers(params)}"].shape[0]
    return float(np.mean(pred == check_labels(y, n_classes, pred.shape[0])))


def layer_grad_norms(grads: dict) -> np.ndarray:
    """``[‖∇_{W_1} J‖_F, …, ‖∇_{W_l} J‖_F]``: the per-layer picture of vanishing/exploding gradients."""
    l = n_layers(grads)
    return np.array([float(np.sqrt(np.sum(grads[f"W{k}"] ** 2))) for k in range(1, l + 1)])


def cache_nbytes(cache: dict) -> int:
    """Bytes the forward pass stored for backward beyond the inputs and parameters it references:
    each layer's pre-activation ``a_k`` and the hidden outputs ``h_1 … h_{l-1}`` (002 §3.4: O(m n_h))."""
    layers = cache["layers"]
    a_bytes = sum(c[2].nbytes for c in layers)
    h_bytes = sum(c[0].nbytes for c in layers[1:])  # h_0 = x is the caller's array, not a copy
    return int(a_bytes + h_bytes)
