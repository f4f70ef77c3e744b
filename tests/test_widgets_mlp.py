"""Explorer of lesson 03, without a browser: compute's numbers and draw into a figure."""

import numpy as np
import pytest

from bpcore.plots import new_figure
from bpcore.widgets import mlp as explorer_mlp


def test_sigmoid_vanishes_and_relu_at_high_scale_explodes():
    sig = explorer_mlp.compute("sigmoid", depth=20, init_scale=1.0)
    assert sig["signal"][0] / sig["signal"][-1] < 1e-6  # σ' ≤ 1/4 per layer
    big = explorer_mlp.compute("relu", depth=20, init_scale=4.0)
    assert big["signal"][0] / big["signal"][-1] > 1e6
    he = explorer_mlp.compute("relu", depth=20, init_scale=np.sqrt(2))
    assert 1e-2 < he["signal"][0] / he["signal"][-1] < 1e2  # He init keeps the signal's scale


def test_compute_is_deterministic_and_shaped():
    a = explorer_mlp.compute("tanh", depth=7, init_scale=1.0)
    b = explorer_mlp.compute("tanh", depth=7, init_scale=1.0)
    np.testing.assert_array_equal(a["grad_norm"], b["grad_norm"])
    assert a["grad_norm"].shape == a["signal"].shape == a["h_std"].shape == (7,)


def test_extreme_settings_show_overflow_instead_of_crashing():
    r = explorer_mlp.compute("relu", depth=40, init_scale=8.0, width=8)
    fig, _ = new_figure(1, 2)
    text = explorer_mlp.draw(fig, r)
    assert "‖∇h_1 J‖" in text
    with np.errstate(over="ignore"):
        r = explorer_mlp.compute("relu", depth=400, init_scale=8.0)
    assert not np.all(np.isfinite(r["signal"]))
    explorer_mlp.draw(new_figure(1, 2)[0], r)


def test_bad_settings():
    with pytest.raises(ValueError, match="activation"):
        explorer_mlp.compute("gelu")
    with pytest.raises(ValueError, match="depth"):
        explorer_mlp.compute("tanh", depth=0)


def test_explorer_builds():
    ex = explorer_mlp.explorer()
    ex.controls["depth"].value = 5
    assert ex.settings()["depth"] == 5
