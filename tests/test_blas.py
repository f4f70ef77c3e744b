"""bpcore.blas: a small model trains on one BLAS thread, a large one keeps them all, and the count comes back."""

from __future__ import annotations

import numpy as np
import pytest

from bpcore import blas, mlp, optim

threadpoolctl = pytest.importorskip("threadpoolctl")  # a requirement; without it bpcore.blas changes nothing


def _threads() -> int:
    return max(i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")


@pytest.fixture
def two_threads():
    with threadpoolctl.threadpool_limits(2, user_api="blas"):  # as a 2-core machine has by default
        yield


def test_small_work_runs_on_one_thread_and_the_count_is_restored(two_threads):
    with blas.one_thread_if_small(blas.SMALL - 1):
        assert _threads() == 1
    assert _threads() == 2
    with blas.one_thread_if_small(blas.SMALL):
        assert _threads() == 2


@pytest.mark.parametrize("width,batch,expected", [(8, 4, 1), (1024, 64, 2)])
def test_train_sizes_its_threads_by_the_model(two_threads, width, batch, expected):
    rng = np.random.default_rng(0)
    params = mlp.init_params([width, width, 2], rng)
    X, y = rng.standard_normal((width, 2 * batch)), rng.integers(0, 2, 2 * batch)
    seen = []

    def loss_and_grads(P, xb, yb):
        seen.append(_threads())
        return mlp.loss_and_grads(P, xb, yb, output="identity", loss="cross_entropy")

    optim.train(loss_and_grads, params, X, y, lr=0.1, epochs=1, batch_size=batch, rng=rng)
    assert seen == [expected, expected] and _threads() == 2


def test_forward_work_counts_every_weight_once_per_column():
    params = {"W": np.zeros((3, 4)), "b": np.zeros((3, 1))}
    assert blas.forward_work(params, 10) == (12 + 3) * 10


def test_an_explorer_updates_on_one_thread(two_threads):
    import contextlib
    import io

    import ipywidgets as widgets

    from bpcore.widgets import Explorer

    seen = []

    def compute(gain):
        seen.append(_threads())
        return gain

    def draw(fig, gain):
        fig.axes[0].plot([0, 1], [0, gain])
        return f"gain {gain}"

    with contextlib.redirect_stdout(io.StringIO()):      # display() outside a kernel prints a repr
        ex = Explorer(compute, draw, {"gain": widgets.FloatSlider(value=1.0, min=0, max=2)})
        ex.controls["gain"].value = 2.0
    assert seen == [1, 1] and _threads() == 2
