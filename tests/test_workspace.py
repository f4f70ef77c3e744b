"""Scratch arrays reused between calls, and the guarantee that nothing a function returns lives in them."""

import threading

import numpy as np
import pytest

from bpcore import lstm, rnn, workspace


def test_same_request_returns_the_same_array():
    workspace.clear()
    a = workspace.empty("t.a", (3, 4), np.float64)
    assert workspace.empty("t.a", (3, 4), np.float64) is a
    assert workspace.empty("t.a", (3, 4), np.float32) is not a          # another dtype: another array
    b = workspace.empty("t.b", (3, 4), np.float64)
    assert b is not a and not np.shares_memory(a, b)


def test_one_size_per_name_keeps_memory_bounded():
    workspace.clear()
    workspace.empty("t.grow", (10,), np.float64)
    workspace.empty("t.grow", (20,), np.float64)
    keys = [k for k in workspace._local.arrays if k[0] == "t.grow"]
    assert keys == [("t.grow", (20,), np.dtype(np.float64))]
    workspace.clear()
    assert workspace._local.arrays == {}


def test_each_thread_has_its_own_arrays():
    workspace.clear()
    mine = workspace.empty("t.thread", (5,), np.float64)
    theirs = []
    worker = threading.Thread(target=lambda: theirs.append(workspace.empty("t.thread", (5,), np.float64)))
    worker.start()
    worker.join()
    assert theirs[0] is not mine and not np.shares_memory(theirs[0], mine)


def _snapshot(d):
    return {k: np.array(v, copy=True) for k, v in d.items() if isinstance(v, np.ndarray)}


@pytest.mark.parametrize("model", ["rnn", "linear", "lstm"])
def test_results_survive_the_next_call(model):
    """A later call of the same shape reuses the scratch arrays: nothing returned earlier may change."""
    rng = np.random.default_rng(0)
    T, n_x, n_h, B = 6, 3, 5, 4
    if model == "lstm":
        p = lstm.init_params(n_x, n_h, rng)

        def run(x, dh):
            h, cache = lstm.forward(p, x)
            return {"h": h, **lstm.backward(dh, cache)}
    elif model == "rnn":
        p = rnn.init_params(n_x, n_h, rng, n_z=2)

        def run(x, dh):
            h, cache = rnn.forward(p, x)
            return {"h_out": h, **rnn.backward(dh, cache)}
    else:
        p = rnn.init_linear_params(n_x, n_h, rng, n_q=n_h)

        def run(x, dh):
            o, cache = rnn.linear_forward(p, x)
            return {"o": o, **rnn.linear_backward(dh, cache)}
    first = run(rng.standard_normal((T, n_x, B)), rng.standard_normal((T, n_h, B)))
    kept = _snapshot(first)
    run(rng.standard_normal((T, n_x, B)), rng.standard_normal((T, n_h, B)))
    for key, value in kept.items():
        np.testing.assert_array_equal(first[key], value, err_msg=f"{model}: result '{key}' was overwritten")


def test_columns_stack_every_step_and_example_as_one_column():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((4, 2, 3)), rng.standard_normal((4, 5, 3))     # (T, n_i, B)
    Z = workspace.columns("t.cols", [a, b], np.float64, ones=True)
    assert Z.shape == (2 + 5 + 1, 4 * 3)
    for t in range(4):
        for j in range(3):
            np.testing.assert_array_equal(Z[:, t * 3 + j], np.concatenate([a[t, :, j], b[t, :, j], [1.0]]))
    # a sum over steps and examples is one product: Σ_t a_t b_tᵀ
    np.testing.assert_allclose(Z[:2] @ Z[2:7].T, sum(a[t] @ b[t].T for t in range(4)), rtol=1e-12)
