"""Backpropagation through time (BPTT) for a tanh RNN with softmax outputs, and for the linear RNN.

The tanh RNN of seed 000 ("时序反向传播算法"), with biases added. Time runs over ``t = 1 … T``; the
initial state ``h_0`` is an input (zeros by default)::

    a_t = W_hh h_{t-1} + W_xh x_t + b_h          (n_h, B)   pre-activation
    h_t = tanh(a_t)                              (n_h, B)
    s_t = W_hz h_t + b_z                         (n_z, B)   logits
    z_t = softmax(s_t)                           (n_z, B)
    E   = Σ_{t=1}^{T} E_t,   E_t = cross-entropy(s_t, y_t), averaged over the batch

The linear RNN of seed 001: ``h_t = W_hx x_t + W_hh h_{t-1}``, ``o_t = W_qh h_t`` (no bias, identity).

Array layout. Sequences are time-first ``(T, features, B)`` and array index ``t-1`` holds step ``t``:
``x[0]`` is ``x_1``, ``h[T-1]`` is ``h_T``. Weights are ``(out, in)``; biases are columns ``(n, 1)``.

Two levels, as in cs231n's ``rnn_layers.py``:

* readable one-step functions that mirror the derivation: :func:`step_forward` / :func:`step_backward`
  (recurrent part) and :func:`output_forward` / :func:`output_backward` (output layer);
* fast sequence functions: :func:`forward` / :func:`backward` (recurrent part, all steps),
  :func:`loss_and_grads` (whole model with loss), :func:`linear_forward` / :func:`linear_backward`.
  They project every input with one matmul before the time loop, keep only the recurrent product and
  the elementwise work inside it, and form all weight gradients with one matmul over all steps after it
  (``Σ_t δa_t [h_{t-1}; x_t; 1]ᵀ = [∂W_hh  ∂W_xh  ∂b_h]``). Inside, per-step arrays are time-major like
  the public ones, so a step reads and writes contiguous blocks; the matmuls over all steps use
  feature-major copies ``(features, T·B)`` in scratch arrays reused between calls (:mod:`bpcore.workspace`).
  Both choices were measured with ``benchmarks/bench_rnn.py``.

Backward modes (``mode="full" | "truncated" | "randomized"`` with ``k``, ``pi``, ``rng``, ``xi``) are those of
:mod:`bpcore.sequence`, shared with the LSTM; so are the output layer, the loss and how ``y``'s shape says
whether there is a target at every step or at the last step only.

The convention of every model in bpcore (README, "For contributors"): parameters first, then the inputs,
initial states as keywords (``forward(params, x, h0=None)``); backward takes ``dout``, the gradient with
respect to forward's output, and the cache, and returns a dict keyed by what each entry is the gradient
of: the parameters, the inputs (``x``, ``h0``; ``x_t``, ``h_prev`` for a step) and the per-step totals
``delta_h`` = ``δh_t``. It computes in the parameters' dtype and never accumulates into earlier results.
"""

from __future__ import annotations

import numpy as np

from bpcore import workspace
from bpcore.sequence import (  # noqa: F401 (MODES, draw_xi re-exported)
    MODES,
    OUTPUT_KEYS,
    SLOPE_BLOCK,
    check_output_params,
    draw_xi,
    lag_windows,
    output_loss,
    prediction,
    truncation,
)
from bpcore.validate import (
    check_array,
    check_float_dtype,
    check_nonempty,
    check_params,
    check_rng,
    check_scalar,
    params_dtype,
)

RECURRENT_KEYS = ("W_xh", "W_hh", "b_h")
RECURRENT_SHAPES = {"W_xh": ("n_h", "n_x"), "W_hh": ("n_h", "n_h"), "b_h": ("n_h", 1)}
LINEAR_KEYS = ("W_hx", "W_hh", "W_qh")


# ---------------------------------------------------------------- parameters

def init_params(n_x: int, n_h: int, rng: np.random.Generator, *, n_z: int | None = None,
                spectral_radius: float | None = None, sigma_max: float | None = None, dtype=np.float64) -> dict:
    """Parameters of the tanh RNN: ``W_xh (n_h, n_x)``, ``W_hh (n_h, n_h)``, ``b_h (n_h, 1)``, and with
    ``n_z`` the output layer ``W_hz (n_z, n_h)``, ``b_z (n_z, 1)`` (as ``bpcore.lstm.init_params``).

    Weights are Gaussian with variance ``1/fan_in``; biases zero. ``spectral_radius`` rescales ``W_hh`` so
    its largest ``|eigenvalue|`` is that value; ``sigma_max`` rescales it so its largest singular value is
    that value (the quantity in Pascanu et al.'s condition). Give at most one.
    """
    from bpcore.diagnostics import set_sigma_max, set_spectral_radius

    for name, v in (("n_x", n_x), ("n_h", n_h)) + ((("n_z", n_z),) if n_z is not None else ()):
        check_scalar(name, v, low=1, integer=True)
    check_rng(rng)
    dtype = check_float_dtype("dtype", dtype)
    if spectral_radius is not None and sigma_max is not None:
        raise ValueError("give either 'spectral_radius' or 'sigma_max', not both")
    W_hh = rng.standard_normal((n_h, n_h)) / np.sqrt(n_h)
    if spectral_radius is not None:
        W_hh = set_spectral_radius(W_hh, spectral_radius)
    if sigma_max is not None:
        W_hh = set_sigma_max(W_hh, sigma_max)
    params = {"W_xh": rng.standard_normal((n_h, n_x)) / np.sqrt(n_x), "W_hh": W_hh, "b_h": np.zeros((n_h, 1))}
    if n_z is not None:
        params |= {"W_hz": rng.standard_normal((n_z, n_h)) / np.sqrt(n_h), "b_z": np.zeros((n_z, 1))}
    return {k: v.astype(dtype) for k, v in params.items()}


def init_linear_params(n_x: int, n_h: int, rng: np.random.Generator, *, n_q: int,
                       spectral_radius: float | None = None, dtype=np.float64) -> dict:
    """Parameters of the linear RNN of seed 001: ``W_hx (n_h, n_x)``, ``W_hh (n_h, n_h)``, ``W_qh (n_q, n_h)``."""
    from bpcore.diagnostics import set_spectral_radius

    for name, v in (("n_x", n_x), ("n_h", n_h), ("n_q", n_q)):
        check_scalar(name, v, low=1, integer=True)
    check_rng(rng)
    dtype = check_float_dtype("dtype", dtype)
    W_hh = rng.standard_normal((n_h, n_h)) / np.sqrt(n_h)
    if spectral_radius is not None:
        W_hh = set_spectral_radius(W_hh, spectral_radius)
    params = {"W_hx": rng.standard_normal((n_h, n_x)) / np.sqrt(n_x), "W_hh": W_hh,
              "W_qh": rng.standard_normal((n_q, n_h)) / np.sqrt(n_h)}
    return {k: v.astype(dtype) for k, v in params.items()}


# ---------------------------------------------------------------- one step, readable

def step_forward(params: dict, x_t, h_prev):
    """One step of the recurrence: ``h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h)``  (seed 000, RNN forward).

    Inputs
        params           dict with W_xh (n_h, n_x), W_hh (n_h, n_h), b_h (n_h, 1)
        x_t    (n_x, B)  input at step t
        h_prev (n_h, B)  hidden state h_{t-1}
    Returns
        h_t    (n_h, B)  new hidden state
        cache            what step_backward needs
    """
    dims = {}
    p = check_params(params, RECURRENT_SHAPES, dims)
    dt = params_dtype(p)
    x_t = check_array("x_t", x_t, ("n_x", "B"), dims).astype(dt, copy=False)
    h_prev = check_array("h_prev", h_prev, ("n_h", "B"), dims).astype(dt, copy=False)
    a_t = p["W_hh"] @ h_prev + p["W_xh"] @ x_t + p["b_h"]
    h_t = np.tanh(a_t)
    return h_t, (x_t, h_prev, h_t, p["W_xh"], p["W_hh"])


def step_backward(dout, cache) -> dict:
    """Backward of one step: from ``δh_t = ∂E/∂h_t`` to the step's gradients.

    ``dout = δh_t`` must be the TOTAL gradient reaching ``h_t``: the part from this step's own output plus the
    part carried back from step ``t+1``. Then, with ``tanh'(a) = 1 - tanh(a)²``::

        δa_t      = δh_t ⊙ (1 - h_t²)
        ∂E/∂W_hh  = δa_t h_{t-1}ᵀ      ∂E/∂W_xh = δa_t x_tᵀ      ∂E/∂b_h = Σ_batch δa_t
        ∂E/∂h_{t-1} (through h_t) = W_hhᵀ δa_t          ∂E/∂x_t = W_xhᵀ δa_t

    Inputs
        dout   (n_h, B)  upstream gradient δh_t = ∂E/∂h_t
        cache            from step_forward
    Returns
        dict with x_t (n_x, B), h_prev (n_h, B), W_xh (n_h, n_x), W_hh (n_h, n_h), b_h (n_h, 1)
    """
    x_t, h_prev, h_t, W_xh, W_hh = cache
    dh_t = check_array("dout", dout, h_t.shape).astype(h_t.dtype, copy=False)
    da_t = dh_t * (1.0 - h_t**2)
    return {"x_t": W_xh.T @ da_t, "h_prev": W_hh.T @ da_t, "W_xh": da_t @ x_t.T, "W_hh": da_t @ h_prev.T,
            "b_h": da_t.sum(axis=1, keepdims=True)}


def output_forward(params: dict, h_t):
    """Logits of one step, ``s_t = W_hz h_t + b_z``; ``z_t = softmax(s_t)`` is ``bpcore.functional.softmax``.

    Inputs: params with W_hz (n_z, n_h), b_z (n_z, 1); h_t (n_h, B).  Returns s_t (n_z, B) and a cache.
    """
    dims = {}
    p = check_params(params, {"W_hz": ("n_z", "n_h"), "b_z": ("n_z", 1)}, dims)
    h_t = check_array("h_t", h_t, ("n_h", "B"), dims).astype(params_dtype(p), copy=False)
    return p["W_hz"] @ h_t + p["b_z"], (h_t, p["W_hz"])


def output_backward(dout, cache) -> dict:
    """Backward of the output layer: from ``dout = δs_t = ∂E/∂s_t`` (for softmax + cross-entropy,
    ``softmax(s_t) - onehot(y_t)``, divided by B for the batch mean) to
    ``{"h_t": W_hzᵀ δs_t, "W_hz": δs_t h_tᵀ, "b_z": Σ_batch δs_t}``."""
    h_t, W_hz = cache
    ds_t = check_array("dout", dout, (W_hz.shape[0], h_t.shape[1])).astype(h_t.dtype, copy=False)
    return {"h_t": W_hz.T @ ds_t, "W_hz": ds_t @ h_t.T, "b_z": ds_t.sum(axis=1, keepdims=True)}


# ---------------------------------------------------------------- whole sequences, fast

def forward(params: dict, x, *, h0=None):
    """Run the recurrence over a whole sequence: ``h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h)``, t = 1 … T.

    Inputs
        params              dict with W_xh, W_hh, b_h (other keys are ignored)
        x      (T, n_x, B)  inputs x_1 … x_T
        h0     (n_h, B)     initial state h_0, or None for zeros
    Returns
        h      (T, n_h, B)  hidden states h_1 … h_T (``h[t-1]`` is ``h_t``)
        cache               what :func:`backward` needs
    """
    x, h0, p = _check_sequence(x, h0, params, RECURRENT_SHAPES)
    H = _run(x, h0, p["W_xh"], p["W_hh"], p["b_h"], np.tanh)
    return H[1:], {"x": x, "H": H, "h": H[1:], "W_xh": p["W_xh"], "W_hh": p["W_hh"], "kind": "tanh"}


def backward(dout, cache, *, mode: str = "full", k: int | None = None, pi: float | None = None,
             rng: np.random.Generator | None = None, xi=None) -> dict:
    """BPTT of the recurrence, given the gradient each hidden state receives directly from its own loss.

    Inputs
        dout   (T, n_h, B)  ``∂E_t/∂h_t`` through step t's output only (zeros where a step has no loss);
                            the part that arrives through ``h_{t+1}`` is added here, step by step
        cache               from :func:`forward`
        mode                "full", "truncated" (needs ``k >= 1``) or "randomized" (needs ``pi`` in (0, 1]
                            and ``rng``, or the draws ``xi`` (T,) themselves, see :func:`draw_xi`)
    Returns
        dict with W_xh, W_hh, b_h (keyed like the parameters), x (T, n_x, B), h0 (n_h, B), and
        delta_h (T, n_h, B): the total ``δh_t = ∂E/∂h_t`` at each step under the chosen mode (the
        per-step gradient the diagnostics plot; for "truncated", the sum over the losses whose window
        reaches step t).
    """
    if not isinstance(cache, dict) or cache.get("kind") != "tanh":
        raise ValueError("argument 'cache': expected the cache returned by bpcore.rnn.forward")
    H = cache["H"]
    dh = check_array("dout", dout, cache["h"].shape).astype(H.dtype, copy=False)
    da, dh_total, dh0 = _bptt(dh, H[1:], cache["W_hh"], mode, k, pi, rng, xi)
    A, G = _weight_grads(da, H, cache["x"], bias=True)
    n_h, n_x = cache["W_xh"].shape
    return {"W_xh": G[:, n_h:n_h + n_x], "W_hh": G[:, :n_h], "b_h": G[:, n_h + n_x:],
            "x": _input_grad(da, A, cache["W_xh"]), "h0": dh0, "delta_h": dh_total}


def loss_and_grads(params: dict, x, y, *, h0=None, loss: str = "cross_entropy", mode: str = "full",
                   k: int | None = None, pi: float | None = None, rng: np.random.Generator | None = None,
                   xi=None, details: bool = False):
    """Loss and gradients of the whole tanh RNN with its output layer ``s_t = W_hz h_t + b_z``.

    ``E = Σ_t E_t`` with ``E_t = J(s_t, y_t)``, by default the batch-mean cross-entropy of ``softmax(s_t)``.

    Inputs
        params             W_xh, W_hh, b_h, W_hz, b_z (see :func:`init_params`)
        x     (T, n_x, B)  inputs
        y                  targets: (T, B) integer labels at every step, or (B,) at the last step only
                           (``loss="squared_error"``: (T, n_z, B) or (n_z, B)); see :mod:`bpcore.sequence`
        h0    (n_h, B)     initial state, or None for zeros
        mode, k, pi, rng, xi   as in :func:`backward`
    Returns ``(loss, grads)``, as ``bpcore.optim.train`` expects (and like ``lstm.loss_and_grads``), or
    ``(loss, grads, info)`` with ``details=True``:
        loss   float
        grads  dict keyed exactly like ``params`` (ready for ``bpcore.optim.clip_by_global_norm``)
        info   dict of values ``h`` (T, n_h, B), ``z`` (T, n_z, B) softmax outputs or (n_z, B) for a
               last-step target, and of gradients ``delta_h`` (T, n_h, B) total ``∂E/∂h_t``, ``dh0``, ``dx``
    """
    h, cache = forward(params, x, h0=h0)
    out = check_output_params(params, h.shape[1], h.dtype)
    E, dh, out_grads, s = output_loss(out, h, y, loss)
    g = backward(dh, cache, mode=mode, k=k, pi=pi, rng=rng, xi=xi)
    grads = {key: g[key] for key in RECURRENT_KEYS} | out_grads
    grads = {key: grads[key] for key in params if key in grads}
    if not details:
        return E, grads
    return E, grads, {"h": h, "z": prediction(s, loss), "delta_h": g["delta_h"], "dh0": g["h0"], "dx": g["x"]}


def predict(params: dict, x, *, h0=None, loss: str = "cross_entropy"):
    """The prediction ``z_t`` (T, n_z, B) at every step for inputs ``x`` (T, n_x, B), as ``lstm.predict``.

    ``z_t = softmax(s_t)``, the class probabilities, for ``loss="cross_entropy"``; the outputs
    ``s_t = W_hz h_t + b_z`` themselves for ``"squared_error"`` (:func:`bpcore.sequence.prediction`);
    ``loss_and_grads(..., details=True)`` returns the same ``z``.
    """
    h, _ = forward(params, x, h0=h0)
    out = check_output_params(params, h.shape[1], h.dtype)
    return prediction(np.matmul(out["W_hz"], h) + out["b_z"], loss)


# ---------------------------------------------------------------- the linear RNN of seed 001

def linear_forward(params: dict, x, *, h0=None):
    """Linear RNN: ``h_t = W_hx x_t + W_hh h_{t-1}``, ``o_t = W_qh h_t`` for t = 1 … T (seed 001).

    Inputs: params W_hx (n_h, n_x), W_hh (n_h, n_h), W_qh (n_q, n_h); x (T, n_x, B); h0 (n_h, B) or None.
    Returns o (T, n_q, B) and a cache; ``cache["h"]`` (T, n_h, B) holds the states ``h_1 … h_T``.
    """
    x, h0, p = _check_sequence(x, h0, params, {"W_hx": ("n_h", "n_x"), "W_hh": ("n_h", "n_h"),
                                               "W_qh": ("n_q", "n_h")})
    H = _run(x, h0, p["W_hx"], p["W_hh"], None, None)
    return np.matmul(p["W_qh"], H[1:]), {"x": x, "H": H, "h": H[1:], "W_hx": p["W_hx"], "W_hh": p["W_hh"],
                                         "W_qh": p["W_qh"], "kind": "linear"}


def linear_backward(dout, cache, *, mode: str = "full", k: int | None = None, pi: float | None = None,
                    rng: np.random.Generator | None = None, xi=None) -> dict:
    """BPTT of the linear RNN from ``dout = ∂L/∂o_t`` (T, n_q, B).

    ``∂L/∂h_t = W_qhᵀ ∂L/∂o_t + W_hhᵀ ∂L/∂h_{t+1}``, which unrolls to
    ``∂L/∂h_t = Σ_{i=t}^{T} (W_hhᵀ)^{i-t} W_qhᵀ ∂L/∂o_i``; then ``∂L/∂W_qh = Σ_t ∂L/∂o_t h_tᵀ``,
    ``∂L/∂W_hx = Σ_t ∂L/∂h_t x_tᵀ``, ``∂L/∂W_hh = Σ_t ∂L/∂h_t h_{t-1}ᵀ``.
    Returns W_hx, W_hh, W_qh, x (T, n_x, B), h0 (n_h, B) and delta_h (T, n_h, B) = ``∂L/∂h_t``.
    Modes as in :func:`backward`.
    """
    if not isinstance(cache, dict) or cache.get("kind") != "linear":
        raise ValueError("argument 'cache': expected the cache returned by bpcore.rnn.linear_forward")
    h, W_qh = cache["h"], cache["W_qh"]
    do = check_array("dout", dout, (h.shape[0], W_qh.shape[0], h.shape[2])).astype(h.dtype, copy=False)
    da, dh_total, dh0 = _bptt(np.matmul(W_qh.T, do), None, cache["W_hh"], mode, k, pi, rng, xi)
    A, G = _weight_grads(da, cache["H"], cache["x"], bias=False)
    n_h = h.shape[1]
    return {"W_hx": G[:, n_h:], "W_hh": G[:, :n_h], "W_qh": np.tensordot(do, h, axes=([0, 2], [0, 2])),
            "x": _input_grad(da, A, cache["W_hx"]), "h0": dh0, "delta_h": dh_total}


# ---------------------------------------------------------------- the BPTT recursion, all modes

def _bptt(g, h, W_hh, mode, k, pi, rng, xi):
    """Return ``(δa, δh, δh_0)`` for direct gradients ``g`` (T, n, B); ``h`` (T, n, B) the tanh states, or
    None for the linear RNN (identity activation). Modes as in :func:`bpcore.sequence.truncation`."""
    mode, setting = truncation(g.shape[0], mode, k, pi, rng, xi)
    if mode == "truncated":
        return _bptt_truncated(g, h, W_hh, setting)
    return _bptt_full(g, h, W_hh, setting)


def _bptt_full(g, h, W_hh, xi=None):
    """``δh_t = g_t + W_hhᵀ δa_{t+1}`` (times ``ξ_{t+1}`` if given), ``δa_t = δh_t ⊙ (1 - h_t²)``, t = T … 1.

    Layout (T, n, B), so that every step works on contiguous blocks; for the linear RNN (``h`` None) δa = δh.
    The slopes ``1 - h_t²`` are formed for ``SLOPE_BLOCK`` steps per call (as the LSTM's gate slopes), so the
    loop keeps one sum, one product and the recurrent matmul a step.
    """
    T, n, B = g.shape
    dtype = np.result_type(g, W_hh)
    dh = np.empty((T, n, B), dtype=dtype)
    da = dh if h is None else workspace.empty("rnn.da", (T, n, B), dtype)  # scratch: copied by _weight_grads
    carry = np.zeros((n, B), dtype=dtype)                                 # ∂E/∂h_t arriving from step t+1
    slope = None if h is None else workspace.empty("rnn.slope", (SLOPE_BLOCK, n, B), dtype)
    W_hhT = np.ascontiguousarray(W_hh.T)                                 # contiguous: a faster matmul
    for end in range(T, 0, -SLOPE_BLOCK):
        start = max(0, end - SLOPE_BLOCK)
        if h is not None:                                                 # tanh'(a_t) = 1 - h_t², a block of steps
            s = slope[:end - start]
            np.multiply(h[start:end], h[start:end], out=s)
            np.subtract(1.0, s, out=s)
        for t in range(end - 1, start - 1, -1):
            np.add(g[t], carry, out=dh[t])                                # ADD this step's own gradient to the carry
            if h is not None:
                np.multiply(dh[t], slope[t - start], out=da[t])
            np.matmul(W_hhT, da[t], out=carry)
            if xi is not None:
                carry *= xi[t]                                            # ξ_t = 0 cuts the chain here
    return da, dh, carry


def _bptt_truncated(g, h, W_hh, k):
    """Each loss backpropagated through its last ``k`` steps: a sum over lags ``ℓ = 0 … k-1``.

    ``G[j]`` holds ``∂E_{j+ℓ}/∂h_j`` for the current lag ℓ, for every j at once (one stacked matmul per lag),
    so ``δa_j = Σ_{ℓ<k} G_ℓ[j] ⊙ φ'(a_j)``. The state before each window gets no gradient from that loss.
    Layout (T, n, B) as in :func:`_bptt_full`.
    """
    T, n, B = g.shape
    dtype = np.result_type(g, W_hh)
    dphi = None if h is None else 1.0 - h * h
    dh = np.zeros((T, n, B), dtype=dtype)
    da = np.zeros((T, n, B), dtype=dtype)
    dh0 = np.zeros((n, B), dtype=dtype)
    G = np.array(g, dtype=dtype)
    for ell, lo, hi in lag_windows(g, k):                                 # steps j with a loss ℓ steps later
        A = G[lo:hi] if dphi is None else G[lo:hi] * dphi[lo:hi]
        dh[lo:hi] += G[lo:hi]
        da[lo:hi] += A
        at_start = lo == 0                                                 # the loss at step ℓ+1 <= k reaches h_0
        if at_start:
            dh0 += W_hh.T @ A[0]
        if ell + 1 < k and hi - lo > at_start:
            G[lo - 1 + at_start:hi - 1] = np.matmul(W_hh.T, A[at_start:])  # to step j-1, for the next lag
    return da, dh, dh0


def _run(x, h0, W_in, W_hh, b, phi):
    """The forward loop: returns ``H`` (T+1, n_h, B) with ``H[t] = h_t`` (``H[0] = h_0``).

    ``H`` is time-major, so each step reads and writes one contiguous block. The input projection of every
    step is ONE matmul before the loop, on the inputs laid out feature-major (every example of every step
    one column; scratch arrays reused between calls, see :mod:`bpcore.workspace`).
    """
    T, n_x, B = x.shape
    n_h = W_hh.shape[0]
    dtype = np.result_type(x, h0, W_in, W_hh)
    X = workspace.columns("rnn.X", [x], dtype, ones=b is not None)       # [x_t; 1] of every step
    W = W_in if b is None else np.concatenate([W_in, b], axis=1)           # [W_xh b_h] acting on [x_t; 1]
    P = workspace.empty("rnn.P", (n_h, T * B), dtype)
    np.matmul(W, X, out=P)                                                 # W_xh x_t + b_h for all T steps at once
    P = P.reshape(n_h, T, B)
    H = np.empty((T + 1, n_h, B), dtype=dtype)
    H[0] = h0
    for t in range(T):                                                    # only the recurrent product stays inside
        np.matmul(W_hh, H[t], out=H[t + 1])
        H[t + 1] += P[:, t]
        if phi is not None:
            phi(H[t + 1], out=H[t + 1])
    return H


def _weight_grads(da, H, x, bias):
    """``A`` = δa as (n_h, T·B), and ``A Zᵀ = Σ_t δa_t [h_{t-1}; x_t; 1]ᵀ = [∂W_hh  ∂W_in  ∂b]``: every weight
    gradient in ONE matmul over all steps and examples (``Z`` holds ``[h_{t-1}; x_t; 1]`` as columns)."""
    T = da.shape[0]
    A = workspace.columns("rnn.A", [da], da.dtype)
    Z = workspace.columns("rnn.Z", [H[:T], x], da.dtype, ones=bias)
    return A, A @ Z.T


def _input_grad(da, A, W_in):
    """``∂E/∂x_t = W_inᵀ δa_t`` for all steps in one matmul (``A`` is δa as columns), returned as (T, n_x, B)."""
    T, _, B = da.shape
    return (W_in.T @ A).reshape(W_in.shape[1], T, B).transpose(1, 0, 2)


# ---------------------------------------------------------------- input checks

def _check_sequence(x, h0, params, shapes):
    """Parameters, then ``x`` (T >= 1, B >= 1) and ``h0``, both cast to the parameters' dtype."""
    dims = {}
    p = check_params(params, shapes, dims)
    dt = params_dtype(p)
    x = check_array("x", x, ("T", "n_x", "B"), dims).astype(dt, copy=False)
    check_nonempty("x", x, 0, "time steps (T)")
    check_nonempty("x", x, 2, "examples (the batch B)")
    if h0 is None:
        return x, np.zeros((dims["n_h"], x.shape[2]), dtype=dt), p
    h0 = check_array("h0", h0, ("n_h", "B"), dims).astype(dt, copy=False)
    return x, h0, p
