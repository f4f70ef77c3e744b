"""Why long-range gradients vanish or explode: norms against the time lag, Jacobian products, spectra.

For a recurrence ``h_t = φ(a_t)``, ``a_t = W_hh h_{t-1} + …`` the Jacobian of one step is
``J_t = ∂h_t/∂h_{t-1} = diag(φ'(a_t)) W_hh`` and, for ``k < T``,

    ∂h_T/∂h_k = J_T J_{T-1} … J_{k+1},        ‖∂h_T/∂h_k‖₂ <= (γ σ_max(W_hh))^{T-k},

with ``γ = sup|φ'|`` (1 for tanh, whose derivative ``1 - tanh²`` lies in (0, 1]; 1/4 for the sigmoid) and
``σ_max`` the largest singular value (Pascanu, Mikolov & Bengio 2013). So ``σ_max < 1/γ`` is SUFFICIENT for
the long-range terms to vanish exponentially, and ``σ_max > 1/γ`` is NECESSARY, not sufficient, for them
to explode: seed 000's "W_hh > 1 explodes" conflates a matrix with a number and ignores ``φ'``.

Reuse (e.g. for the LSTM): :func:`norms_against_lag` takes any per-step gradients ``(T, n, B)``
(``∂E_T/∂h_k`` or ``∂E_T/∂C_k``), and :func:`jacobian_product_norms` takes any per-step Jacobians
``(T, n, n)``; only :func:`tanh_rnn_jacobians` is specific to the tanh RNN.
"""

from __future__ import annotations

import numpy as np

from bpcore.validate import check_array, check_rng, check_scalar, linalg_float

# ---------------------------------------------------------------- spectra of the recurrent matrix

def singular_values(W) -> np.ndarray:
    """Singular values of ``W``, largest first; ``σ_max = singular_values(W)[0]`` is ``‖W‖₂``."""
    W = check_array("W", W, (None, None))
    return np.linalg.svd(linalg_float(W), compute_uv=False)


def spectral_radius(W) -> float:
    """Largest ``|eigenvalue|`` of a square ``W``. Never more than ``σ_max(W)``; equal for normal matrices."""
    W = check_array("W", W, ("n", "n"))
    return float(np.max(np.abs(np.linalg.eigvals(linalg_float(W)))))


def set_spectral_radius(W, rho: float) -> np.ndarray:
    """``W`` rescaled so that its spectral radius is ``rho`` (a new array; eigenvectors unchanged)."""
    check_scalar("rho", rho, low=0, low_open=True)
    current = spectral_radius(W)
    if current == 0:
        raise ValueError("argument 'W': spectral radius is 0 (nilpotent or zero matrix); it cannot be rescaled")
    return np.asarray(W) * (rho / current)


def set_sigma_max(W, sigma: float) -> np.ndarray:
    """``W`` rescaled so that its largest singular value is ``sigma`` (a new array)."""
    check_scalar("sigma", sigma, low=0, low_open=True)
    current = singular_values(W)[0]
    if current == 0:
        raise ValueError("argument 'W': all singular values are 0; it cannot be rescaled")
    return np.asarray(W) * (sigma / current)


def random_orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random orthogonal ``n × n`` matrix (every singular value and |eigenvalue| is 1)."""
    check_scalar("n", n, low=1, integer=True)
    q, r = np.linalg.qr(check_rng(rng).standard_normal((n, n)))
    return q * np.sign(np.diag(r))


# ---------------------------------------------------------------- norms against the lag

def norms_against_lag(dE_dh, *, batch_index: int | None = None):
    """``‖∂E_T/∂h_k‖`` against the lag ``T - k`` from per-step gradients ``dE_dh`` (T, n, B).

    Feed it the ``h`` gradient of a backward pass whose only loss sits at the last step (or any other
    per-step gradient: the LSTM's ``∂E_T/∂C_k`` works the same). Returns ``(lags, norms)`` with
    ``lags = [0, 1, …, T-1]`` (``k = T, T-1, …, 1``); the norm is over features and the batch (Frobenius),
    or over features of one example if ``batch_index`` is given.
    """
    g = check_array("dE_dh", dE_dh, (None, None, None), finite=False)
    if batch_index is not None:
        check_scalar("batch_index", batch_index, low=0, high=g.shape[2] - 1, integer=True)
        g = g[:, :, batch_index:batch_index + 1]
    with np.errstate(over="ignore", invalid="ignore"):
        norms = np.sqrt(np.sum(g.astype(np.float64) ** 2, axis=(1, 2)))[::-1]
    return np.arange(g.shape[0]), norms


def tanh_rnn_jacobians(h, W_hh, *, batch_index: int = 0) -> np.ndarray:
    """Per-step Jacobians ``J_t = ∂h_t/∂h_{t-1} = diag(1 - h_t²) W_hh`` of one example, shape (T, n, n)."""
    h = check_array("h", h, ("T", "n", "B"))
    W_hh = check_array("W_hh", W_hh, ("n", "n"), {"n": h.shape[1]})
    check_scalar("batch_index", batch_index, low=0, high=h.shape[2] - 1, integer=True)
    return (1.0 - h[:, :, batch_index] ** 2)[:, :, None] * W_hh[None]


def jacobian_products(jacobians):
    """Products ``∂h_T/∂h_k = J_T J_{T-1} … J_{k+1}`` for ``k = T, T-1, …, 0``: array (T+1, n, n),
    entry ``ℓ`` is the product over the last ``ℓ`` steps (entry 0 is the identity)."""
    J = check_array("jacobians", jacobians, ("T", "n", "n"))
    T, n, _ = J.shape
    out = np.empty((T + 1, n, n), dtype=np.result_type(J, np.float64))
    out[0] = np.eye(n)
    with np.errstate(over="ignore", invalid="ignore"):
        for ell in range(1, T + 1):
            out[ell] = out[ell - 1] @ J[T - ell]                           # extend one step further back
    return out


def jacobian_product_norms(jacobians):
    """``‖∂h_T/∂h_k‖₂`` (largest singular value of the product) against the lag ``T - k = 0 … T``.

    Returns ``(lags, norms)``. Overflowed products give ``inf`` instead of an error.
    """
    P = jacobian_products(jacobians)
    norms = np.full(P.shape[0], np.inf)
    finite = np.all(np.isfinite(P), axis=(1, 2))
    if np.any(finite):
        norms[finite] = np.linalg.norm(P[finite], ord=2, axis=(1, 2))
    return np.arange(P.shape[0]), norms


def pascanu_bound(W_hh, lags, *, gamma: float = 1.0) -> np.ndarray:
    """The upper bound ``(γ σ_max(W_hh))^{lag}`` on ``‖∂h_T/∂h_{T-lag}‖₂`` (γ = sup|φ'|: 1 for tanh)."""
    check_scalar("gamma", gamma, low=0, low_open=True)
    lags = check_array("lags", lags, (None,))
    W_hh = check_array("W_hh", W_hh, ("n", "n"))
    with np.errstate(over="ignore"):
        return (gamma * singular_values(W_hh)[0]) ** lags.astype(np.float64)
