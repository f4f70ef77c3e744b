"""bpcore.diagnostics: spectra, Jacobian products, the Pascanu bound, norms against the lag."""

import numpy as np
import pytest

from bpcore import diagnostics as D
from bpcore import rnn


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rescaling_sets_radius_and_sigma_max(seed):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((6, 6))
    assert D.spectral_radius(D.set_spectral_radius(W, 0.8)) == pytest.approx(0.8, rel=1e-12)
    s = D.singular_values(D.set_sigma_max(W, 1.7))
    assert s[0] == pytest.approx(1.7, rel=1e-12)
    assert np.all(np.diff(s) <= 0)
    assert D.spectral_radius(W) <= D.singular_values(W)[0] * (1 + 1e-12)
    Q = D.random_orthogonal(5, rng)
    np.testing.assert_allclose(Q @ Q.T, np.eye(5), atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_jacobian_products_equal_backpropagated_gradients(seed):
    """(∂h_T/∂h_k)ᵀ v is what BPTT delivers to h_k when the only loss is ⟨v, h_T⟩."""
    rng = np.random.default_rng(seed)
    T, n = 7, 4
    p = rnn.init_params(3, n, rng, n_z=2, spectral_radius=1.2)
    h, cache = rnn.forward(p, rng.standard_normal((T, 3, 1)), h0=rng.standard_normal((n, 1)))
    dh = np.zeros_like(h)
    dh[-1] = rng.standard_normal((n, 1))
    g = rnn.backward(dh, cache)
    P = D.jacobian_products(D.tanh_rnn_jacobians(h, p["W_hh"]))
    for lag in range(T):
        np.testing.assert_allclose(g["delta_h"][T - 1 - lag], P[lag].T @ dh[-1], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(g["h0"], P[T].T @ dh[-1], rtol=1e-10, atol=1e-14)
    lags, norms = D.norms_against_lag(g["delta_h"])
    np.testing.assert_array_equal(lags, np.arange(T))
    np.testing.assert_allclose(norms, [np.linalg.norm(P[lag].T @ dh[-1]) for lag in range(T)], rtol=1e-10)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("sigma", [0.5, 0.9, 0.99])
def test_measured_norm_never_exceeds_the_pascanu_bound(seed, sigma):
    rng = np.random.default_rng(seed)
    T, n = 60, 8
    p = rnn.init_params(4, n, rng, n_z=2, sigma_max=sigma)
    h, _ = rnn.forward(p, 2 * rng.standard_normal((T, 4, 1)))
    lags, norms = D.jacobian_product_norms(D.tanh_rnn_jacobians(h, p["W_hh"]))
    bound = D.pascanu_bound(p["W_hh"], lags)
    np.testing.assert_allclose(bound, sigma ** lags, rtol=1e-10)
    assert np.all(norms <= bound * (1 + 1e-10)), f"bound violated at lags {lags[norms > bound]}"
    assert norms[-1] < 1e-2  # and it does vanish


def test_large_sigma_is_not_sufficient_for_explosion():
    """σ_max > 1 is necessary, not sufficient: saturated tanh units still make the product vanish."""
    rng = np.random.default_rng(0)
    p = rnn.init_params(4, 8, rng, n_z=2, sigma_max=1.5)
    p["b_h"][:] = 4.0                                           # saturate: tanh' ≈ 1e-3
    h, _ = rnn.forward(p, rng.standard_normal((40, 4, 1)))
    _, norms = D.jacobian_product_norms(D.tanh_rnn_jacobians(h, p["W_hh"]))
    assert norms[-1] < 1e-20


def test_overflow_gives_inf_not_an_error():
    J = np.full((400, 3, 3), 50.0)
    lags, norms = D.jacobian_product_norms(J)
    assert np.isinf(norms[-1]) and np.isfinite(norms[1])
    _, n2 = D.norms_against_lag(np.full((3, 2, 1), np.inf))
    assert np.all(np.isinf(n2))


def test_bad_input():
    with pytest.raises(ValueError, match=r"argument 'W'.*expected shape \(n, n\)"):
        D.spectral_radius(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"argument 'rho'"):
        D.set_spectral_radius(np.eye(2), 0.0)
    with pytest.raises(ValueError, match=r"argument 'sigma'"):
        D.set_sigma_max(np.eye(2), -1.0)
    with pytest.raises(ValueError, match=r"cannot be rescaled"):
        D.set_spectral_radius(np.array([[0.0, 1.0], [0.0, 0.0]]), 1.0)
    with pytest.raises(ValueError, match=r"argument 'W': contains"):
        D.singular_values(np.array([[np.nan]]))
    with pytest.raises(ValueError, match=r"argument 'W_hh'"):
        D.tanh_rnn_jacobians(np.zeros((3, 2, 1)), np.eye(3))
    with pytest.raises(ValueError, match=r"argument 'jacobians'"):
        D.jacobian_products(np.zeros((3, 2, 3)))
    with pytest.raises(ValueError, match=r"argument 'gamma'"):
        D.pascanu_bound(np.eye(2), np.arange(3), gamma=0)
    with pytest.raises(ValueError, match=r"argument 'batch_index'"):
        D.norms_against_lag(np.zeros((3, 2, 1)), batch_index=1)
