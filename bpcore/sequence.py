"""What the tanh RNN and the LSTM share: truncation of BPTT, and the output layer with its loss.

Truncation (lesson 07), one vocabulary for both models' ``backward`` and ``loss_and_grads``:

* ``mode="full"``: exact BPTT.
* ``mode="truncated"`` with ``k``: each loss ``E_t`` is backpropagated through its last ``k`` steps only,
  ``t-k+1 … t``; the state feeding that window is held constant (a stop-gradient). The exact gradient of
  that truncated objective, a biased estimate of the full gradient; ``k >= T`` is the full gradient.
* ``mode="randomized"`` with keep probability ``pi`` and ``rng`` (or the draws ``xi`` themselves), after
  Tallec & Ollivier 2017: independent ``ξ_t ∈ {0, 1/π}`` with ``P(ξ_t = 0) = 1 - π`` (so ``E[ξ_t] = 1``)
  scale the edge from step ``t-1`` into step ``t``; the chain stops at the first ``ξ_t = 0`` and surviving
  long chains are up-weighted. Unbiased.

Output layer (lessons 06, 08, 09): ``z_t = W_hz h_t + b_z`` with a loss ``J`` of :mod:`bpcore.functional`
(``"cross_entropy"`` from the logits, ``"squared_error"``). Targets at the last step only or at every step
are told apart by ``y``'s shape, the same way for both models: a target with a leading time axis of
length T (``(T, B)`` labels, ``(T, n_z, B)`` regression targets) is one target per step; one without it
(``(B,)``, ``(n_z, B)``) is the target of the last step.
"""

from __future__ import annotations

import numpy as np

from bpcore import functional as F
from bpcore.validate import check_array, check_params, check_rng, check_scalar

MODES = ("full", "truncated", "randomized")
SLOPE_BLOCK = 8   # steps per call for which a full backward pass forms its slopes (stays in cache; measured)
OUTPUT_KEYS = ("W_hz", "b_z")
STEP_TARGET_NDIM = {"cross_entropy": 1, "squared_error": 2}   # a single step's target: (B,) or (n_z, B)


def draw_xi(T: int, pi: float, rng: np.random.Generator) -> np.ndarray:
    """Randomized-truncation weights ``ξ_1 … ξ_T``: ``1/π`` with probability ``π``, else 0 (so ``E[ξ_t] = 1``).

    ``xi[t-1]`` scales the edge from step ``t-1`` into step ``t`` in the backward pass (``xi[0]`` the one
    from the initial state).
    """
    check_scalar("T", T, low=1, integer=True)
    check_scalar("pi", pi, low=0, high=1, low_open=True)
    check_rng(rng)
    return (rng.random(T) < pi) / pi


def lag_windows(g: np.ndarray, k: int, last_too: bool = False):
    """For truncated BPTT's sum over lags: the steps ``j`` that lag ``ℓ`` reaches, as ``(ℓ, lo, hi)``.

    Lag ℓ carries ``∂E_{j+ℓ}/∂(state_j)``, nonzero only where step ``j+ℓ`` has a loss: with the losses
    (the rows of ``g`` that are not all zero; ``last_too`` counts step T as one) between steps ``first`` and
    ``last``, it touches ``j`` in ``[first-ℓ, last-ℓ]`` only. A loss at the last step alone (lesson 09) is
    then k single steps, not k stacks of T. Rows outside a window are neither read nor written.
    """
    rows = np.flatnonzero(g.reshape(len(g), -1).any(axis=1))
    if last_too:
        rows = np.append(rows, len(g) - 1)
    if rows.size == 0:
        return
    first, last = int(rows.min()), int(rows.max())
    for ell in range(min(k, last + 1)):
        yield ell, max(first - ell, 0), last + 1 - ell


def truncation(T: int, mode: str, k, pi, rng, xi):
    """Resolve the truncation settings for a sequence of ``T`` steps.

    Returns ``("full", None)``, ``("truncated", k)`` with ``1 <= k < T``, or ``("randomized", ξ)`` with the
    weights ξ (T,); ``k >= T`` is the full gradient. Each setting is checked, and one that the mode does not
    use is refused (a ``k`` given with mode "full" is a slip, not a request).
    """
    if mode not in MODES:
        raise ValueError(f"argument 'mode': expected one of {MODES}, got {mode!r}")
    given = {"k": k, "pi": pi, "rng": rng, "xi": xi}
    used = {"full": (), "truncated": ("k",), "randomized": ("pi", "rng", "xi")}[mode]
    stray = [name for name, v in given.items() if v is not None and name not in used]
    if stray:
        raise ValueError(f"argument {stray[0]!r}: not used by mode {mode!r} (truncated takes k; "
                         "randomized takes pi and rng, or xi)")
    if mode == "truncated":
        if k is None:
            raise ValueError("argument 'k': mode 'truncated' needs the truncation length k >= 1")
        check_scalar("k", k, low=1, integer=True)
        return ("truncated", int(k)) if k < T else ("full", None)
    if mode == "randomized":
        if xi is None:
            if pi is None or rng is None:
                raise ValueError("mode 'randomized' needs 'pi' (keep probability in (0, 1]) and 'rng', or 'xi'")
            return "randomized", draw_xi(T, pi, rng)
        if pi is not None or rng is not None:
            raise ValueError("argument 'xi': give either the draws xi or 'pi' and 'rng', not both")
        xi = check_array("xi", xi, (T,))
        if np.any(xi < 0):
            raise ValueError("argument 'xi': weights must be >= 0")
        return "randomized", xi
    return "full", None


def check_output_params(params: dict, n_h: int, dtype) -> dict:
    """The output layer ``W_hz (n_z, n_h)``, ``b_z (n_z, 1)`` of ``params``, in the model's dtype."""
    missing = [k for k in OUTPUT_KEYS if k not in params]
    if missing:
        raise ValueError(f"argument 'params': missing output layer key(s) {missing}; "
                         "create them with init_params(..., n_z=K)")
    p = check_params(params, {"W_hz": ("n_z", n_h), "b_z": ("n_z", 1)})
    return {k: v.astype(dtype, copy=False) for k, v in p.items()}


def targets(y, loss: str, T: int, n_z: int, B: int, dtype):
    """``(ys, last_only)``: ``ys`` holds one target per step that has a loss (1 or T of them)."""
    F.loss(loss)                                                           # raises on an unknown name
    step = (B,) if STEP_TARGET_NDIM[loss] == 1 else (n_z, B)
    shape = np.shape(y)
    if shape not in (step, (T,) + step):
        raise ValueError(f"argument 'y': expected shape {step} for a target at the last step only or "
                         f"{(T,) + step} for one at every step, got {shape}")
    if loss == "cross_entropy":
        ys = F.check_labels(np.reshape(y, -1), n_z).reshape(shape)
    else:
        ys = check_array("y", y).astype(dtype, copy=False)
    return (ys[None], True) if shape == step else (ys, False)


def output_loss(out: dict, h, y, loss: str):
    """Loss ``E = Σ_t J(z_t, y_t)`` over the steps that have a target, and its gradients.

    ``out``: the checked output layer; ``h`` (T, n_h, B) hidden states. Returns ``(E, dh, grads, z)``:
    ``dh`` (T, n_h, B) is ``∂E/∂h_t`` through the output layer only (zeros where a step has no loss),
    ``grads`` holds ``W_hz`` and ``b_z``, and ``z`` the outputs (n_z, B) or (T, n_z, B).
    """
    T, n_h, B = h.shape
    value_and_grad = F.loss_kernel(loss)                                    # unchecked: z and y are checked here
    W_hz, b_z = out["W_hz"], out["b_z"]
    ys, last_only = targets(y, loss, T, W_hz.shape[0], B, h.dtype)
    steps = h[-1:] if last_only else h                                      # the hidden states that have a loss
    z = check_array("z", np.matmul(W_hz, steps) + b_z)                      # all outputs in one matmul call
    J_dJ = [value_and_grad(z[t], ys[t], 1.0 / B) for t in range(len(steps))]  # the batch mean
    E = sum(J for J, _ in J_dJ)
    dz = (J_dJ[0][1][None] if last_only else np.stack([dJ for _, dJ in J_dJ])).astype(h.dtype, copy=False)
    dh = np.zeros_like(h)
    dh[-len(steps):] = np.matmul(W_hz.T, dz)
    grads = {"W_hz": _sum_over_steps_and_batch(dz, steps), "b_z": dz.sum(axis=(0, 2))[:, None]}
    return float(E), dh, grads, z[0] if last_only else z


def _sum_over_steps_and_batch(a, b):
    """``Σ_t a_t b_tᵀ`` for ``a`` (T, m, B), ``b`` (T, n, B): ``np.tensordot(a, b, axes=([0, 2], [0, 2]))``, the
    same single dot call on the same reshaped operands, without tensordot's bookkeeping."""
    (T, m, B), n = a.shape, b.shape[1]
    return np.dot(a.transpose(1, 0, 2).reshape(m, T * B), b.transpose(0, 2, 1).reshape(T * B, n))


def prediction(s, loss: str):
    """What a model predicts from its outputs ``s = W_hz h + b_z`` (n_z, B) or (T, n_z, B): the class
    probabilities ``softmax(s)`` for ``"cross_entropy"``, the outputs themselves for ``"squared_error"``."""
    F.loss(loss)                                                           # raises on an unknown name
    return F.softmax(s, axis=s.ndim - 2) if loss == "cross_entropy" else s
