"""The one convention of README "For contributors", checked across mlp, rnn and lstm."""

import inspect

import numpy as np
import pytest

from bpcore import lstm, mlp, rnn
from bpcore.gradcheck import check_vjp

TRUNCATION = ["mode", "k", "pi", "rng", "xi"]
MODELS = {"rnn": rnn, "lstm": lstm}


def params_of(fn):
    return inspect.signature(fn).parameters


def positional(fn):
    return [n for n, p in params_of(fn).items() if p.kind == p.POSITIONAL_OR_KEYWORD]


def keyword_only(fn):
    return [n for n, p in params_of(fn).items() if p.kind == p.KEYWORD_ONLY]


@pytest.mark.parametrize("name", MODELS)
def test_one_argument_order(name):
    m = MODELS[name]
    assert positional(m.init_params) == ["n_x", "n_h", "rng"] and "n_z" in keyword_only(m.init_params)
    assert positional(m.forward) == ["params", "x"] and keyword_only(m.forward)[0] == "h0"
    assert positional(m.loss_and_grads) == ["params", "x", "y"]
    assert {"h0", "loss", "details"} <= set(keyword_only(m.loss_and_grads))
    assert positional(m.predict) == ["params", "x"]
    assert positional(m.step_forward)[:2] == ["params", "x_t"]
    assert positional(m.backward) == ["dout", "cache"] and positional(m.step_backward) == ["dout", "cache"]
    # one truncation vocabulary, in backward and in loss_and_grads
    assert [k for k in keyword_only(m.backward) if k in TRUNCATION] == TRUNCATION
    assert [k for k in keyword_only(m.loss_and_grads) if k in TRUNCATION] == TRUNCATION
    assert m.MODES == ("full", "truncated", "randomized") and m.draw_xi is rnn.draw_xi
    assert positional(mlp.backward)[0] == "dout" and positional(mlp.dense_backward)[0] == "dout"
    assert positional(mlp.forward)[:2] == ["params", "x"] and positional(mlp.dense_forward)[:3] == ["W", "b", "h_prev"]


def problem(name, dtype=np.float64, n_z=2, seed=0):
    rng = np.random.default_rng(seed)
    P = MODELS[name].init_params(3, 4, rng, n_z=n_z, dtype=dtype)
    return rng, P, rng.standard_normal((5, 3, 2))


@pytest.mark.parametrize("name", MODELS)
def test_step_functions_pass_check_vjp_without_adapters(name):
    rng, P, x = problem(name)
    q = dict(P, x_t=x[0], h_prev=rng.standard_normal((4, 2)))
    if name == "lstm":
        q["C_prev"] = rng.standard_normal((4, 2))
        forward = lambda p: lstm.step_forward(p, p["x_t"], p["h_prev"], p["C_prev"])   # noqa: E731
    else:
        forward = lambda p: rnn.step_forward(p, p["x_t"], p["h_prev"])                 # noqa: E731
    q = {k: v for k, v in q.items() if k not in ("W_hz", "b_z")}
    assert check_vjp(forward, MODELS[name].step_backward, q, rng).ok


@pytest.mark.parametrize("name", MODELS)
def test_the_same_gradient_names(name):
    rng, P, x = problem(name)
    h, cache = MODELS[name].forward(P, x)
    g = MODELS[name].backward(np.ones_like(h), cache)
    states = {"rnn": {"h0"}, "lstm": {"h0", "C0"}}[name]
    deltas = {"rnn": {"delta_h"}, "lstm": {"delta_h", "delta_C"}}[name]
    assert set(g) == (set(P) - {"W_hz", "b_z"}) | {"x"} | states | deltas
    E, grads, info = MODELS[name].loss_and_grads(P, x, np.zeros(2, int), details=True)
    assert set(grads) == set(P)
    assert {"h", "z", "delta_h", "dx", "dh0"} <= set(info)
    assert name == "rnn" or {"C", "delta_C", "dC0"} <= set(info)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
def test_dtype_rule_float32_params_with_float64_inputs(name, loss):
    """Both models compute in the parameters' dtype: every output and gradient is float32."""
    rng, P, x = problem(name, np.float32)
    y = np.zeros(2, int) if loss == "cross_entropy" else rng.standard_normal((2, 2))
    h, cache = MODELS[name].forward(P, x, h0=np.zeros((4, 2)))
    assert h.dtype == np.float32
    g = MODELS[name].backward(np.ones((5, 4, 2)), cache, mode="randomized", pi=0.5, rng=rng)
    assert all(v.dtype == np.float32 for v in g.values()), {k: v.dtype for k, v in g.items()}
    E, grads = MODELS[name].loss_and_grads(P, x, y, loss=loss)
    assert isinstance(E, float) and all(v.dtype == np.float32 for v in grads.values())


@pytest.mark.parametrize("name", MODELS)
def test_targets_at_the_last_step_are_chosen_by_shape(name):
    rng, P, x = problem(name)
    E_last, g_last = MODELS[name].loss_and_grads(P, x, np.array([0, 1]))
    every = np.zeros((5, 2), int)
    every[-1] = [0, 1]
    _, g_all = MODELS[name].loss_and_grads(P, x, every)
    assert not np.allclose(g_all["W_hz"], g_last["W_hz"])
    z = MODELS[name].predict(P, x)
    assert z.shape == (5, 2, 2)
    with pytest.raises(ValueError, match="argument 'y'"):
        MODELS[name].loss_and_grads(P, x, np.zeros((4, 2), int))


@pytest.mark.parametrize("name", MODELS)
def test_a_setting_the_mode_does_not_use_is_refused(name):
    rng, P, x = problem(name)
    with pytest.raises(ValueError, match="argument 'k': not used by mode 'full'"):
        MODELS[name].loss_and_grads(P, x, np.zeros(2, int), k=3)
    with pytest.raises(ValueError, match="argument 'pi'"):
        MODELS[name].loss_and_grads(P, x, np.zeros(2, int), mode="truncated", k=2, pi=0.5)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
def test_predict_means_the_same_in_both_models(name, loss):
    """``predict`` is what the model predicts: class probabilities for cross-entropy, the outputs
    ``W_hz h_t + b_z`` for squared error; ``details=True`` returns the same ``z``."""
    m, rng = MODELS[name], np.random.default_rng(3)
    P = m.init_params(3, 4, rng, n_z=2)
    x = rng.standard_normal((5, 3, 2))
    h = m.forward(P, x)[0]
    s = np.matmul(P["W_hz"], h) + P["b_z"]
    z = m.predict(P, x, loss=loss)
    y = np.zeros((5, 2), int) if loss == "cross_entropy" else np.zeros((5, 2, 2))
    np.testing.assert_allclose(m.loss_and_grads(P, x, y, loss=loss, details=True)[2]["z"], z, rtol=1e-12)
    if loss == "cross_entropy":
        np.testing.assert_allclose(z, np.exp(s) / np.exp(s).sum(axis=1, keepdims=True), rtol=1e-12)
        np.testing.assert_array_equal(m.predict(P, x), z)                      # the default
    else:
        np.testing.assert_allclose(z, s, rtol=1e-12)
    with pytest.raises(ValueError, match="loss"):
        m.predict(P, x, loss="hinge")
