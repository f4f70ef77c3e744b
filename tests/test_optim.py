"""bpcore.optim: SGD step, minibatches, Newton step, gradient descent, the training loop."""

import numpy as np
import pytest

from bpcore.optim import gradient_descent, minibatches, newton_step, sgd_step, train


def test_sgd_step_is_theta_minus_lr_g_and_pure():
    params = {"W": np.ones((2, 3)), "b": np.zeros((2, 1))}
    grads = {"W": np.full((2, 3), 2.0), "b": np.ones((2, 1))}
    new = sgd_step(params, grads, 0.5)
    np.testing.assert_array_equal(new["W"], 0.0)
    np.testing.assert_array_equal(new["b"], -0.5)
    np.testing.assert_array_equal(params["W"], 1.0)  # the caller's arrays are untouched


def test_sgd_step_refuses_bad_input():
    p = {"W": np.ones((2, 2))}
    with pytest.raises(ValueError, match="missing key"):
        sgd_step(p, {}, 0.1)
    with pytest.raises(ValueError, match=r"grads\['W'\]': expected shape \(2, 2\), got \(2, 3\)"):
        sgd_step(p, {"W": np.ones((2, 3))}, 0.1)
    with pytest.raises(ValueError, match=r"grads\['W'\]': contains 1 NaN"):
        sgd_step(p, {"W": np.array([[1, 1], [1, np.nan]])}, 0.1)
    with pytest.raises(ValueError, match="'lr'"):
        sgd_step(p, p, -1.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_minibatches_cover_every_example_once(seed):
    batches = list(minibatches(10, 3, np.random.default_rng(seed)))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(10))
    with pytest.raises(ValueError, match="batch_size"):
        list(minibatches(10, 0, np.random.default_rng(seed)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_newton_step_solves_a_quadratic_in_one_step(seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((4, 4))
    H = A @ A.T + 4 * np.eye(4)
    b = rng.standard_normal(4)
    x0 = rng.standard_normal(4)
    x1 = newton_step(x0, H @ x0 - b, H)  # f = ½xᵀHx - bᵀx, ∇f = Hx - b
    np.testing.assert_allclose(x1, np.linalg.solve(H, b), rtol=1e-10)


def test_newton_step_refuses_bad_input():
    with pytest.raises(ValueError, match="singular"):
        newton_step(np.zeros(2), np.ones(2), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"argument 'H': axis 0 \('n'\) has size 3"):
        newton_step(np.zeros(2), np.ones(2), np.eye(3))
    with pytest.raises(ValueError, match="argument 'g': contains"):
        newton_step(np.zeros(2), np.array([np.nan, 0]), np.eye(2))


def test_gradient_descent_converges_below_and_diverges_above_two_over_lambda_max():
    H = np.diag([1.0, 10.0])
    grad = lambda x: H @ x
    ok = gradient_descent(grad, [1.0, 1.0], 0.19, 200)     # 2/λ_max = 0.2
    bad = gradient_descent(grad, [1.0, 1.0], 0.21, 200)
    assert ok.shape == (201, 2)
    assert np.linalg.norm(ok[-1]) < 1e-6
    assert np.linalg.norm(bad[-1]) > 1e3
    huge = gradient_descent(grad, [1.0, 1.0], 10.0, 400)   # overflows without a warning turned error
    assert not np.all(np.isfinite(huge[-1]))


def _linear_problem(rng, n=64):
    X = rng.standard_normal((3, n))
    w = np.array([[1.0, -2.0, 0.5]])
    return X, w @ X


def _loss_and_grads(params, X, Y):
    r = params["w"] @ X - Y
    return 0.5 * float(np.mean(r ** 2)), {"w": r @ X.T / X.shape[1]}


def test_train_fits_linear_regression_and_prints_progress():
    rng = np.random.default_rng(0)
    X, Y = _linear_problem(rng)
    lines = []
    params, hist = train(_loss_and_grads, {"w": np.zeros((1, 3))}, X, Y, lr=0.2, epochs=40, batch_size=16,
                         rng=rng, evaluate=lambda p: {"loss": _loss_and_grads(p, X, Y)[0]}, print_every=20,
                         printer=lines.append)
    np.testing.assert_allclose(params["w"], [[1.0, -2.0, 0.5]], atol=1e-4)
    assert len(hist["batch_loss"]) == 40 * 4 and len(hist["loss"]) == 40
    assert lines[0].startswith("epoch 20/40  loss ") and lines[-1].startswith("epoch 40/40  loss ")
    assert "s" not in lines[0].split("loss")[1]  # numbers only, no timings


def test_train_clips_and_refuses_mismatched_data():
    rng = np.random.default_rng(1)
    X, Y = _linear_problem(rng)
    _, hist = train(_loss_and_grads, {"w": np.full((1, 3), 50.0)}, X, Y, lr=0.1, epochs=1, batch_size=64,
                    rng=rng, clip=1.0)
    assert hist["grad_norm"][0] > 1.0  # the norm is recorded before clipping
    with pytest.raises(ValueError, match="argument 'y': expected 64 examples"):
        train(_loss_and_grads, {"w": np.zeros((1, 3))}, X, Y[:, :10], lr=0.1, epochs=1, batch_size=8, rng=rng)
    with pytest.raises(ValueError, match="argument 'X': contains"):
        train(_loss_and_grads, {"w": np.zeros((1, 3))}, X * np.nan, Y, lr=0.1, epochs=1, batch_size=8, rng=rng)
