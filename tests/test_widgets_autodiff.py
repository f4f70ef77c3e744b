"""Lesson 05's explorer without a browser: its numbers are the measured costs and equal the formulas."""

import numpy as np
import pytest

from bpcore.autodiff import chain_jacobian_cost
from bpcore.plots import new_figure
from bpcore.widgets.autodiff import compute, draw, explorer, widths_of


@pytest.mark.parametrize("settings", [dict(depth=1, width=1, inputs=1, outputs=1),
                                      dict(depth=4, width=16, inputs=4, outputs=32),
                                      dict(depth=3, width=8, inputs=40, outputs=2),
                                      dict(depth=16, width=64, inputs=64, outputs=64)])
def test_measured_costs_equal_the_formula(settings):
    r = compute(**settings)
    widths = widths_of(settings["depth"], settings["width"], settings["inputs"], settings["outputs"])
    assert r["widths"] == widths and len(widths) == settings["depth"] + 1
    formula = chain_jacobian_cost(widths)
    assert r["measured"] == {"forward": formula["forward"], "reverse": formula["reverse"]}
    assert r["passes"] == {"forward": settings["inputs"], "reverse": settings["outputs"]}
    assert r["agree"] < 1e-12
    m = settings["outputs"] - 1
    assert r["curve"]["forward"][m] == formula["forward"] and r["curve"]["reverse"][m] == formula["reverse"]


def test_the_cheaper_mode_is_the_one_with_fewer_passes():
    few_in = compute(depth=3, width=8, inputs=2, outputs=20)
    few_out = compute(depth=3, width=8, inputs=20, outputs=2)
    assert few_in["measured"]["forward"] < few_in["measured"]["reverse"]
    assert few_out["measured"]["forward"] > few_out["measured"]["reverse"]
    curve = few_in["curve"]
    crossing = np.argmax(curve["reverse"] > curve["forward"]) + 1  # first n_L where reverse costs more
    assert crossing == 3  # n_L > n_0 = 2


def test_draw_and_readout():
    fig, _ = new_figure(1, 2)
    text = draw(fig, compute(depth=2, width=4, inputs=3, outputs=5))
    assert "cheaper: forward mode" in text and "= 3 × P" in text
    assert all(ax.get_ylabel() for ax in fig.axes) and all(ax.get_xlabel() or ax.get_xticks().size
                                                           for ax in fig.axes)


def test_compute_validates_and_explorer_builds():
    with pytest.raises(ValueError, match="depth"):
        compute(depth=0)
    with pytest.raises(ValueError, match="width"):
        compute(width=65)
    with pytest.raises(ValueError, match="outputs"):
        compute(outputs=2.5)
    ex = explorer()
    assert set(ex.settings()) == {"depth", "width", "inputs", "outputs"}
    ex.controls["inputs"].value = 50  # an update runs compute and draw again
    assert "reverse mode" in ex.readout.value
