"""bpcore.diagrams.graph: the layout keeps nodes apart and the figures carry the engine's numbers."""

import numpy as np
import pytest

from bpcore import graph as G
from bpcore.diagrams import graph as D


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


@pytest.mark.parametrize("text", ["(x + y) * z", "2*(x*y + max(z, w))", "x*x + exp(x) + x",
                                  "sigmoid(w*x + b) * log(x) + x**2 - tanh(relu(b))"])
def test_layout_separates_nodes_and_points_edges_forward(text):
    out, _ = G.parse(text, dict(x=1.5, y=2.0, z=-1.0, w=0.3, b=-0.2))
    pos = D.layered_positions(out)
    order = G.topological_order(out)
    points = [pos[n.id] for n in order]
    assert len(set(points)) == len(points), "two nodes drawn at the same place"
    for n in order:
        for i in n.inputs:
            assert pos[i.id][0] < pos[n.id][0], f"input {i.label} is not left of {n.label}"


def test_add_mul_figure_shows_values_and_gradients():
    labels = _texts(D._graph_add_mul())
    for value in ("-2", "5", "-4", "3", "-12"):
        assert value in labels
    assert labels.count("-4") >= 3  # z's value, and the gradients of x, y and q


def test_max_gate_figure_routes_gradient():
    f = D.max_gate_example()
    grads = G.backprop(f)
    assert float(f.value) == -20 and sorted(float(grads[n]) for n in "xyzw") == [-8, 0, 2, 6]
    labels = _texts(D._graph_max_gate())
    assert {"-8", "6", "2", "0", "-20"} <= set(labels)


def test_symbol_to_symbol_figure_marks_the_added_nodes():
    fig = D._graph_symbol_to_symbol()
    labels = _texts(fig)
    assert {"× → dz/dw", "× → dz/dx", "× → dz/dy", "dz/dz = 1"} <= set(labels)
    w, x, y, z = D.chain_example()
    assert f"{float(G.backprop(z)[w]):.4g}" in labels


def test_fmt_value():
    assert D.fmt_value(np.array(-12.0)) == "-12"
    assert D.fmt_value(np.array([[1.0], [-2.0]])) == "[1, -2]ᵀ"
    assert D.fmt_value(np.zeros((3, 4))) == "shape 3×4"


def test_backward_graph_reverses_every_edge_with_its_local_derivative():
    x, y, a, b, f = D.backward_example()
    slopes = D.local_derivatives(f)
    assert {(c.label, c.inputs[k].label, float(s)) for (c, k), s in slopes.items()} == {
        ("×", "x", 2.0), ("×", "y", 1.0), ("exp", "x", np.e), ("+", "×", 1.0), ("+", "exp", 1.0)}
    labels = _texts(D._graph_backward())
    assert {"∂f/∂x", "∂f/∂a", "× ∂a/∂x = 2", "× ∂b/∂x = 2.718"} <= set(labels)
    assert float(G.backprop(f)[x]) == 2.0 + np.e and "4.718" in labels  # ∂f/∂x sums the two edges into it
