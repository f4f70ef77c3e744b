"""The gradient checker itself: it must pass right gradients, fail wrong ones, and name kinks."""

import numpy as np
import pytest

from bpcore.gradcheck import GradcheckError, PrecisionWarning, check_gradients, check_vjp, numerical_gradient


def tanh_layer(p):
    return np.tanh(p["W"] @ p["x"])


def tanh_layer_vjp(dout, p):
    d = dout * (1 - np.tanh(p["W"] @ p["x"]) ** 2)
    return {"W": d @ p["x"].T, "x": p["W"].T @ d}


@pytest.mark.parametrize("seed", range(5))
def test_vjp_of_a_correct_backward_passes_tightly(seed):
    rng = np.random.default_rng(seed)
    m, n, b = rng.integers(1, 6, size=3)
    p = {"W": rng.standard_normal((m, n)), "x": rng.standard_normal((n, b))}
    report = check_vjp(lambda q: (tanh_layer(q), q), tanh_layer_vjp, p, rng, threshold=1e-9)
    assert report.ok, report
    assert report.max_rel < 1e-9


def test_wrong_gradient_fails_and_report_names_parameter_and_place():
    rng = np.random.default_rng(1)
    p = {"W": rng.standard_normal((3, 4)), "x": rng.standard_normal((4, 2))}
    out = tanh_layer(p)
    grads = tanh_layer_vjp(np.ones_like(out), p)
    grads["W"] = grads["W"].copy()
    grads["W"][2, 1] *= 1.01
    report = check_gradients(lambda q: tanh_layer(q).sum(), p, grads)
    assert not report["W"].ok and report["x"].ok
    assert report["W"].where == (2, 1)
    with pytest.raises(GradcheckError, match=r"W .*FAIL"):
        report.assert_ok()


def test_transposed_gradient_is_caught():
    rng = np.random.default_rng(2)
    p = {"W": rng.standard_normal((3, 3)), "x": rng.standard_normal((3, 1))}
    grads = tanh_layer_vjp(np.ones((3, 1)), p)
    grads["W"] = grads["W"].T
    assert not check_gradients(lambda q: tanh_layer(q).sum(), p, grads).ok


def test_relu_kink_is_reported_not_failed():
    x = np.array([1.5, 0.0, -2.0, 3e-5, -0.7])
    report = check_gradients(lambda q: np.maximum(q["x"], 0).sum() * 3, {"x": x},
                             {"x": 3.0 * (x > 0)})
    assert report.ok
    assert report["x"].kinks == 2
    assert "2 entries at a kink skipped" in str(report)


def test_smooth_functions_have_no_false_kinks():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(200) * 3
    _, kinks = numerical_gradient(lambda q: np.sum(np.tanh(q["x"]) ** 3 + np.exp(0.5 * q["x"])),
                                  {"x": x})
    assert not kinks["x"].any()


def test_params_are_not_modified_and_float32_warns():
    x = np.linspace(-1, 1, 5)
    before = x.copy()
    numerical_gradient(lambda q: np.sum(q["x"] ** 2), {"x": x})
    np.testing.assert_array_equal(x, before)
    with pytest.warns(PrecisionWarning, match="float32"):
        numerical_gradient(lambda q: np.sum(q["x"] ** 2), {"x": x.astype(np.float32)})


def test_bad_inputs_get_clear_errors():
    with pytest.raises(ValueError, match="must return a scalar"):
        numerical_gradient(lambda q: q["x"], {"x": np.ones(3)})
    with pytest.raises(ValueError, match="returned nan"), np.errstate(invalid="ignore"):
        numerical_gradient(lambda q: np.sum(np.log(q["x"])), {"x": -np.ones(2)})
    with pytest.raises(ValueError, match="'params': entry 'k' must be a float array"):
        numerical_gradient(lambda q: 0.0, {"k": np.arange(3)})
    with pytest.raises(ValueError, match="missing key"):
        check_gradients(lambda q: np.sum(q["x"]), {"x": np.ones(2)}, {})
    with pytest.raises(ValueError, match=r"shape \(3,\), expected \(2,\)"):
        check_gradients(lambda q: np.sum(q["x"]), {"x": np.ones(2)}, {"x": np.ones(3)})
