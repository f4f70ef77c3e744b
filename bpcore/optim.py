"""Optimizers: minibatch SGD, gradient clipping by global norm, a Newton step, a training loop.

SGD (seed 004, "随机梯度下降"): the cost is a mean over examples, ``J(θ) = (1/m) Σ_i L(x⁽ⁱ⁾, y⁽ⁱ⁾, θ)``;
a minibatch ``B`` of ``m'`` examples drawn at random gives the unbiased estimate
``g = (1/m') Σ_{i∈B} ∇_θ L(x⁽ⁱ⁾, y⁽ⁱ⁾, θ)`` and the update ``θ ← θ - ε g`` (:func:`sgd_step`).

Newton (seed 004): minimize the second-order Taylor model, ``x* = x - H⁻¹ g`` (:func:`newton_step`);
on a positive-definite quadratic one step lands on the minimum.

Clipping rescales all gradients together, ``g ← g · min(1, c / ‖g‖)`` with ``‖g‖`` the norm of every
entry of every parameter's gradient: the direction is kept, only an exploding step is shortened.
"""

from __future__ import annotations

import numpy as np

from bpcore import blas
from bpcore.validate import check_array, check_dict, check_rng, check_scalar, linalg_float


def _norm_parts(grads: dict) -> tuple[float, float]:
    """``(m, r)`` with ``‖g‖ = m · r``, without overflow or underflow in the squares.

    Usually ``m = 1`` and ``r = sqrt(Σ_p ‖g_p‖²)`` directly. When that sum overflows (entries near 1e155 and
    above: their squares exceed the float range) or underflows, ``m`` is the largest ``|entry|`` and
    ``r = sqrt(Σ_p ‖g_p / m‖²)``; ``m`` is inf or NaN if an entry is.
    """
    check_dict("grads", grads, nonempty=True)
    arrays = [check_array(f"grads['{k}']", g, finite=False) for k, g in grads.items()]
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        total = sum(_sum_of_squares(g) for g in arrays)
        if np.isfinite(total) and (total > 1e-290 or total == 0.0):
            return 1.0, float(np.sqrt(total))
        m = float(np.max([np.max(np.abs(g)) for g in arrays if g.size], initial=0.0))   # NaN propagates
    if m == 0.0 or not np.isfinite(m):
        return m, 1.0
    return m, float(np.sqrt(sum(_sum_of_squares(g / m) for g in arrays)))


def _sum_of_squares(g: np.ndarray) -> float:
    """``‖g‖²`` as ``np.sum(np.square(g))`` computes it, without that wrapper's cost (it is most of the time
    on a small model's arrays, summed every training step)."""
    return float(np.add.reduce(np.square(g), axis=None))


def global_norm(grads: dict) -> float:
    """``sqrt(Σ_p ‖g_p‖²)`` over every array in ``grads`` (NaN or inf if an entry is)."""
    m, r = _norm_parts(grads)
    with np.errstate(over="ignore"):
        return float(m * r)


def clip_by_global_norm(grads: dict, max_norm: float) -> tuple[dict, float]:
    """Return ``(clipped, norm_before)``; ``clipped`` are new arrays scaled by ``min(1, max_norm/‖g‖)``."""
    scale, norm = _clip_scale(grads, max_norm)
    return {k: np.asarray(g) * scale for k, g in grads.items()}, norm


def _clip_scale(grads: dict, max_norm: float) -> tuple[float, float]:
    """``(min(1, max_norm/‖g‖), ‖g‖)`` for :func:`clip_by_global_norm`; NaN or inf gradients are refused."""
    check_scalar("max_norm", max_norm, low=0, low_open=True)
    m, r = _norm_parts(grads)
    if not np.isfinite(m) or not np.isfinite(r):
        bad = next((f"grads['{k}']" for k, g in grads.items() if not np.all(np.isfinite(g))), "grads")
        raise ValueError(f"argument '{bad}': holds NaN or inf, so the global norm is {m * r}; clipping "
                         "cannot repair NaN/inf gradients (lower the learning rate or find the overflow)")
    norm = m * r if np.isfinite(m * r) else np.inf
    return (min(1.0, max_norm / r / m) if r > 0 else 1.0), float(norm)


def sgd_step(params: dict, grads: dict, lr: float) -> dict:
    """One step ``θ ← θ - ε g`` for every key of ``params``; returns new arrays, ``params`` is untouched.

    ``grads`` must hold a finite array of the same shape for every key of ``params``.
    """
    check_scalar("lr", lr, low=0, low_open=True)
    return _update(params, grads, lr)


def _update(params: dict, grads: dict, lr: float, grads_finite: bool = False, scale: float = 1.0) -> dict:
    """:func:`sgd_step` once ``lr`` is checked, on the gradients scaled by ``scale`` as
    :func:`clip_by_global_norm` scales them. ``grads_finite``: the caller knows every gradient is finite
    (:func:`train`: their global norm is), so only their shapes are checked. A factor of exactly 1 is not
    multiplied by (``1.0 * g`` is ``g`` to the bit), which saves two passes a parameter in most steps."""
    check_dict("params", params)
    check_dict("grads", grads)
    missing = [k for k in params if k not in grads]
    if missing:
        raise ValueError(f"argument 'grads': missing key(s) {missing}; expected the keys of params {list(params)}")
    out = {}
    for k, p in params.items():
        p = check_array(f"params['{k}']", p)
        g = check_array(f"grads['{k}']", grads[k], np.shape(p), finite=not grads_finite)
        g = g * scale if scale != 1.0 else g
        out[k] = p - (lr * g if lr != 1.0 else g)
    return out


def minibatches(n: int, batch_size: int, rng: np.random.Generator):
    """Yield index arrays that split ``0 … n-1``, shuffled by ``rng``, into batches of ``batch_size``.

    One pass is an epoch: every example is used once; the last batch may be smaller.
    """
    check_scalar("n", n, low=1, integer=True)
    check_scalar("batch_size", batch_size, low=1, integer=True)
    order = check_rng(rng).permutation(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def newton_step(x, g, H):
    """``x - H⁻¹ g``: the critical point of the Taylor model ``f(x) + gᵀ(x' - x) + ½(x' - x)ᵀH(x' - x)``.

    x, g: ``(n,)``; H: ``(n, n)``. Solves ``H d = g`` instead of inverting ``H``. A singular ``H`` (no
    unique critical point of the model) raises ``ValueError``. Newton jumps to *any* critical point
    of the model, so near a saddle (H indefinite) it steps towards the saddle (seed 004).
    """
    dims = {}
    x = check_array("x", x, ("n",), dims)
    g = check_array("g", g, ("n",), dims)
    H = check_array("H", H, ("n", "n"), dims)
    try:
        return x - np.linalg.solve(linalg_float(H), linalg_float(g))
    except np.linalg.LinAlgError as err:
        raise ValueError(f"argument 'H': the Hessian is singular, the Newton step is undefined ({err})") from None


def gradient_descent(grad, x0, lr: float, n_steps: int) -> np.ndarray:
    """Iterate ``x ← x - ε ∇f(x)`` and return the trajectory, shape ``(n_steps + 1, n)``.

    ``grad(x) -> (n,)``. A diverging run is not stopped: its overflow shows as inf in the trajectory
    (computed under ``np.errstate(over="ignore", invalid="ignore")``), which plots then mark.
    """
    x = check_array("x0", x0, (None,)).astype(np.float64)
    check_scalar("lr", lr, low=0, low_open=True)
    check_scalar("n_steps", n_steps, low=0, integer=True)
    path = np.empty((n_steps + 1, x.size))
    path[0] = x
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(n_steps):
            g = check_array("grad", grad(x), finite=False)             # inf/NaN of a diverging run: plotted
            if g.shape != x.shape:
                raise ValueError(f"argument 'grad': expected grad(x) of shape {x.shape} (like x0), got {g.shape}")
            x = x - lr * g
            path[t + 1] = x
    return path


def train(loss_and_grads, params: dict, X, y, *, lr: float, epochs: int, batch_size: int,
          rng: np.random.Generator, evaluate=None, clip: float | None = None, print_every: int = 0,
          printer=print) -> tuple[dict, dict]:
    """Minibatch SGD over ``epochs`` passes of ``(X, y)``; returns ``(params, history)``.

    loss_and_grads(params, X_batch, y_batch) -> (loss, grads): the minibatch cost and its gradient.
    X: ``(features, N)`` (examples are columns); y: anything indexed by example along its last axis.
    evaluate(params) -> dict of numbers (e.g. ``{"loss": …, "accuracy": …}``) run after each epoch.
    clip: if given, each minibatch gradient is clipped to this global norm.
    print_every: print one progress line every so many epochs (0: silent). The line holds only the
    epoch and the numbers, no timings, so a notebook's stored output stays reproducible.

    history: ``"batch_loss"`` (every step), ``"grad_norm"`` (every step, before clipping), and one list
    per key of ``evaluate`` (every epoch).
    """
    X = check_array("X", X)
    if X.ndim < 1:
        raise ValueError(f"argument 'X': expected examples along the last axis, got shape {X.shape}")
    n = X.shape[-1]
    if np.shape(y)[-1] != n:
        raise ValueError(f"argument 'y': expected {n} examples along its last axis (like X {X.shape}), "
                         f"got shape {np.shape(y)}")
    check_scalar("lr", lr, low=0, low_open=True)
    check_scalar("epochs", epochs, low=1, integer=True)
    check_scalar("batch_size", batch_size, low=1, integer=True)
    check_rng(rng)
    if clip is not None:
        check_scalar("clip", clip, low=0, low_open=True)
    check_scalar("print_every", print_every, low=0, integer=True)
    if not callable(loss_and_grads):
        raise ValueError(f"argument 'loss_and_grads': expected a function (params, X, y) -> (loss, grads), "
                         f"got {type(loss_and_grads).__name__}")
    history = {"batch_loss": [], "grad_norm": []}
    y = np.asarray(y)
    features = X.shape[-2] if X.ndim >= 2 else 1                   # the columns are all the other axes
    columns = X.size // max(n * features, 1) * min(batch_size, n)
    with blas.one_thread_if_small(blas.forward_work(params, columns)):
        params = _epochs(loss_and_grads, params, X, y, history, lr, epochs, batch_size, rng, evaluate, clip,
                         print_every, printer)
    return params, history


def _epochs(loss_and_grads, params, X, y, history, lr, epochs, batch_size, rng, evaluate, clip, print_every,
            printer):
    """The loop of :func:`train` (arguments checked there); fills ``history``, returns the last params."""
    n = X.shape[-1]
    for epoch in range(1, epochs + 1):
        for idx in minibatches(n, batch_size, rng):
            loss, grads = loss_and_grads(params, X.take(idx, axis=-1), y.take(idx, axis=-1))   # = X[..., idx]
            scale, norm = _clip_scale(grads, clip) if clip is not None else (1.0, global_norm(grads))
            # A finite global norm means finite gradients (Σ g² is NaN or inf otherwise): no second look.
            params = _update(params, grads, lr, grads_finite=bool(np.isfinite(norm)), scale=scale)
            history["batch_loss"].append(float(loss))
            history["grad_norm"].append(norm)
        if evaluate is not None:
            for key, value in evaluate(params).items():
                history.setdefault(key, []).append(float(value))
        if print_every and (epoch % print_every == 0 or epoch == epochs):
            if evaluate is not None:
                numbers = "  ".join(f"{k} {v[-1]:.4g}" for k, v in history.items() if k not in
                                    ("batch_loss", "grad_norm"))
            else:
                numbers = f"batch_loss {history['batch_loss'][-1]:.4g}"
            printer(f"epoch {epoch:>{len(str(epochs))}}/{epochs}  {numbers}")
    return params
