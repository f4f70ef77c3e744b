"""bpcore.data: spirals and noisy regression (shapes, seeding, bad settings)."""

import numpy as np
import pytest

from bpcore.data import noisy_regression, spirals


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_spirals_shapes_labels_and_seeding(n_classes):
    X, y = spirals(np.random.default_rng(0), 50, n_classes)
    assert X.shape == (2, 50 * n_classes) and y.shape == (50 * n_classes,)
    np.testing.assert_array_equal(np.bincount(y), [50] * n_classes)
    assert np.all(np.linalg.norm(X, axis=0) <= 1.0 + 1e-12)
    X2, _ = spirals(np.random.default_rng(0), 50, n_classes)
    np.testing.assert_array_equal(X, X2)
    X3, _ = spirals(np.random.default_rng(1), 50, n_classes)
    assert not np.array_equal(X, X3)


def test_spirals_are_not_linearly_separable():
    X, y = spirals(np.random.default_rng(0), 100, 2, noise=0.0)
    A = np.vstack([X, np.ones(X.shape[1])]).T
    w, *_ = np.linalg.lstsq(A, 2.0 * y - 1, rcond=None)  # best linear fit of ±1 labels
    assert np.mean((A @ w > 0) == (y == 1)) < 0.8


def test_noisy_regression():
    X, Y = noisy_regression(np.random.default_rng(0), 200, noise=0.0)
    assert X.shape == Y.shape == (1, 200)
    assert np.all(np.diff(X[0]) >= 0)
    np.testing.assert_allclose(Y, np.sin(X) + 0.3 * X)
    Xn, Yn = noisy_regression(np.random.default_rng(0), 200, noise=0.5)
    assert 0.4 < np.std(Yn - np.sin(Xn) - 0.3 * Xn) < 0.6


def test_bad_settings_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_classes"):
        spirals(rng, 10, 1)
    with pytest.raises(ValueError, match="n_per_class"):
        spirals(rng, 2.5)
    with pytest.raises(ValueError, match="noise"):
        spirals(rng, 10, noise=-1.0)
    with pytest.raises(ValueError, match="low"):
        noisy_regression(rng, 10, low=2.0, high=1.0)
    with pytest.raises(ValueError, match="'n'"):
        noisy_regression(rng, 0)
