"""Matrix chains and Krylov methods of bpcore.autodiff (seed 002 §4): counts equal formulas, eigenvalues
from matrix–vector products equal dense eigen-decompositions."""

import numpy as np
import pytest

from bpcore.autodiff import (
    Counted,
    chain_cost,
    chain_dims,
    chain_multiply,
    counted,
    lanczos,
    lanczos_top,
    multiply_adds,
    power_iteration,
)


def random_symmetric(n, rng, gap=None):
    """Q diag(λ) Qᵀ with a known spectrum; ``gap`` sets λ_2/λ_1 for power iteration."""
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = rng.uniform(-1.0, 1.0, n)
    if gap is not None:
        lam[np.argmax(np.abs(lam))] = np.max(np.abs(lam)) * gap
    return (Q * lam) @ Q.T


@pytest.mark.parametrize("seed", range(6))
def test_chain_measured_multiply_adds_equal_formula(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 6))
    dims = [int(d) for d in rng.integers(1, 9, size=k + 1)]
    ms = [rng.standard_normal((dims[i], dims[i + 1])) for i in range(k)]
    exact = np.linalg.multi_dot(ms) if k > 2 else ms[0] @ ms[1]
    for order in ("right", "left"):
        product, measured = chain_multiply(ms, order)
        assert measured == chain_cost(dims, order), (order, dims)
        np.testing.assert_allclose(product, exact, rtol=1e-12, atol=1e-12)
        assert type(product) is np.ndarray


def test_chain_abcd_closed_forms():
    # A (n0×n1), B (n1×n2), C (n2×n3), d (n3×1): right = n0n1 + n1n2 + n2n3; left = n0n1n2 + n0n2n3 + n0n3
    n0, n1, n2, n3 = 5, 7, 11, 13
    assert chain_cost((n0, n1, n2, n3, 1), "right") == n0 * n1 + n1 * n2 + n2 * n3
    assert chain_cost((n0, n1, n2, n3, 1), "left") == n0 * n1 * n2 + n0 * n2 * n3 + n0 * n3
    # a one-row A (a single input) makes left-to-right a chain of vector–matrix products, and cheaper
    # once the right end has many columns (many outputs)
    assert chain_cost((1, 50, 50, 50, 40), "left") < chain_cost((1, 50, 50, 50, 40), "right")


def test_chain_accepts_vector_and_validates():
    rng = np.random.default_rng(0)
    A, d = rng.standard_normal((3, 4)), rng.standard_normal(4)
    assert chain_dims([A, d]) == (3, 4, 1)
    with pytest.raises(ValueError, match=r"matrices\[1\].*rows"):
        chain_multiply([A, rng.standard_normal((5, 2))], "right")
    with pytest.raises(ValueError, match="order"):
        chain_multiply([A, d], "middle")
    with pytest.raises(ValueError, match="NaN"):
        chain_multiply([A, np.array([1.0, np.nan, 0, 0])], "left")
    with pytest.raises(ValueError, match="dims"):
        chain_cost((3, 4), "left")


def test_counted_counts_only_seed_dependent_products():
    rng = np.random.default_rng(1)
    W, x = rng.standard_normal((4, 3)), counted(rng.standard_normal((3, 2)))
    y = np.tanh(W @ x) * (1 - W[:, :2] ** 2)  # matmul 4·3·2, product 4·2; W² has no seed: free
    assert isinstance(y, Counted)
    assert multiply_adds(y) == 4 * 3 * 2 + 4 * 2
    assert multiply_adds(np.ones(3)) == 0


@pytest.mark.parametrize("seed", range(5))
def test_lanczos_full_space_gives_every_eigenvalue(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 40))
    A = random_symmetric(n, rng)
    theta, Y, T = lanczos(lambda v: A @ v, n, rng=rng)
    np.testing.assert_allclose(theta, np.linalg.eigvalsh(A), atol=1e-10)
    np.testing.assert_allclose(A @ Y, Y * theta, atol=1e-9)
    assert np.allclose(T, T.T) and np.allclose(np.triu(T, 2), 0)


@pytest.mark.parametrize("seed", range(5))
def test_power_iteration_and_lanczos_top_match_dense(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    A = random_symmetric(n, rng, gap=1.3)
    dense = np.linalg.eigvalsh(A)
    top_abs = dense[np.argmax(np.abs(dense))]
    pw = power_iteration(lambda v: A @ v, n, rng=rng)
    assert abs(pw.value - top_abs) <= 1e-6 * abs(top_abs)
    lz = lanczos_top(lambda v: A @ v, n, rng=rng)
    assert abs(lz.value - dense[-1]) <= 1e-6 * abs(dense[-1])
    assert lz.residual <= 1e-8 * abs(lz.value)


def test_krylov_validates():
    with pytest.raises(ValueError, match="v0"):
        power_iteration(lambda v: v, 3)
    with pytest.raises(ValueError, match="'v0'"):
        lanczos(lambda v: v, 3, v0=np.zeros(4))
    with pytest.raises(ValueError, match="'k'"):
        lanczos(lambda v: v, 3, 5, v0=np.ones(3))
    with pytest.raises(ValueError, match="zero"):
        power_iteration(lambda v: v, 3, v0=np.zeros(3))
