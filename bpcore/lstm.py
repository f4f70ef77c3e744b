"""LSTM: step and sequence forward/backward in the notation of seed 000, "LSTM 的解决方式".

Sizes (seed 000, "参数尺寸"): input ``x_t`` is ``n × 1``, the previous output ``h_{t-1}`` is ``m × 1``, the
hidden size is ``p = m``. Each gate acts on the stacked column ``[h_{t-1}; x_t]`` of size ``(m + n) × 1``:

    f_t  = σ(W_f [h_{t-1}; x_t] + b_f)          forget gate        W_f : p × (m+n), b_f : p × 1
    i_t  = σ(W_i [h_{t-1}; x_t] + b_i)          input gate         W_i : p × (m+n), b_i : p × 1
    C̃_t  = tanh(W_c [h_{t-1}; x_t] + b_c)       candidate state    W_c : p × (m+n), b_c : p × 1
    o_t  = σ(W_o [h_{t-1}; x_t] + b_o)          output gate        W_o : p × (m+n), b_o : p × 1
    C_t  = f_t ⊙ C_{t-1} + i_t ⊙ C̃_t            cell state
    h_t  = o_t ⊙ tanh(C_t)                       output

A batch is extra columns (``x_t`` is ``n × B``), a sequence puts time first (``x`` is ``T × n × B``).

Two layers of code:

* ``step_forward`` / ``step_backward`` follow the derivation one step at a time and are written to be
  read next to lesson 08: ``δh_t → δo_t, δC_t``; ``δf_t, δi_t, δC̃_t, δC_{t-1}``; ``δW_*``; ``δh_{t-1}``.
* ``forward`` / ``backward`` run a whole sequence fast. Internally ``W_*`` is split into its column
  blocks ``W_*h`` (acting on ``h_{t-1}``) and ``W_*x`` (acting on ``x_t``) and the four gates are stacked
  into one ``4p``-row matrix (order f, i, o, c so the three sigmoids are one contiguous block). All input
  projections ``W_*x x_t`` are one matmul call before the time loop; inside the loop only the bias, the
  recurrent ``W_*h h_{t-1}`` and the elementwise gate algebra remain; after the backward loop all weight
  gradients are one matmul over all steps (``Σ_t δa_t [h_{t-1}; x_t]^T``). Both layers share the cell's
  forward code (``_cell_forward``). Backward, the step follows the derivation (``_cell_backward``); the
  sequence uses the same equations factored: the derivation is linear in ``(δh_t, δC_t)``, so the factors
  that multiply them (``_gate_slopes``) are formed for several steps per call and the loop keeps only the
  products (``_slopes_backward``); a test checks that both give the same numbers.
  Memory layout, chosen by measurement (``benchmarks/bench_lstm.py``): per-step arrays are time-major
  ``(T, features, B)`` so every step works on contiguous blocks; the weight-gradient matmul wants the
  feature-major ``(features, T·B)`` layout, made by one copy into scratch arrays reused between calls
  (:mod:`bpcore.workspace`).

``backward`` also returns the per-step totals ``delta_h[t] = ∂E/∂h_t`` and ``delta_C[t] = ∂E/∂C_t`` (all
later losses included) that the gradient-norm diagnostics plot against the lag.

On top sits an optional output layer ``z_t = W_hz h_t + b_z`` with a softmax cross-entropy (classes) or
squared-error (regression, e.g. the adding problem) loss, read out at the last step or at every step:
``loss_and_grads`` makes a sequence task train end to end. The output layer, the loss, the targets and
the truncation modes (``mode``, ``k``, ``pi``, ``rng``, ``xi``) are :mod:`bpcore.sequence`'s, shared with
the tanh RNN, and so is the convention (README, "For contributors"): parameters first, initial states as
keywords, ``backward(dout, cache)`` returning gradients keyed by what they differentiate, computation in
the parameters' dtype.
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
    check_dict,
    check_float_dtype,
    check_nonempty,
    check_params,
    check_rng,
    check_scalar,
    params_dtype,
)

GATES = ("f", "i", "c", "o")  # seed 000's order; the fast path stacks them as f, i, o, c
_STACK = ("f", "i", "o", "c")
WEIGHTS = tuple(f"W_{g}" for g in GATES)
BIASES = tuple(f"b_{g}" for g in GATES)
OUTPUT = OUTPUT_KEYS
_SHAPES = {k: ("p", "m+n") for k in WEIGHTS} | {k: ("p", 1) for k in BIASES}


# ----------------------------------------------------------------------------------------------------
# parameters


def init_params(n_x: int, n_h: int, rng: np.random.Generator, *, n_z: int | None = None, forget_bias: float = 1.0,
                scale: float | None = None, dtype=np.float64) -> dict:
    """Random LSTM parameters for ``n_x`` inputs and ``n_h`` hidden units, and an output layer if ``n_z``.

    In lesson 08's notation ``n = n_x`` and ``p = m = n_h``; the arguments are those of
    ``bpcore.rnn.init_params``.

    ``W_*`` ~ N(0, scale²) with ``scale = 1/sqrt(p + n)`` by default; ``b_i, b_c, b_o = 0``;
    ``b_f = forget_bias`` (every entry): a positive forget bias starts ``f_t = σ(b_f + …)`` near 1, so the
    cell state — and the gradient along it — is carried over many steps from the first update on
    (lesson 08). With ``n_z`` adds ``W_hz`` (``n_z × p``, scale ``1/sqrt(p)``) and ``b_z = 0``.
    """
    n, p = check_scalar("n_x", n_x, low=1, integer=True), check_scalar("n_h", n_h, low=1, integer=True)
    check_scalar("forget_bias", forget_bias)
    check_rng(rng)
    dtype = check_float_dtype("dtype", dtype)
    if scale is None:
        scale = 1.0 / np.sqrt(p + n)
    check_scalar("scale", scale, low=0)
    params = {}
    for g in GATES:
        params[f"W_{g}"] = (rng.standard_normal((p, p + n)) * scale).astype(dtype)
    for g in GATES:
        params[f"b_{g}"] = np.full((p, 1), forget_bias if g == "f" else 0.0, dtype=dtype)
    if n_z is not None:
        check_scalar("n_z", n_z, low=1, integer=True)
        params["W_hz"] = (rng.standard_normal((n_z, p)) / np.sqrt(p)).astype(dtype)
        params["b_z"] = np.zeros((n_z, 1), dtype=dtype)
    return params


def _check_lstm_params(params: dict, dims: dict) -> dict:
    """Check the eight gate blocks; binds ``dims['p']`` and ``dims['n']``."""
    check_dict("params", params)
    checked = check_params(params, _SHAPES, dims)
    p, mn = dims["p"], dims["m+n"]
    if mn <= p:
        raise ValueError(f"argument 'params': W_f has shape {checked['W_f'].shape}; expected p × (m + n) "
                         f"with m = p = {p} columns for h_(t-1) and at least one input column (n >= 1)")
    dims["n"] = mn - p
    return checked


def _dtype(params: dict):
    return params_dtype({k: params[k] for k in WEIGHTS})


def stack_gates(params: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(W_h, W_x, b)``: the gates' column blocks stacked in the order f, i, o, c.

    ``W_h`` (4p × p) multiplies ``h_{t-1}``, ``W_x`` (4p × n) multiplies ``x_t``, ``b`` is 4p × 1.
    """
    p = params["W_f"].shape[0]
    W = np.concatenate([params[f"W_{g}"] for g in _STACK], axis=0)
    b = np.concatenate([params[f"b_{g}"] for g in _STACK], axis=0)
    return np.ascontiguousarray(W[:, :p]), np.ascontiguousarray(W[:, p:]), b


def _unstack(dW_h: np.ndarray, dW_x: np.ndarray, db: np.ndarray) -> dict:
    """Inverse of :func:`stack_gates` for gradients: back to ``{W_f: p × (m+n), b_f: p × 1, ...}``."""
    p = dW_h.shape[1]
    grads = {}
    for k, g in enumerate(_STACK):
        rows = slice(k * p, (k + 1) * p)
        grads[f"W_{g}"] = np.concatenate([dW_h[rows], dW_x[rows]], axis=1)
        grads[f"b_{g}"] = db[rows]
    return {k: grads[k] for k in WEIGHTS + BIASES}


# ----------------------------------------------------------------------------------------------------
# the cell's elementwise algebra, shared by the step and the sequence functions


def _cell_forward(a: np.ndarray, C_prev: np.ndarray, out=None, *, halved: bool = False):
    """Gate activations from stacked pre-activations ``a`` (4p × B, order f, i, o, c), overwritten in place.

    Returns ``(gates, C, tanh_C, h)``; ``gates`` is ``a`` holding ``[f; i; o; C̃]``. ``out`` may give four
    (p × B) arrays to write ``C``, ``tanh_C``, ``h`` and a scratch product into (the sequence loop's slots).
    σ is computed as ``σ(a) = (1 + tanh(a/2)) / 2``: exact, overflow-free for any ``a``. With ``halved`` the
    sigmoid rows of ``a`` already hold ``a/2`` (the sequence path folds the ½ into its stacked weights), so
    one ``tanh`` call covers all four gates.
    """
    p = C_prev.shape[0]
    sig = a[:3 * p]
    if not halved:
        sig *= 0.5
    np.tanh(a, out=a)
    sig *= 0.5
    sig += 0.5
    f, i, o, C_tilde = a[:p], a[p:2 * p], a[2 * p:3 * p], a[3 * p:]
    C, tanh_C, h, scratch = out if out is not None else [np.empty_like(C_prev) for _ in range(4)]
    np.multiply(f, C_prev, out=C)                 # C_t = f_t ⊙ C_{t-1} + i_t ⊙ C̃_t
    C += np.multiply(i, C_tilde, out=scratch)
    np.tanh(C, out=tanh_C)
    np.multiply(o, tanh_C, out=h)                 # h_t = o_t ⊙ tanh(C_t)
    return a, C, tanh_C, h


def _cell_backward(delta_h, delta_C, gates, C_prev, tanh_C, out=None):
    """Derivation steps 1–2 and the gate nonlinearities for one step.

    Given ``δh_t`` (total ∂E/∂h_t) and ``δC_t`` arriving from step t+1 (∂E/∂C_t through C_{t+1} only),
    returns ``(δa, δC_t_total, δC_{t-1})`` where ``δa`` (4p × B, order f, i, o, c) is the gradient of the
    gate pre-activations and ``δC_t_total`` adds the path through ``h_t``. ``out`` may give the arrays to
    write ``δa`` and ``δC_t_total`` into (the sequence loop's slots for step t).
    """
    p = C_prev.shape[-2]                  # [..., rows, :] slices: also works on a stack of steps (T, 4p, B)
    f, i, o, C_tilde = gates[..., :p, :], gates[..., p:2 * p, :], gates[..., 2 * p:3 * p, :], gates[..., 3 * p:, :]
    delta_a, delta_C_total = out if out is not None else (np.empty_like(gates), np.empty_like(delta_C))
    delta_f, delta_i, delta_o, delta_C_tilde = (delta_a[..., :p, :], delta_a[..., p:2 * p, :],
                                                delta_a[..., 2 * p:3 * p, :], delta_a[..., 3 * p:, :])
    # step 1: h_t = o_t ⊙ tanh(C_t)  →  δo_t = δh_t ⊙ tanh(C_t),  δC_t += δh_t ⊙ o_t ⊙ (1 - tanh²(C_t))
    np.multiply(delta_h, tanh_C, out=delta_o)
    np.add(delta_C, delta_h * o * (1.0 - tanh_C * tanh_C), out=delta_C_total)
    # step 2: C_t = f_t ⊙ C_{t-1} + i_t ⊙ C̃_t
    np.multiply(delta_C_total, C_prev, out=delta_f)
    np.multiply(delta_C_total, C_tilde, out=delta_i)
    np.multiply(delta_C_total, i, out=delta_C_tilde)
    delta_C_prev = delta_C_total * f
    # through the nonlinearities, in place: σ' = σ(1 - σ) for f, i, o at once; tanh' = 1 - tanh² for C̃
    sig = gates[..., :3 * p, :]
    delta_a[..., :3 * p, :] *= sig * (1.0 - sig)
    delta_C_tilde *= 1.0 - C_tilde * C_tilde
    return delta_a, delta_C_total, delta_C_prev


def _gate_slopes(gates, C_prev, tanh_C, S, K):
    """What :func:`_cell_backward` multiplies ``δh_t`` and ``δC_t`` by, for a block of steps at once.

    ``_cell_backward`` is linear in ``(δh_t, δC_t)``: with ``σ' = σ(1-σ)`` and ``tanh' = 1 - tanh²``,
    ``δf = δC_t ⊙ C_{t-1} σ'(f)``, ``δi = δC_t ⊙ C̃ σ'(i)``, ``δo = δh_t ⊙ tanh(C_t) σ'(o)``,
    ``δC̃ = δC_t ⊙ i tanh'(C̃)`` and ``δC_t += δh_t ⊙ o tanh'(C_t)``. These factors do not depend on the
    gradients, so the sequence backward forms them for several steps in one call per factor, writing
    ``S`` (…, 4p, B: the four gate slopes, order f, i, o, c) and ``K`` (…, p, B: ``o ⊙ tanh'(C_t)``), and
    keeps only the products with ``δh_t``, ``δC_t`` in its per-step loop (:func:`_slopes_backward`).
    """
    p = tanh_C.shape[-2]
    sig, C_tilde = gates[..., :3 * p, :], gates[..., 3 * p:, :]
    np.subtract(1.0, sig, out=S[..., :3 * p, :])
    S[..., :3 * p, :] *= sig
    S[..., :p, :] *= C_prev
    S[..., p:2 * p, :] *= C_tilde
    S[..., 2 * p:3 * p, :] *= tanh_C
    slope_c = S[..., 3 * p:, :]
    np.multiply(C_tilde, C_tilde, out=slope_c)
    np.subtract(1.0, slope_c, out=slope_c)
    slope_c *= gates[..., p:2 * p, :]
    np.multiply(tanh_C, tanh_C, out=K)
    np.subtract(1.0, K, out=K)
    K *= gates[..., 2 * p:3 * p, :]


def _slopes_backward(delta_h, delta_C, S, K, f, out):
    """:func:`_cell_backward` given the slopes of :func:`_gate_slopes`: writes ``δa`` (4p × B) and
    ``δC_t`` (total) into ``out = (δa, δC_t_total, δC_{t-1}, scratch)``."""
    delta_a, delta_C_total, delta_C_prev, scratch = out
    p = K.shape[-2]
    np.add(delta_C, np.multiply(delta_h, K, out=scratch), out=delta_C_total)    # δC_t += δh_t ⊙ o tanh'(C_t)
    np.multiply(delta_C_total, S[:2 * p].reshape(2, p, -1), out=delta_a[:2 * p].reshape(2, p, -1))  # δf, δi
    np.multiply(delta_h, S[2 * p:3 * p], out=delta_a[2 * p:3 * p])               # δo
    np.multiply(delta_C_total, S[3 * p:], out=delta_a[3 * p:])                   # δC̃
    np.multiply(delta_C_total, f, out=delta_C_prev)                             # δC_{t-1} = δC_t ⊙ f_t


# ----------------------------------------------------------------------------------------------------
# one time step, as derived


def step_forward(params: dict, x_t: np.ndarray, h_prev: np.ndarray, C_prev: np.ndarray):
    """One LSTM step ``(x_t, h_{t-1}, C_{t-1}) → (h_t, C_t)``.

    Inputs:
      params : ``W_f, W_i, W_c, W_o`` (p, p+n) and ``b_f, b_i, b_c, b_o`` (p, 1)
      x_t    : (n, B) input ``x_t``
      h_prev : (p, B) previous output ``h_{t-1}``
      C_prev : (p, B) previous cell state ``C_{t-1}``
    Returns ``((h_t, C_t), cache)`` with ``h_t, C_t`` (p, B): the output is the new state.
    """
    dims = {}
    P = _check_lstm_params(params, dims)
    dt = _dtype(P)
    x = check_array("x_t", x_t, ("n", "B"), dims).astype(dt, copy=False)
    h_prev = check_array("h_prev", h_prev, ("p", "B"), dims).astype(dt, copy=False)
    C_prev = check_array("C_prev", C_prev, ("p", "B"), dims).astype(dt, copy=False)
    hx = np.concatenate([h_prev, x], axis=0)                     # [h_{t-1}; x_t] : (m+n) × B
    a = np.concatenate([P[f"W_{g}"] @ hx + P[f"b_{g}"] for g in _STACK], axis=0)
    gates, C, tanh_C, h = _cell_forward(a, C_prev)
    return (h, C), {"hx": hx, "C_prev": C_prev, "gates": gates, "tanh_C": tanh_C, "params": P}


def step_backward(dout, cache: dict) -> dict:
    """Backward through one step, following derivation steps 1–4 of lesson 08.

    Inputs:
      dout  : the pair ``(δh_t, δC_t)``, shaped like step_forward's output ``(h_t, C_t)``:
              ``δh_t`` (p, B) is ``∂E/∂h_t`` (everything that reaches h_t: its own loss and step t+1),
              ``δC_t`` (p, B) is ``∂E/∂C_t`` through ``C_{t+1}`` only (zeros at the last step)
      cache : from :func:`step_forward`
    Returns a dict with ``W_f … W_o`` (p, p+n), ``b_f … b_o`` (p, 1), ``x_t`` (n, B), ``h_prev`` (p, B),
    ``C_prev`` (p, B) — the last two are what step t-1 receives as its ``(δh, δC)`` (plus its own loss
    for ``δh``).
    """
    P, hx, gates = cache["params"], cache["hx"], cache["gates"]
    p = P["W_f"].shape[0]
    dims = {"p": p, "B": hx.shape[1]}
    if not isinstance(dout, (tuple, list)) or len(dout) != 2:
        raise ValueError(f"argument 'dout': expected the pair (dh_t, dC_t), got {type(dout).__name__}")
    delta_h = check_array("dout[0]", dout[0], ("p", "B"), dims).astype(hx.dtype, copy=False)
    delta_C = check_array("dout[1]", dout[1], ("p", "B"), dims).astype(hx.dtype, copy=False)
    delta_a, _, delta_C_prev = _cell_backward(delta_h, delta_C, gates, cache["C_prev"], cache["tanh_C"])
    grads = {}
    delta_hx = np.zeros_like(hx)
    for k, g in enumerate(_STACK):
        delta_a_g = delta_a[k * p:(k + 1) * p]              # ∂E/∂(W_g [h;x] + b_g) : p × B
        grads[f"W_{g}"] = delta_a_g @ hx.T                  # step 3: δW_g = δa_g ⊗ [h_{t-1}; x_t]
        grads[f"b_{g}"] = delta_a_g.sum(axis=1, keepdims=True)
        delta_hx += P[f"W_{g}"].T @ delta_a_g               # step 4: δ[h_{t-1}; x_t] = Σ_g W_g^T δa_g
    out = {k: grads[k] for k in WEIGHTS + BIASES}
    out.update(x_t=delta_hx[p:], h_prev=delta_hx[:p], C_prev=delta_C_prev)
    return out


# ----------------------------------------------------------------------------------------------------
# a whole sequence, fast


def forward(params: dict, x: np.ndarray, *, h0: np.ndarray | None = None, C0: np.ndarray | None = None):
    """Run the LSTM over a sequence.

    Inputs:
      params : the eight gate blocks (extra keys such as ``W_hz`` are ignored)
      x      : (T, n, B) inputs ``x_1 … x_T``
      h0, C0 : (p, B) initial output and cell state (zeros if omitted)
    Returns ``(h, cache)``: ``h`` is (T, p, B) with ``h[t-1] = h_t``; ``cache["C"]`` holds the cell states
    (T, p, B), ``cache["gates"]`` the activations (T, 4p, B) in the stacked order f, i, o, c.
    """
    dims = {}
    P = _check_lstm_params(params, dims)
    dt = _dtype(P)
    x = check_array("x", x, ("T", "n", "B"), dims).astype(dt, copy=False)
    T, n, B = x.shape
    check_nonempty("x", x, 0, "time steps (T)")
    check_nonempty("x", x, 2, "examples (the batch B)")
    p = dims["p"]
    h0 = np.zeros((p, B), dt) if h0 is None else check_array("h0", h0, ("p", "B"), dims).astype(dt, copy=False)
    C0 = np.zeros((p, B), dt) if C0 is None else check_array("C0", C0, ("p", "B"), dims).astype(dt, copy=False)
    W_h, W_x, b = stack_gates(P)
    # The ½ of σ(a) = (1 + tanh(a/2))/2 is folded into the sigmoid rows of the weights the loop uses (an exact
    # power of two), so one tanh call a step covers all four gates. Every per-step array is time-major
    # (T, …, B): a step's slice is one contiguous block, on which numpy's elementwise calls run several
    # times faster than on strided slices. Every input projection W_*x x_t + b_* is ONE matmul call before
    # the loop (a row of ones carries the bias), written straight into the gate buffer; the loop adds the
    # recurrent part W_*h h_{t-1}.
    half = np.ones((4 * p, 1), dt)
    half[:3 * p] = 0.5
    x1 = workspace.empty("lstm.x1", (T, n + 1, B), dt)                       # [x_t; 1], scratch
    x1[:, :n] = x
    x1[:, n] = 1.0
    gates = np.matmul(np.concatenate([W_x, b], axis=1) * half, x1)          # (T, 4p, B)
    W_h_half = W_h * half
    hs = np.empty((T + 1, p, B), dt)                                          # hs[t] = h_t, hs[0] = h_0
    hs[0] = h0
    Cs = np.empty((T + 1, p, B), dt)                                          # Cs[t] = C_t, Cs[0] = C_0
    Cs[0] = C0
    tanh_C = np.empty((T, p, B), dt)
    recurrent = np.empty((4 * p, B), dt)
    scratch = np.empty((p, B), dt)
    for a, h_prev, h_t, C_prev, C_t, tanh_C_t in zip(gates, hs[:-1], hs[1:], Cs[:-1], Cs[1:], tanh_C):
        np.matmul(W_h_half, h_prev, out=recurrent)
        a += recurrent
        _cell_forward(a, C_prev, out=(C_t, tanh_C_t, h_t, scratch), halved=True)
    h, C = hs[1:], Cs[1:]
    cache = {"x": x, "h0": h0, "C0": C0, "hs": hs, "h": h, "Cs": Cs, "C": C, "tanh_C": tanh_C, "gates": gates,
             "W_h": W_h, "W_x": W_x}
    return h, cache


def backward(dout: np.ndarray, cache: dict, *, dC_T: np.ndarray | None = None, mode: str = "full",
             k: int | None = None, pi: float | None = None, rng: np.random.Generator | None = None,
             xi=None) -> dict:
    """Backpropagation through time for :func:`forward`.

    Inputs:
      dout  : (T, p, B) gradient of the loss with respect to each output ``h_t`` *directly* (from the
              output layer at step t); zeros where a step has no loss
      cache : from :func:`forward`
      dC_T  : (p, B) optional gradient arriving at ``C_T`` from outside (e.g. from a later segment)
      mode  : "full"; "truncated" with ``k``: each loss is backpropagated through its last k steps only,
              and the state ``(h, C)`` feeding that window is held constant (``dC_T`` counts as a loss at
              step T), k ≥ T is full BPTT; "randomized" with ``pi`` and ``rng`` (or the draws ``xi``):
              ``ξ_t`` scales both edges ``h_{t-1} → step t`` and ``C_{t-1} → C_t``. The modes of
              ``bpcore.rnn.backward``, see :mod:`bpcore.sequence`.
    Returns a dict with ``W_f … W_o`` (p, p+n), ``b_f … b_o`` (p, 1), ``x`` (T, n, B), ``h0`` and ``C0``
    (p, B), and the per-step totals ``delta_h`` = ∂E/∂h_t and ``delta_C`` = ∂E/∂C_t, both (T, p, B).

    The classic bug this avoids: at each step the gradient from the step's own output must be *added*
    to the one carried back from step t+1: ``δh_t = δh_out[t] + W_h^T δa_{t+1}``.
    """
    C, hs = cache["C"], cache["hs"]
    T, p, B = C.shape
    dims = {"T": T, "p": p, "B": B}
    delta_h_out = check_array("dout", dout, ("T", "p", "B"), dims).astype(C.dtype, copy=False)
    mode, setting = truncation(T, mode, k, pi, rng, xi)
    W_h, W_x, x = cache["W_h"], cache["W_x"], cache["x"]
    n, dt = x.shape[1], C.dtype
    carry_C = (np.zeros((p, B), dt) if dC_T is None
               else check_array("dC_T", dC_T, ("p", "B"), dims).astype(dt))
    W_hT = np.ascontiguousarray(W_h.T)
    if mode == "truncated":
        delta_a, delta_h, delta_C, carry_h, carry_C = _backward_truncated(delta_h_out, carry_C, cache, W_hT, setting)
    else:
        xi = setting if mode == "randomized" else None
        delta_a, delta_h, delta_C, carry_h, carry_C = _backward_full(delta_h_out, carry_C, cache, W_hT, xi)
    # Step 3 and step 4 (input block), each ONE matmul over all T·B columns. That needs the columns of δa and
    # of [h_{t-1}; x_t] side by side, i.e. feature-major (features, T, B): one copy each, cheaper than
    # running the loop above on strided feature-major slices.
    a_cols = workspace.columns("lstm.a_cols", [delta_a], dt)
    Z = workspace.columns("lstm.Z", [hs[:T], x], dt, ones=True)
    dW = a_cols @ Z.T                                          # Σ_t δa_t [h_{t-1}; x_t; 1]^T = [δW_h δW_x δb]
    grads = _unstack(dW[:, :p], dW[:, p:p + n], dW[:, p + n:])
    grads["x"] = (W_x.T @ a_cols).reshape(n, T, B).transpose(1, 0, 2)
    grads["h0"] = carry_h
    grads["C0"] = carry_C
    grads["delta_h"] = delta_h
    grads["delta_C"] = delta_C
    return grads


def _backward_full(delta_h_out, carry_C, cache, W_hT, xi=None):
    """Full BPTT, step T down to 1. Returns δa (T, 4p, B), δh, δC (T, p, B), δh_0, δC_0.

    With the draws ``xi`` (randomized truncation), ξ_t scales both carries into step t-1 after step t.

    The gate slopes of :func:`_gate_slopes` are formed for ``SLOPE_BLOCK`` steps at a time (in cache, few
    calls), so each step only adds its own δh, scales the slopes by δh_t and δC_t, and runs ``W_h^T δa_t``.
    """
    Cs, gates, tanh_C = cache["Cs"], cache["gates"], cache["tanh_C"]
    T, p, B = tanh_C.shape
    dt = tanh_C.dtype
    delta_a = workspace.empty("lstm.delta_a", (T, 4 * p, B), dt)   # time-major, like the forward cache
    delta_h = np.empty((T, p, B), dt)
    delta_C = np.empty((T, p, B), dt)
    carry_h = np.zeros((p, B), dt)
    carry_C = np.array(carry_C, dtype=dt)
    S = workspace.empty("lstm.slopes", (SLOPE_BLOCK, 4 * p, B), dt)
    K = workspace.empty("lstm.slope_C", (SLOPE_BLOCK, p, B), dt)
    scratch = np.empty((p, B), dt)
    for end in range(T, 0, -SLOPE_BLOCK):
        start = max(0, end - SLOPE_BLOCK)
        m = end - start
        _gate_slopes(gates[start:end], Cs[start:end], tanh_C[start:end], S[:m], K[:m])
        for t in range(end - 1, start - 1, -1):
            np.add(delta_h_out[t], carry_h, out=delta_h[t])    # ADD the output's gradient to the carried one
            _slopes_backward(delta_h[t], carry_C, S[t - start], K[t - start], gates[t, :p],
                             out=(delta_a[t], delta_C[t], carry_C, scratch))
            np.matmul(W_hT, delta_a[t], out=carry_h)           # step 4, recurrent block only
            if xi is not None:                                 # ξ_t = 0 cuts both paths into step t-1
                carry_h *= xi[t]
                carry_C *= xi[t]
    return delta_a, delta_h, delta_C, carry_h, carry_C


def _backward_truncated(delta_h_out, delta_C_last, cache, W_hT, k):
    """Truncated BPTT: every loss backpropagated through its last ``k`` steps, as a sum over lags ℓ < k.

    ``G_h[j]``, ``G_C[j]`` hold what the losses ℓ steps later send to step j (``∂E_{j+ℓ}/∂h_j`` and, through
    ``C_{j+1}``, ``∂E_{j+ℓ}/∂C_j``), for every j at once. The backward of a step is linear in what arrives,
    so one stacked cell backward per lag gives every loss's contribution at that distance; after k lags
    nothing is passed on (the window's input state is a constant). Returns δa, δh, δC (T, …, B), δh_0, δC_0.
    """
    C, gates, tanh_C = cache["C"], cache["gates"], cache["tanh_C"]
    T, p, B = C.shape
    C_prev = np.concatenate([cache["C0"][None], C[:-1]])      # C_{t-1} for every step
    delta_a = np.zeros((T, 4 * p, B), C.dtype)
    delta_h, delta_C = np.zeros((T, p, B), C.dtype), np.zeros((T, p, B), C.dtype)
    dh0, dC0 = np.zeros((p, B), C.dtype), np.zeros((p, B), C.dtype)
    G_h = np.array(delta_h_out, dtype=C.dtype)                 # lag 0: each step's own loss
    G_C = np.zeros((T, p, B), C.dtype)
    G_C[-1] = delta_C_last
    for ell, lo, hi in lag_windows(delta_h_out, k, last_too=bool(np.any(delta_C_last))):
        w = slice(lo, hi)                                      # steps j with a loss ℓ steps later
        a, C_total, C_back = _cell_backward(G_h[w], G_C[w], gates[w], C_prev[w], tanh_C[w])
        delta_a[w] += a
        delta_h[w] += G_h[w]
        delta_C[w] += C_total
        h_back = np.matmul(W_hT, a)                            # what step j sends to h_{j-1}
        at_start = lo == 0                                     # the loss at step ℓ+1 <= k reaches h_0, C_0
        if at_start:
            dh0 += h_back[0]
            dC0 += C_back[0]
        if ell + 1 < k and hi - lo > at_start:                 # to step j-1, for the next lag
            G_h[lo - 1 + at_start:hi - 1] = h_back[at_start:]
            G_C[lo - 1 + at_start:hi - 1] = C_back[at_start:]
    return delta_a, delta_h, delta_C, dh0, dC0


# ----------------------------------------------------------------------------------------------------
# output layer and loss: a sequence task end to end

def predict(params: dict, x: np.ndarray, *, h0=None, C0=None, loss: str = "cross_entropy") -> np.ndarray:
    """The prediction ``z_t`` (T, n_z, B) at every step for inputs ``x`` (T, n_x, B), as ``bpcore.rnn.predict``.

    The class probabilities ``softmax(W_hz h_t + b_z)`` for ``loss="cross_entropy"``; the outputs
    ``W_hz h_t + b_z`` themselves for ``"squared_error"`` (:func:`bpcore.sequence.prediction`);
    ``loss_and_grads(..., details=True)`` returns the same ``z``.
    """
    h, _ = forward(params, x, h0=h0, C0=C0)
    out = check_output_params(params, h.shape[1], h.dtype)
    return prediction(np.matmul(out["W_hz"], h) + out["b_z"], loss)


def loss_and_grads(params: dict, x: np.ndarray, y: np.ndarray, *, h0=None, C0=None, loss: str = "cross_entropy",
                   mode: str = "full", k: int | None = None, pi: float | None = None,
                   rng: np.random.Generator | None = None, xi=None, details: bool = False):
    """Loss of a sequence task and its gradient for every key of ``params`` (gates and output layer).

    ``z_t = W_hz h_t + b_z``; ``E = Σ_t J(z_t, y_t)`` over the steps that have a target: every step when
    ``y`` has a time axis, the last step only when it has none (:mod:`bpcore.sequence`). ``J`` is
    :mod:`bpcore.functional`'s ``"cross_entropy"`` (softmax from the logits, mean over the batch; ``y``
    integer labels (B,) or (T, B)) or ``"squared_error"`` (``½‖z - y‖²`` mean over the batch; ``y`` (n_z, B)
    or (T, n_z, B)).

    Returns ``(E, grads)``, grads keyed exactly like ``params`` (so ``bpcore.optim`` can clip and step
    them), or ``(E, grads, info)`` with ``details=True``: ``info`` holds the values ``h``, ``C`` (T, p, B)
    and ``z`` (the prediction, as :func:`predict`), and the gradients ``delta_h``, ``delta_C`` (T, p, B)
    (the per-step ``∂E/∂h_t`` and ``∂E/∂C_t``), ``dx``, ``dh0``, ``dC0``. ``mode``, ``k``, ``pi``, ``rng``,
    ``xi`` go to :func:`backward`.
    """
    h, cache = forward(params, x, h0=h0, C0=C0)
    out = check_output_params(params, h.shape[1], h.dtype)
    E, dh, out_grads, z = output_loss(out, h, y, loss)
    g = backward(dh, cache, mode=mode, k=k, pi=pi, rng=rng, xi=xi)
    grads = {key: g[key] for key in WEIGHTS + BIASES} | out_grads
    grads = {key: grads[key] for key in params if key in grads}
    if details:
        return E, grads, {"h": h, "C": cache["C"], "z": prediction(z, loss), "delta_h": g["delta_h"],
                          "delta_C": g["delta_C"], "dx": g["x"], "dh0": g["h0"], "dC0": g["C0"]}
    return E, grads
