"""Explorer of lesson 04, without a browser."""

import numpy as np
import pytest

from bpcore.plots import new_figure
from bpcore.widgets import optimization as explorer_opt


@pytest.mark.parametrize("kappa", [1.0, 10.0, 100.0])
def test_hessian_has_the_requested_condition_number(kappa):
    H = explorer_opt.quadratic_hessian(kappa)
    np.testing.assert_allclose(H, H.T)
    assert np.linalg.cond(H) == pytest.approx(kappa)
    assert np.linalg.eigvalsh(H)[-1] == pytest.approx(1.0)


def test_converges_below_and_diverges_above_two_over_lambda_max():
    below = explorer_opt.compute(lr=1.9, kappa=10.0, n_steps=200)
    above = explorer_opt.compute(lr=2.1, kappa=10.0, n_steps=200)
    assert below["rate"] < 1 < above["rate"]
    assert below["grad_norm"][-1] < 1e-6 < 1e3 < above["grad_norm"][-1]
    np.testing.assert_allclose(below["newton"], 0.0, atol=1e-12)


def test_draw_and_readout():
    r = explorer_opt.compute(lr=2.6, kappa=300.0)
    text = explorer_opt.draw(new_figure(1, 2)[0], r)
    assert "diverges" in text and "2/λ_max = 2.000" in text


def test_bad_settings():
    with pytest.raises(ValueError, match="kappa"):
        explorer_opt.compute(kappa=0.5)
    with pytest.raises(ValueError, match="lr"):
        explorer_opt.compute(lr=0.0)


def test_explorer_builds():
    ex = explorer_opt.explorer()
    ex.controls["lr"].value = 0.5
    assert ex.settings()["lr"] == 0.5
