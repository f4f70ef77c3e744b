"""Explorers of lessons 01 and 02: their compute functions, without a browser."""

import numpy as np
import pytest

from bpcore import graph as G
from bpcore.gradcheck import check_gradients
from bpcore.plots import new_figure
from bpcore.widgets.chain import compute_chain, draw_chain
from bpcore.widgets.graph import chain_graph_gradients, compute_expression, draw_expression, parse_values, readout


@pytest.mark.parametrize("gain", [0.8, 1.0, 1.25])
def test_linear_chain_derivative_is_gain_to_the_depth(gain):
    r = compute_chain(gain, 30, "linear")
    np.testing.assert_allclose(r["dh_dw"], gain ** np.arange(31), rtol=1e-13)


@pytest.mark.parametrize("gain, w", [(0.7, 0.5), (1.0, -0.3), (1.4, 0.9)])
def test_tanh_chain_derivative_matches_finite_differences_and_the_engine(gain, w):
    depth = 12
    r = compute_chain(gain, depth, "tanh", w)
    report = check_gradients(lambda p: compute_chain(gain, depth, "tanh", float(p["w"]))["h"][-1],
                             {"w": np.array(w)}, {"w": np.array(r["dh_dw"][-1])})
    assert report.ok, str(report)
    per_node = chain_graph_gradients(gain, depth, "tanh", w)  # ∂z/∂h_k = dh_n/dw / dh_k/dw
    np.testing.assert_allclose(per_node, r["dh_dw"][-1] / r["dh_dw"], rtol=1e-12)


def test_chain_overflow_is_inf_not_an_error_and_is_drawn():
    r = compute_chain(1.5, 2000, "linear")
    assert np.isinf(r["dh_dw"][-1]) and np.isfinite(r["dh_dw"][10])
    fig, _ = new_figure()
    assert "inf" in draw_chain(fig, r)


@pytest.mark.parametrize("kwargs, message", [
    (dict(gain=0.0, depth=3), "gain"), (dict(gain=1.0, depth=0), "depth"),
    (dict(gain=1.0, depth=2.5), "depth"), (dict(gain=1.0, depth=3, f="cube"), "argument 'f'"),
])
def test_chain_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        compute_chain(**kwargs)


def test_chain_graph_gradients_linear():
    np.testing.assert_allclose(chain_graph_gradients(0.8, 20), 0.8 ** np.arange(20, -1, -1), rtol=1e-12)
    with pytest.raises(ValueError, match="argument 'f'"):
        chain_graph_gradients(1.0, 3, "cube")


def test_expression_explorer_reproduces_the_worked_examples():
    r = compute_expression("(x + y) * z", "x=-2, y=5, z=-4")
    assert r["error"] is None and float(r["out"].value) == -12.0
    assert readout(r) == "f = -12\ndf/dx = -4\ndf/dy = -4\ndf/dz = 3"
    r = compute_expression("2*(x*y + max(z, w))", "x=3; y=-4; z=2; w=-1")
    assert [float(r["grads"][n]) for n in "xyzw"] == [-8.0, 6.0, 2.0, 0.0]
    fig, _ = new_figure()
    assert draw_expression(fig, r).startswith("f = -20")


@pytest.mark.parametrize("expression, values, message", [
    ("x + q", "x=1", "unknown name 'q'"),
    ("sin(x)", "x=1", "unknown function 'sin'"),
    ("x ^ 2", "x=1", "operator"),
    ("os.system(x)", "x=1", "only plain function names"),
    ("log(x)", "x=-1", "op 'log' produced NaN"),
    ("x + 1", "x=abc", "'abc' (for x) is not a number"),
    ("x + 1", "x 1", "name=number"),
    ("x + 1", "x=nan", "not a finite number"),
])
def test_expression_explorer_gives_messages_not_tracebacks(expression, values, message):
    r = compute_expression(expression, values)
    assert r["out"] is None and message in r["error"]
    fig, _ = new_figure()
    assert message in draw_expression(fig, r)


def test_parse_values():
    assert parse_values(" a = 1.5 , b=-2e-1,") == {"a": 1.5, "b": -0.2}
    assert parse_values("") == {}


def test_expression_gradients_match_finite_differences():
    text = "sigmoid(x*y) + tanh(x - y)**2 / exp(y) + relu(x) * log(y)"
    r = compute_expression(text, "x=0.7, y=1.3")

    def f(p):
        return G.parse(text, {"x": float(p["x"]), "y": float(p["y"])})[0].value

    report = check_gradients(f, {"x": np.array(0.7), "y": np.array(1.3)},
                             {"x": r["grads"]["x"], "y": r["grads"]["y"]})
    assert report.ok, str(report)


ADVERSARIAL = [
    "1" + "0" * 309,                       # an integer literal beyond float range (OverflowError before)
    "-" * 499 + "x",                       # 500 unary minuses (4.9 s to draw before)
    "(" * 200 + "x" + ")" * 200,           # deep nesting
    "+".join(["x*y"] * 60),                # many nodes within the length limit
    "x" * 501,                             # beyond the length limit
    "1e999 + x", "x ** 1e308", "exp(exp(exp(x)))", "log(x - x)", "x / (y - y)",
    "10**309", "sum(" * 30 + "x" + ")" * 30,
]


@pytest.mark.parametrize("expression", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_expression_box_answers_adversarial_input_with_a_message_or_a_small_graph(expression):
    r = compute_expression(expression, "x=0.5, y=2")     # no timing here (house rule): the limit is the node count
    if r["error"] is None:
        assert len(G.topological_order(r["out"])) <= 2 * G.MAX_NODES
    else:
        assert isinstance(r["error"], str) and 0 < len(r["error"]) < 300     # a short message, not a traceback


def test_expression_node_limit_is_counted_before_building():
    ok = "+".join(["x"] * ((G.MAX_NODES + 1) // 2))          # MAX_NODES names and additions, or one fewer
    assert compute_expression(ok, "x=1")["error"] is None
    too_many = "+".join(["x"] * (G.MAX_NODES // 2 + 2))
    assert "too large" in compute_expression(too_many, "x=1")["error"]


def test_values_box_has_a_length_limit():
    r = compute_expression("x + 1", "x=1, " + "y=2, " * 200)
    assert r["error"].startswith("values: too long")
    r = compute_expression("x + 1", "x=" + "9" * 400)
    assert r["error"] is None or r["error"].startswith("values:")
