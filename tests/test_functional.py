"""bpcore.functional: activations, softmax, cross-entropy and squared error, values and derivatives."""

import numpy as np
import pytest

from bpcore import functional as F
from bpcore.gradcheck import check_gradients, check_vjp

SEEDS = [0, 1, 2]


@pytest.mark.parametrize("name", sorted(F.ACTIVATIONS))
@pytest.mark.parametrize("seed", SEEDS)
def test_activation_derivative_matches_finite_differences(name, seed):
    rng = np.random.default_rng(seed)
    f, f_grad = F.activation(name)
    a = rng.standard_normal((int(rng.integers(1, 5)), int(rng.integers(1, 6)))) * 2
    report = check_vjp(lambda p: (f(p["a"]), p["a"]), lambda d, a_: {"a": d * f_grad(a_)}, {"a": a}, rng,
                       threshold=1e-9)
    assert report.ok, f"{name}'s derivative is wrong:\n{report}"


def test_known_values():
    assert F.sigmoid(np.array(0.0)) == 0.5
    assert F.sigmoid_grad(np.array(0.0)) == 0.25
    assert F.tanh_grad(np.array(0.0)) == 1.0
    np.testing.assert_array_equal(F.relu(np.array([-1.0, 0.0, 2.0])), [0, 0, 2])
    np.testing.assert_array_equal(F.relu_grad(np.array([-1.0, 0.0, 2.0])), [0, 0, 1])
    np.testing.assert_array_equal(F.identity_grad(np.array([3.0, -3.0])), [1, 1])


def test_sigmoid_and_softmax_do_not_overflow():
    big = np.array([[-1000.0, 1000.0], [1000.0, -1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(F.sigmoid(big), [[0, 1], [1, 0]], atol=1e-300)
        np.testing.assert_allclose(F.softmax(big), [[0, 1], [1, 0]], atol=1e-300)
        assert F.cross_entropy(big, np.array([1, 1])) == pytest.approx(1000.0)
    assert np.all(np.isfinite(F.log_softmax(big)))


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_columns_are_distributions(seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((4, 7)) * 5
    p = F.softmax(z)
    np.testing.assert_allclose(p.sum(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.log(p), F.log_softmax(z), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reduction", F.REDUCTIONS)
@pytest.mark.parametrize("seed", SEEDS)
def test_cross_entropy_gradient(seed, reduction):
    rng = np.random.default_rng(seed)
    K, B = int(rng.integers(2, 6)), int(rng.integers(1, 8))
    z = rng.standard_normal((K, B)) * 3
    y = rng.integers(0, K, size=B)
    grad = F.softmax_cross_entropy_grad(z, y, reduction)
    report = check_gradients(lambda p: F.cross_entropy(p["z"], y, reduction), {"z": z}, {"z": grad},
                             threshold=1e-7)
    assert report.ok, str(report)


def test_sum_gradient_is_softmax_minus_onehot():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((5, 4))
    y = np.array([0, 4, 2, 2])
    np.testing.assert_allclose(F.softmax_cross_entropy_grad(z, y, "sum"), F.softmax(z) - F.onehot(y, 5))
    np.testing.assert_allclose(F.softmax_cross_entropy_grad(z, y), (F.softmax(z) - F.onehot(y, 5)) / 4)


@pytest.mark.parametrize("reduction", F.REDUCTIONS)
@pytest.mark.parametrize("seed", SEEDS)
def test_squared_error_gradient(seed, reduction):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 4)), int(rng.integers(1, 6)))
    y_hat, y = rng.standard_normal(shape), rng.standard_normal(shape)
    grad = F.squared_error_grad(y_hat, y, reduction)
    report = check_gradients(lambda p: F.squared_error(p["y_hat"], y, reduction), {"y_hat": y_hat},
                             {"y_hat": grad}, threshold=1e-7)
    assert report.ok, str(report)
    assert F.squared_error(np.array([[3.0]]), np.array([[1.0]])) == 2.0


def test_labels_out_of_range_are_refused():
    z = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"label 3 at index 1 is out of range.*0 … 2"):
        F.cross_entropy(z, np.array([0, 3]))
    with pytest.raises(ValueError, match="label -1"):
        F.softmax_cross_entropy_grad(z, np.array([-1, 0]))
    with pytest.raises(ValueError, match="integer class labels"):
        F.cross_entropy(z, np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="integer class labels"):
        F.onehot(np.array([True, False]), 2)
    assert F.cross_entropy(z, np.array([0.0, 2.0])) == pytest.approx(np.log(3))  # integral floats are labels


def test_wrong_shapes_and_nan_are_refused():
    with pytest.raises(ValueError, match=r"argument 'y': expected shape \(2,\), got \(3,\)"):
        F.cross_entropy(np.zeros((3, 2)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"argument 'z': expected shape \(K, B\)"):
        F.cross_entropy(np.zeros(3), np.array([0]))
    with pytest.raises(ValueError, match=r"argument 'z': contains 1 NaN"):
        F.softmax(np.array([[0.0], [np.nan]]))
    with pytest.raises(ValueError, match=r"argument 'y'.*has size 2"):
        F.squared_error(np.zeros((1, 3)), np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"argument 'y_hat': contains"):
        F.squared_error_grad(np.array([[np.inf]]), np.zeros((1, 1)))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(np.zeros((2, 1)), np.array([0]), reduction="max")
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        F.activation("gelu")
    with pytest.raises(ValueError, match="unknown loss"):
        F.loss("hinge")
