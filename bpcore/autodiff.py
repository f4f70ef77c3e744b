"""Automatic differentiation beyond backprop: forward mode, Jacobians both ways, Hessian-vector
products and Krylov methods on them (seed 002 §4, and §3.1 symbol-to-symbol).

Reverse mode (backprop) pulls one cotangent ``ū = ∂z/∂u`` from an output back to every input: one pass
gives a whole row of the Jacobian. Forward mode pushes one tangent ``u̇ = ∂u/∂x · ẋ`` from the inputs to
every output: one pass gives a whole column. Both apply the same local Jacobians, in opposite orders:

    reverse:  x̄ = J_1ᵀ (J_2ᵀ (… (J_Lᵀ ȳ)))         forward:  ẏ = J_L (… (J_2 (J_1 ẋ)))

Work is measured, not estimated: seeds are wrapped in :class:`Counted`, an ndarray subclass that counts
every multiplication one of whose factors depends on the seed (``a @ b`` of shapes (p, q)(q, r) counts
p·q·r multiply–adds, ``a * b`` counts one per element). Local derivatives such as ``1 - tanh²`` do not
involve the seed and are not counted: they are computed once per point, whatever the number of passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpcore.validate import check_array, check_scalar

# ------------------------------------------------------------------ measuring multiply–adds


class Counted(np.ndarray):
    """An ndarray that tallies the multiply–adds it takes part in, in a shared one-element list ``tally``.

    Every array computed from a :class:`Counted` is again :class:`Counted` (numpy propagates subclasses)
    and shares its tally, so seeding a pass with one counts the work of the whole pass.
    """

    def __new__(cls, value, tally: list):
        obj = np.asarray(value, dtype=float).view(cls)
        obj.tally = tally
        return obj

    def __array_finalize__(self, obj):
        self.tally = getattr(obj, "tally", None)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        tally = next(x.tally for x in inputs if isinstance(x, Counted))
        raw = [np.asarray(x).view(np.ndarray) if isinstance(x, Counted) else x for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(np.asarray(o).view(np.ndarray) if isinstance(o, Counted) else o
                                  for o in kwargs["out"])
        result = getattr(ufunc, method)(*raw, **kwargs)
        if method == "__call__":
            tally[0] += _multiply_adds(ufunc, raw, result)
        if isinstance(result, np.ndarray):
            return Counted.wrap(result, tally)
        return result

    @staticmethod
    def wrap(value, tally):
        out = np.asarray(value).view(Counted)
        out.tally = tally
        return out


_MULTIPLICATIVE = {np.multiply, np.divide, np.true_divide}


def _multiply_adds(ufunc, inputs, result) -> int:
    """Multiply–adds of one ufunc call: p·q·r for a (p,q)@(q,r) matmul, one per output element for ×, ÷."""
    if ufunc is np.matmul:
        a, b = (np.asarray(x) for x in inputs)
        inner = a.shape[-1]
        return int(np.size(result) * inner)
    if ufunc in _MULTIPLICATIVE:
        return int(np.size(result))
    return 0


def counted(value, tally: list | None = None) -> Counted:
    """Wrap ``value`` as a :class:`Counted` seed with a fresh (or the given) tally."""
    return Counted(value, [0] if tally is None else tally)


def multiply_adds(x) -> int:
    """The tally carried by ``x`` (0 for a plain array)."""
    return int(x.tally[0]) if isinstance(x, Counted) else 0


# ------------------------------------------------------------------ the matrix chain A B C d (002 §4)


def _check_chain(matrices):
    if len(matrices) < 2:
        raise ValueError(f"argument 'matrices': expected at least 2 factors, got {len(matrices)}")
    out = []
    for i, m in enumerate(matrices):
        m = check_array(f"matrices[{i}]", m)
        m = m[:, None] if m.ndim == 1 else m
        if m.ndim != 2:
            raise ValueError(f"argument 'matrices[{i}]': expected a matrix or a vector, got shape {m.shape}")
        if i and out[-1].shape[1] != m.shape[0]:
            raise ValueError(f"argument 'matrices[{i}]': expected {out[-1].shape[1]} rows to follow "
                             f"matrices[{i - 1}] of shape {out[-1].shape}, got shape {m.shape}")
        out.append(m)
    return out


def chain_dims(matrices) -> tuple:
    """``(d_0, d_1, …, d_k)`` for factors ``M_i`` of shape ``(d_{i-1}, d_i)``; a vector is ``(d, 1)``."""
    ms = _check_chain(list(matrices))
    return tuple([ms[0].shape[0]] + [m.shape[1] for m in ms])


def chain_cost(dims, order: str) -> int:
    """Multiply–adds of ``M_1 M_2 … M_k`` with ``M_i`` of shape ``(d_{i-1}, d_i)``, taken in one order.

    right-to-left (the running product is ``d_{i} × d_k``):  Σ_{i=1}^{k-1} d_{i-1} d_i d_k
    left-to-right (the running product is ``d_0 × d_i``):   Σ_{i=2}^{k}   d_0 d_{i-1} d_i

    With ``d_k = 1`` (a vector ``d`` at the right end) the first is a sum of matrix–vector products,
    Σ d_{i-1} d_i; the second is ``d_0`` times that sum minus its first term plus … — matrix–matrix products.
    """
    d = [int(x) for x in dims]
    if len(d) < 3 or min(d) < 1:
        raise ValueError(f"argument 'dims': expected at least 3 positive sizes, got {tuple(d)}")
    k = len(d) - 1
    if order == "right":
        return sum(d[i - 1] * d[i] * d[k] for i in range(1, k))
    if order == "left":
        return sum(d[0] * d[i - 1] * d[i] for i in range(2, k + 1))
    raise ValueError(f"argument 'order': expected 'right' or 'left', got {order!r}")


def chain_multiply(matrices, order: str):
    """Multiply ``M_1 … M_k`` right-to-left or left-to-right; return ``(product, measured multiply–adds)``."""
    ms = _check_chain(list(matrices))
    if order not in ("right", "left"):
        raise ValueError(f"argument 'order': expected 'right' or 'left', got {order!r}")
    tally = [0]
    if order == "right":
        acc = counted(ms[-1], tally)
        for m in reversed(ms[:-1]):
            acc = m @ acc
    else:
        acc = counted(ms[0], tally)
        for m in ms[1:]:
            acc = acc @ m
    return np.asarray(acc).view(np.ndarray), tally[0]


# ------------------------------------------------------------------ Krylov methods on a matrix–vector product


@dataclass
class Eigen:
    """An eigenvalue estimate from matrix–vector products only."""

    value: float
    vector: np.ndarray
    products: int  # how many times the operator was applied
    residual: float  # ‖A v - λ v‖ for the returned unit vector v


def _start_vector(n, v0, rng):
    if v0 is None:
        if rng is None:
            raise ValueError("give a start vector 'v0' or a generator 'rng'")
        v0 = rng.standard_normal(n)
    v0 = check_array("v0", v0, (n,)).astype(float)
    norm = np.linalg.norm(v0)
    if norm == 0:
        raise ValueError("argument 'v0': the start vector is zero")
    return v0 / norm


def power_iteration(matvec, n: int, *, v0=None, rng: np.random.Generator | None = None, tol: float = 1e-12,
                    max_iter: int = 5000) -> Eigen:
    """The eigenvalue of largest magnitude of a symmetric operator given only ``v ↦ A v``.

    ``v ← A v / ‖A v‖`` aligns ``v`` with the top eigenvector at rate ``|λ_2/λ_1|`` per step; the Rayleigh
    quotient ``λ = vᵀ A v`` converges twice as fast. Stops when the residual ``‖A v - λ v‖ ≤ tol · |λ|``.
    If ``λ < 0`` it is the most negative eigenvalue: shift (``A + s I``) to find the largest one.
    """
    check_scalar("n", n, low=1, integer=True)
    v = _start_vector(n, v0, rng)
    lam, res = 0.0, np.inf
    for it in range(1, max_iter + 1):
        w = np.asarray(matvec(v), dtype=float).reshape(n)
        lam = float(v @ w)
        res = float(np.linalg.norm(w - lam * v))
        if res <= tol * abs(lam):
            return Eigen(lam, v, it, res)
        v = w / np.linalg.norm(w)
    return Eigen(lam, v, max_iter, res)


def lanczos(matvec, n: int, k: int | None = None, *, v0=None, rng: np.random.Generator | None = None):
    """``k`` steps of Lanczos on a symmetric operator given only ``v ↦ A v``.

    Builds an orthonormal basis ``Q = [q_1 … q_k]`` of the Krylov space span{v, Av, …, A^{k-1} v} in which
    ``Qᵀ A Q = T`` is tridiagonal (``α_j`` on the diagonal, ``β_j`` beside it):

        w = A q_j - β_{j-1} q_{j-1},   α_j = q_jᵀ w,   w ← w - α_j q_j,   β_j = ‖w‖,   q_{j+1} = w / β_j.

    Rounding destroys the orthogonality of ``Q`` in floating point, so ``w`` is re-orthogonalized against all
    of ``Q`` (cheap at our sizes). The eigenvalues of ``T`` (Ritz values) approximate the extreme
    eigenvalues of ``A`` first; with ``k = n`` they are all of them. Returns ``(ritz_values, ritz_vectors,
    T)``, values ascending, vectors as columns of length ``n``.
    """
    check_scalar("n", n, low=1, integer=True)
    k = n if k is None else k
    check_scalar("k", k, low=1, high=n, integer=True)
    q = _start_vector(n, v0, rng)
    Q = np.zeros((n, k))
    alpha, beta = np.zeros(k), np.zeros(k)
    q_prev, b_prev, m = np.zeros(n), 0.0, k
    for j in range(k):
        Q[:, j] = q
        w = np.asarray(matvec(q), dtype=float).reshape(n) - b_prev * q_prev
        alpha[j] = q @ w
        w -= alpha[j] * q
        w -= Q[:, : j + 1] @ (Q[:, : j + 1].T @ w)  # full re-orthogonalization
        beta[j] = np.linalg.norm(w)
        if beta[j] <= 1e-12 * max(1.0, abs(alpha[j])):  # invariant subspace found: T is exact
            m = j + 1
            break
        q_prev, q, b_prev = q, w / beta[j], beta[j]
    T = np.diag(alpha[:m]) + np.diag(beta[: m - 1], 1) + np.diag(beta[: m - 1], -1)
    theta, S = np.linalg.eigh(T)
    return theta, Q[:, :m] @ S, T


def lanczos_top(matvec, n: int, *, v0=None, rng: np.random.Generator | None = None, tol: float = 1e-10,
                max_steps: int | None = None) -> Eigen:
    """The largest eigenvalue by Lanczos, growing the Krylov space until its residual ``≤ tol · |λ|``.

    Each try restarts with twice the steps; ``products`` counts every application of the operator,
    including the one that measures the residual ``‖A y - θ y‖`` of the returned pair.
    """
    check_scalar("n", n, low=1, integer=True)
    v = _start_vector(n, v0, rng)
    max_steps = n if max_steps is None else min(max_steps, n)
    k, products = min(5, n), 0
    while True:
        theta, Y, _ = lanczos(matvec, n, k, v0=v)
        y = Y[:, -1]
        res = float(np.linalg.norm(np.asarray(matvec(y), float).reshape(n) - theta[-1] * y))
        products += Y.shape[1] + 1
        if res <= tol * abs(theta[-1]) or k >= max_steps or Y.shape[1] < k:
            return Eigen(float(theta[-1]), y, products, res)
        k = min(2 * k, max_steps)  # restart with a larger space (simple; a production code would extend it)
