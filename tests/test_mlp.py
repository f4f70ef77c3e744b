"""bpcore.mlp: gradient checks of the deep feedforward network over random shapes, depths and seeds."""

import numpy as np
import pytest

from bpcore import mlp
from bpcore.functional import ACTIVATIONS
from bpcore.gradcheck import check_gradients, check_vjp

THRESHOLD = 1e-7  # issue #3: float64 relative error at most 1e-7
SEEDS = [0, 1, 2, 3]


def random_net(rng, *, bias=True, scale="glorot"):
    depth = int(rng.integers(1, 5))
    sizes = [int(n) for n in rng.integers(1, 6, size=depth + 1)]
    params = mlp.init_params(sizes, rng, scale=scale, bias=bias)
    for k in params:  # check at a generic point: zero biases put dead relu units exactly on the kink
        if k.startswith("b"):
            params[k] = 0.5 * rng.standard_normal(params[k].shape)
    return params, sizes, int(rng.integers(1, 5))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
@pytest.mark.parametrize("seed", SEEDS)
def test_backward_is_the_vjp_of_forward(seed, act, bias):
    rng = np.random.default_rng(seed)
    params, sizes, B = random_net(rng, bias=bias)
    x = rng.standard_normal((sizes[0], B))
    report = check_vjp(lambda p: mlp.forward(p, x, act, output=act), mlp.backward, params, rng, threshold=THRESHOLD)
    assert report.ok, f"{act}, sizes {sizes}:\n{report}"
    kinks = sum(r.kinks for r in report.rows)
    assert kinks == 0 if act != "relu" else kinks <= 2, f"unexpected number of kinks:\n{report}"


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
@pytest.mark.parametrize("seed", SEEDS)
def test_loss_gradients_with_and_without_weight_decay(seed, act, loss, weight_decay):
    rng = np.random.default_rng(100 + seed)
    params, sizes, B = random_net(rng)
    x = rng.standard_normal((sizes[0], B))
    y = rng.integers(0, sizes[-1], size=B) if loss == "cross_entropy" else rng.standard_normal((sizes[-1], B))
    kw = dict(activation=act, loss=loss, weight_decay=weight_decay)
    J, grads = mlp.loss_and_grads(params, x, y, **kw)
    report = check_gradients(lambda p: mlp.loss_and_grads(p, x, y, **kw)[0], params, grads, threshold=THRESHOLD)
    assert report.ok, f"{act}/{loss}/λ={weight_decay}, sizes {sizes}:\n{report}"
    assert sum(r.kinks for r in report.rows) <= (2 if act == "relu" else 0), str(report)


@pytest.mark.parametrize("seed", SEEDS)
def test_relu_net_without_bias_of_002_3_4(seed):
    """One hidden relu layer, no biases, cross-entropy plus λ(Σ W1² + Σ W2²)."""
    rng = np.random.default_rng(200 + seed)
    n, n_h, K, m = 3, 6, 4, 5
    params = mlp.init_params([n, n_h, K], rng, scale="he", bias=False)
    X, y = rng.standard_normal((n, m)), rng.integers(0, K, size=m)
    J, grads = mlp.loss_and_grads(params, X, y, weight_decay=0.05)
    assert set(grads) == {"W1", "W2"}
    report = check_gradients(lambda p: mlp.loss_and_grads(p, X, y, weight_decay=0.05)[0], params, grads,
                             threshold=THRESHOLD)
    assert report.ok, str(report)
    # the two paths of 002 §3.4, written out
    U1 = params["W1"] @ X
    H = np.maximum(U1, 0)
    Z = params["W2"] @ H
    G = (np.exp(Z - Z.max(0)) / np.exp(Z - Z.max(0)).sum(0) - np.eye(K)[:, y]) / m
    np.testing.assert_allclose(grads["W2"], G @ H.T + 2 * 0.05 * params["W2"], rtol=1e-12)
    np.testing.assert_allclose(grads["W1"], ((params["W2"].T @ G) * (U1 > 0)) @ X.T + 2 * 0.05 * params["W1"],
                               rtol=1e-12)


def test_relu_kinks_are_reported_not_failed():
    # a pre-activation exactly at 0 puts one relu on its kink
    params = {"W1": np.array([[1.0, -1.0]]), "W2": np.array([[2.0]])}
    x = np.array([[0.5], [0.5]])
    report = check_vjp(lambda p: mlp.forward(p, x, "relu"), mlp.backward, params, np.random.default_rng(0),
                       threshold=THRESHOLD)
    assert report["W1"].kinks == 2 and report.ok


def test_backward_twice_gives_the_same_gradients():
    rng = np.random.default_rng(5)
    params = mlp.init_params([3, 4, 2], rng)
    out, cache = mlp.forward(params, rng.standard_normal((3, 6)), "tanh")
    d = rng.standard_normal(out.shape)
    g1, g2 = mlp.backward(d, cache), mlp.backward(d, cache)
    for k in g1:
        np.testing.assert_array_equal(g1[k], g2[k])


def test_init_scales():
    rng = np.random.default_rng(0)
    p = mlp.init_params([400, 300, 200], rng, scale="he")
    assert p["W1"].shape == (300, 400) and p["b1"].shape == (300, 1) and not p["b1"].any()
    assert p["W1"].std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    g = mlp.init_params([400, 300], rng, scale="glorot")
    assert g["W1"].std() == pytest.approx(np.sqrt(2 / 700), rel=0.02)
    s = mlp.init_params([400, 300], rng, scale=3.0)
    assert s["W1"].std() == pytest.approx(3 / 20, rel=0.02)
    assert mlp.init_params([2, 2], rng, dtype=np.float32)["W1"].dtype == np.float32
    with pytest.raises(ValueError, match="'scale'"):
        mlp.init_params([2, 2], rng, scale="lecun")
    with pytest.raises(ValueError, match="'scale'"):
        mlp.init_params([2, 2], rng, scale=-1.0)
    with pytest.raises(ValueError, match="at least"):
        mlp.init_params([2], rng)


def test_float32_runs_in_float32():
    rng = np.random.default_rng(0)
    p = mlp.init_params([3, 4, 2], rng, dtype=np.float32)
    out, cache = mlp.forward(p, rng.standard_normal((3, 5)).astype(np.float32), "sigmoid")
    assert out.dtype == np.float32
    assert mlp.backward(np.ones_like(out), cache)["W1"].dtype == np.float32


def test_bad_inputs_give_clear_errors():
    rng = np.random.default_rng(0)
    p = mlp.init_params([3, 4, 2], rng)
    x = rng.standard_normal((3, 5))
    with pytest.raises(ValueError, match=r"argument 'x': axis 0 \('n0'\) has size 2, but 'n0' = 3"):
        mlp.forward(p, rng.standard_normal((2, 5)))
    with pytest.raises(ValueError, match=r"argument 'x': expected shape \(n0, B\)"):
        mlp.forward(p, np.ones(3))
    bad = dict(p, W2=np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"params\['W2'\]': axis 1 \('n1'\) has size 5"):
        mlp.forward(bad, x)
    with pytest.raises(ValueError, match=r"params\['b1'\]': expected shape \(n1, 1\)"):
        mlp.forward(dict(p, b1=np.zeros(4)), x)
    with pytest.raises(ValueError, match="argument 'x': contains 1 NaN"):
        mlp.forward(p, np.where(np.arange(15).reshape(3, 5) == 7, np.nan, x))
    with pytest.raises(ValueError, match=r"params\['W1'\]': contains"):
        mlp.forward(dict(p, W1=p["W1"] * np.inf), x)
    with pytest.raises(ValueError, match="either all of b1 … b2 or none"):
        mlp.forward({"W1": p["W1"], "W2": p["W2"], "b1": p["b1"]}, x)
    with pytest.raises(ValueError, match="expected keys W1"):
        mlp.forward({"V1": p["W1"]}, x)
    with pytest.raises(ValueError, match="unknown activation 'softplus'"):
        mlp.forward(p, x, "softplus")
    with pytest.raises(ValueError, match="expected 2 activation names"):
        mlp.forward(p, x, ["relu"])
    out, cache = mlp.forward(p, x)
    with pytest.raises(ValueError, match=r"argument 'dout': expected shape \(2, 5\), got \(2, 4\)"):
        mlp.backward(np.ones((2, 4)), cache)
    with pytest.raises(ValueError, match="argument 'dout': contains"):
        mlp.backward(np.full((2, 5), np.nan), cache)
    with pytest.raises(ValueError, match="weight_decay"):
        mlp.backward(np.ones((2, 5)), cache, weight_decay=-0.1)
    with pytest.raises(ValueError, match="label 2 at index 0 is out of range"):
        mlp.loss_and_grads(p, x, np.array([2, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match=r"argument 'y': expected shape \(5,\), got \(4,\)"):
        mlp.loss_and_grads(p, x, np.array([1, 0, 0, 0]))
    with pytest.raises(ValueError, match="unknown loss"):
        mlp.loss_and_grads(p, x, np.zeros(5, int), loss="hinge")


def test_ops_count_and_cache_memory():
    rng = np.random.default_rng(0)
    n, n_h, K, m = 10, 32, 3, 64
    p = mlp.init_params([n, n_h, K], rng, bias=False)
    ops = {}
    _, cache = mlp.forward(p, rng.standard_normal((n, m)), ops=ops)
    mlp.backward(rng.standard_normal((K, m)), cache, ops=ops)
    w = n * n_h + n_h * K
    assert ops["forward"] == w * m
    assert ops["backward"] == 2 * w * m - n * n_h * m  # dW for both layers, dh only for layer 2
    assert mlp.cache_nbytes(cache) == 8 * m * (2 * n_h + K)


def test_accuracy_and_grad_norms():
    p = {"W1": np.array([[1.0, 0.0], [0.0, 1.0]])}
    x = np.array([[2.0, 0.0, 1.0], [0.0, 3.0, 0.5]])
    assert mlp.accuracy(p, x, np.array([0, 1, 1])) == pytest.approx(2 / 3)
    np.testing.assert_allclose(mlp.layer_grad_norms({"W1": np.ones((2, 2)), "W2": np.zeros((1, 2))}), [2.0, 0.0])


def test_hidden_grads_are_the_loop_signal():
    rng = np.random.default_rng(9)
    p = mlp.init_params([3, 5, 2], rng)
    out, cache = mlp.forward(p, rng.standard_normal((3, 4)), "tanh")
    d = rng.standard_normal(out.shape)
    signals = {}
    mlp.backward(d, cache, hidden_grads=signals)
    assert sorted(signals) == [1, 2]
    np.testing.assert_array_equal(signals[2], d)  # the output layer is identity: ∇h_2 = dout
    np.testing.assert_allclose(signals[1], p["W2"].T @ d, rtol=1e-12)
