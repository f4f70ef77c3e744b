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
    with pytest.raises(TypeError, match=r"argument 'params\['k'\]'.*bool"):
        numerical_gradient(lambda q: 0.0, {"k": np.ones(3, bool)})
    with pytest.raises(TypeError, match=r"argument 'params\['k'\]'.*float16"):
        numerical_gradient(lambda q: 0.0, {"k": np.ones(3, np.float16)})
    grads, _ = numerical_gradient(lambda q: float(np.sum(q["k"] ** 2)), {"k": np.arange(3)})   # exact numbers
    np.testing.assert_allclose(grads["k"], [0.0, 2.0, 4.0], atol=1e-9)
    with pytest.raises(ValueError, match="missing key"):
        check_gradients(lambda q: np.sum(q["x"]), {"x": np.ones(2)}, {})
    with pytest.raises(ValueError, match=r"shape \(3,\), expected \(2,\)"):
        check_gradients(lambda q: np.sum(q["x"]), {"x": np.ones(2)}, {"x": np.ones(3)})


# --- hints: a failing row says which common mistake it looks like -------------------------------------------

def _failing_report(mutate, seed=4, shape=(3, 3)):
    rng = np.random.default_rng(seed)
    p = {"W": rng.standard_normal(shape), "x": rng.standard_normal((shape[1], 2)),
         "b": rng.standard_normal((shape[0], 1))}
    f = lambda q: np.sum(np.tanh(q["W"] @ q["x"] + q["b"]) * np.arange(1, 3))
    d = (1 - np.tanh(p["W"] @ p["x"] + p["b"]) ** 2) * np.arange(1, 3)
    grads = {"W": d @ p["x"].T, "x": p["W"].T @ d, "b": d.sum(axis=1, keepdims=True)}
    mutate(grads)
    return check_gradients(f, p, grads)


@pytest.mark.parametrize("mutate, name, phrase", [
    (lambda g: g.update(W=g["W"].T), "W", "transpose"),
    (lambda g: g.update(b=np.zeros_like(g["b"])), "b", "forgotten bias gradient"),
    (lambda g: g.update(x=-g["x"]), "x", "sign error"),
    (lambda g: g.update(W=2 * g["W"]), "W", "2 times the true gradient"),
    (lambda g: g["W"].__setitem__((1, slice(None)), 0.5 * g["W"][1]), "W", "only row(s) 1 of 3"),
    (lambda g: g.update(x=g["x"] * (1 + np.arange(6).reshape(3, 2))), "x", "chain rule"),
])
def test_failing_rows_carry_a_hint_in_the_report(mutate, name, phrase):
    report = _failing_report(mutate)
    assert not report[name].ok and phrase in report[name].hint, report
    assert f"hint for {name}: " in str(report)
    assert all(r.ok and r.hint == "" for r in report.rows if r.name != name), report
    with pytest.raises(GradcheckError) as info:
        report.assert_ok()
    assert phrase in str(info.value)


def test_rows_failing_the_same_way_share_one_hint_line():
    report = _failing_report(lambda g: g.update(W=-g["W"], b=-g["b"]))
    assert "hint for W, b: it is the negative of the true gradient: a sign error" in str(report)
    assert str(report).count("hint for") == 1


def test_passing_reports_print_no_hints():
    report = _failing_report(lambda g: None)
    assert report.ok and "hint" not in str(report)


@pytest.mark.parametrize("got, expected, phrase", [
    ((4, 3), (3, 4), "transpose of the expected shape"),
    ((3, 5), (3, 1), "summed over the batch"),
    ((6, 3, 4), (3, 4), "one axis too many"),
])
def test_wrong_shapes_name_the_slip(got, expected, phrase):
    with pytest.raises(ValueError, match=phrase):
        check_gradients(lambda q: np.sum(q["W"]), {"W": np.ones(expected)}, {"W": np.ones(got)})


def test_backward_without_a_bias_gradient_gets_a_clear_error():
    from bpcore.gradcheck import MissingGradientError

    rng = np.random.default_rng(5)
    p = {"W": rng.standard_normal((2, 3)), "b": rng.standard_normal((2, 1))}
    fwd = lambda q: (q["W"] @ np.ones((3, 1)) + q["b"], None)
    with pytest.raises(MissingGradientError, match=r"no gradient for \['b'\].*forgotten bias") as info:
        check_vjp(fwd, lambda d, c: {"W": d @ np.ones((1, 3))}, p, rng)
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
