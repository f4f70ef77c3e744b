"""bpcore.data's long-range tasks: shapes, seeding, what the target is, input errors."""

import numpy as np
import pytest

from bpcore import data


def test_adding_problem_targets_are_the_marked_sums():
    x, y = data.adding_problem(50, 12, np.random.default_rng(0))
    assert x.shape == (12, 2, 50) and y.shape == (1, 50)
    assert np.all(x[:, 1].sum(axis=0) == 2), "exactly two markers per sequence"
    assert np.all(x[:6, 1].sum(axis=0) == 1) and np.all(x[6:, 1].sum(axis=0) == 1), "one marker in each half"
    np.testing.assert_allclose(y[0], (x[:, 0] * x[:, 1]).sum(axis=0))
    assert np.all((x[:, 0] >= 0) & (x[:, 0] < 1))


def test_adding_problem_baseline_is_one_sixth():
    _, y = data.adding_problem(20000, 10, np.random.default_rng(1))
    assert abs(np.mean((y - 1.0) ** 2) - 1 / 6) < 0.01


def test_delayed_recall_label_is_the_marked_first_symbol():
    x, y = data.delayed_recall(40, 7, np.random.default_rng(2), n_symbols=3, amplitude=2.0)
    assert x.shape == (8, 4, 40) and y.shape == (40,)
    np.testing.assert_array_equal(np.argmax(x[0, :3], axis=0), y)
    assert np.all(x[0, 3] == 2.0) and np.all(x[1:, 3] == 0), "the marker is on at step 1 only"
    assert np.all(x[1:, :3].sum(axis=1) == 2.0), "one distracting symbol of size amplitude at every later step"
    assert set(np.unique(y)) <= {0, 1, 2}


def test_tasks_are_seeded():
    a = data.delayed_recall(5, 3, np.random.default_rng(7))
    b = data.delayed_recall(5, 3, np.random.default_rng(7))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    c = data.adding_problem(5, 4, np.random.default_rng(7))
    d = data.adding_problem(5, 4, np.random.default_rng(7))
    np.testing.assert_array_equal(c[0], d[0])


def test_bad_arguments_raise():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="'lag'"):
        data.delayed_recall(5, 0, rng)
    with pytest.raises(ValueError, match="'n_symbols'"):
        data.delayed_recall(5, 3, rng, n_symbols=1)
    with pytest.raises(ValueError, match="'amplitude'"):
        data.delayed_recall(5, 3, rng, amplitude=0.0)
    with pytest.raises(ValueError, match="'n_samples'"):
        data.adding_problem(0, 5, rng)
    with pytest.raises(ValueError, match="'T'"):
        data.adding_problem(5, 1, rng)
    with pytest.raises(ValueError, match="'rng'"):
        data.adding_problem(5, 5, 42)
