"""The explorers of lessons 08 and 09, without a browser: compute is pure, draw labels its axes."""

import numpy as np
import pytest

from bpcore.plots import new_figure
from bpcore.widgets import lstm as forget_explorer
from bpcore.widgets import memory as memory_explorer


def test_forget_bias_keeps_the_long_range_gradient():
    low, high = forget_explorer.compute(0.0, T=50), forget_explorer.compute(3.0, T=50)
    assert low["lags"].shape == (50,) and low["lstm_C"].shape == (50,)
    assert high["lstm_C"][-1] > 1e6 * low["lstm_C"][-1], "forget bias 3 should keep dE/dC_k alive at lag 49"
    assert high["lstm_C"][-1] > 1e6 * high["rnn_h"][-1], "the tanh RNN's gradient vanishes at lag 49"
    assert high["mean_f"] > 0.9 > 0.6 > low["mean_f"] > 0.4
    # the direct-lane guide is the mean product of forget activations: 1 at lag 0, decreasing
    assert low["forget_product"][0] == 1.0 and np.all(np.diff(low["forget_product"]) < 0)
    np.testing.assert_allclose(low["forget_product"][10], 0.5 ** 10, rtol=0.5)


def test_forget_explorer_is_deterministic_and_draws():  # its speed: benchmarks/bench_explorers.py
    a, b = forget_explorer.compute(1.0, T=60), forget_explorer.compute(1.0, T=60)
    np.testing.assert_array_equal(a["lstm_C"], b["lstm_C"])
    fig, ax = new_figure()
    text = forget_explorer.draw(fig, a)
    assert "lag 59" in text and ax.get_xlabel() and ax.get_ylabel() and ax.get_yscale() == "log"


def test_forget_explorer_shows_overflow_instead_of_crashing():
    r = forget_explorer.compute(20.0, T=200)
    fig, _ = new_figure()
    forget_explorer.draw(fig, r)  # whatever the norms did, drawing must not raise


def test_forget_explorer_rejects_bad_settings():
    with pytest.raises(ValueError, match="'forget_bias'"):
        forget_explorer.compute(float("nan"))
    with pytest.raises(ValueError, match="'T'"):
        forget_explorer.compute(1.0, T=1)


def test_memory_explorer_gradient_at_the_cue_step():
    r = memory_explorer.compute(30, results={5: {"tanh RNN": 1.0, "LSTM": 1.0}})
    assert r["lags"].shape == (31,)
    assert r["lstm_C"][-1] > 1e3 * r["rnn_h"][-1], "at lag 30 the LSTM's gradient at the cue dwarfs the RNN's"
    assert r["cue_ratio"] > 1e3
    fig, axes = new_figure(1, 2)
    text = memory_explorer.draw(fig, r)
    assert "lag 30" in text
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in axes)


def test_memory_explorer_rejects_bad_lags():
    with pytest.raises(ValueError, match="'lag'"):
        memory_explorer.compute(0)
