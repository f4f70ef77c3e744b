"""The explorers of lessons 06 and 07, without a browser: compute is pure and fast, draw does not fail."""


import numpy as np
import pytest

from bpcore import rnn
from bpcore.plots import new_figure
from bpcore.widgets import rnn as W


@pytest.mark.parametrize("rho", [0.5, 0.9])
def test_radius_explorer_below_one_respects_and_follows_the_bound(rho):
    r = W.compute_radius(rho, 80, "orthogonal")
    assert r["sigma_max"] == pytest.approx(rho) and r["rho"] == pytest.approx(rho)
    assert np.all(r["dhT_dhk"] <= r["bound"] * (1 + 1e-10))
    assert np.all(r["dE_dh"] <= r["dhT_dhk"] * (1 + 1e-10))       # unit v
    assert r["dhT_dhk"][-1] < 1e-2


def test_radius_explorer_gaussian_bound_is_loose_and_extremes_show_inf_not_errors():
    r = W.compute_radius(1.0, 60, "gaussian")
    assert r["sigma_max"] > 1.2 * r["rho"]
    big = W.compute_radius(3.0, 300, "gaussian", input_scale=0.0)   # zero input: the linear regime at h = 0
    assert np.isinf(big["bound"][-1]) or big["bound"][-1] > 1e100
    assert not np.any(np.isnan(big["dhT_dhk"]))
    fig, _ = new_figure(width=7.5, height=4.2)
    assert "σ_max" in W.draw_radius(fig, big)


def test_strategies_explorer_numbers():
    r = W.compute_strategies(5, 0.7, draws=300)
    e = r["errors"]
    assert e["truncated"]["std"] == 0.0 and e["truncated"]["bias"] > 0.01
    assert e["randomized"]["bias"] < 4 * e["randomized"]["noise_floor"]       # unbiased within the noise
    full = W.compute_strategies(40, 1.0, draws=3)
    assert full["errors"]["truncated"]["bias"] == 0.0 and full["errors"]["randomized"]["std"] < 1e-14
    assert full["mean_length"] == 40
    fig, _ = new_figure(1, 2, width=10, height=4)
    assert "truncated" in W.draw_strategies(fig, r)


def test_estimator_errors():
    full = np.array([3.0, 4.0])
    e = W.estimator_errors(np.array([[3.0, 4.0], [3.0, 4.0]]), full)
    assert e["bias"] == 0 and e["std"] == 0
    e = W.estimator_errors(np.array([[4.0, 4.0], [2.0, 4.0]]), full)
    assert e["bias"] == 0 and e["std"] == pytest.approx(1 / 5)


def test_bad_settings():
    with pytest.raises(ValueError, match="argument 'rho'"):
        W.compute_radius(0.0, 10)
    with pytest.raises(ValueError, match="argument 'T'"):
        W.compute_radius(1.0, 1)
    with pytest.raises(ValueError, match="argument 'base'"):
        W.compute_radius(1.0, 10, "identity")
    with pytest.raises(ValueError, match="argument 'k'"):
        W.compute_strategies(0, 0.5)
    with pytest.raises(ValueError, match="argument 'pi'"):
        W.compute_strategies(3, 1.5)


def test_explorers_build():
    ex = W.explorer_radius()
    ex.controls["rho"].value = 1.5
    ex2 = W.explorer_strategies()
    ex2.controls["k"].value = 2
    assert rnn.MODES == ("full", "truncated", "randomized")


def test_randomized_samples_equal_rnn_backward_draw_by_draw():
    cache, dh, _ = W.strategy_problem(40)
    rng = np.random.default_rng(3)
    xis = [rnn.draw_xi(40, 0.6, rng) for _ in range(7)]
    expected = np.stack([rnn.backward(dh, cache, mode="randomized", xi=xi)["W_hh"] for xi in xis])
    np.testing.assert_allclose(W.randomized_samples(cache, dh, xis), expected, rtol=1e-12, atol=1e-14)
