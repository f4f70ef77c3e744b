"""Lesson 02 explorer: type an expression and values, see its graph with forward values and gradients.

Seed 002 §2–§3. ``compute_expression`` parses the expression with :func:`bpcore.graph.parse` (ast, never
eval), runs forward and :func:`bpcore.graph.backprop`, and returns either the graph and its grad_table
or a readable error message — an invalid expression is a message for the student, not a traceback.
Also here: ``chain_graph_gradients``, the gradient at every node of a deep chain graph.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from bpcore import graph as G
from bpcore.diagrams.graph import draw_graph, fmt_value, legend_text
from bpcore.validate import check_scalar
from bpcore.widgets import Explorer

MAX_VALUES_LENGTH = 500   # characters of the values box, like the expression's limit


def parse_values(text: str) -> dict:
    """``"x=-2, y=5, z=-4"`` -> {"x": -2.0, "y": 5.0, "z": -4.0}; numbers only, clear errors otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"values: expected text such as x=-2, y=5, got {type(text).__name__}")
    if len(text) > MAX_VALUES_LENGTH:
        raise ValueError(f"values: too long ({len(text)} characters, at most {MAX_VALUES_LENGTH})")
    values = {}
    for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
        name, eq, number = part.partition("=")
        name = name.strip()
        if not eq or not name.isidentifier():
            raise ValueError(f"values: write name=number pairs separated by commas, e.g. x=-2, y=5 (got '{part}')")
        try:
            values[name] = float(number)
        except ValueError:
            raise ValueError(f"values: '{number.strip()}' (for {name}) is not a number") from None
        if not np.isfinite(values[name]):
            raise ValueError(f"values: {name} = {number.strip()} is not a finite number")
    return values


def compute_expression(expression: str, values: str) -> dict:
    """{"out", "variables", "grads", "error"}: the graph of ``expression`` at ``values``, or the error text.

    Any input gets an answer quickly: :func:`bpcore.graph.parse` refuses expressions beyond its length and
    node limits before building anything, and the values box has a length limit of its own.
    """
    try:
        out, variables = G.parse(expression, parse_values(values))
        grads = G.backprop(out) if np.size(out.value) == 1 else None
    except ValueError as e:
        return {"out": None, "variables": {}, "grads": None, "error": str(e)}
    except (ArithmeticError, RecursionError) as e:   # a message for the student, never a traceback
        return {"out": None, "variables": {}, "grads": None, "error": f"expression: cannot be computed ({e})"}
    return {"out": out, "variables": variables, "grads": grads, "error": None}


def readout(result) -> str:
    """One line with the value and one line per variable with its gradient."""
    if result["error"]:
        return result["error"]
    out, grads = result["out"], result["grads"]
    lines = [f"f = {fmt_value(out.value)}"]
    lines += [f"df/d{name} = {fmt_value(grads[v])}" for name, v in result["variables"].items()]
    return "\n".join(lines)


def draw_expression(fig, result) -> str:
    ax = fig.axes[0]
    if result["error"]:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "invalid expression — see the message below", ha="center", va="center",
                transform=ax.transAxes, fontsize=11, color="#d62728")
    else:
        draw_graph(ax, result["out"], result["grads"])
        legend_text(ax, result["grads"] is not None)
    return readout(result)


def expression_explorer(expression: str = "2*(x*y + max(z, w))", values: str = "x=3, y=-4, z=2, w=-1") -> Explorer:
    """Two text boxes (updated on Enter): the expression and its variables' values."""
    layout = widgets.Layout(width="45%")
    controls = {
        "expression": widgets.Text(value=expression, description="f =", continuous_update=False, layout=layout),
        "values": widgets.Text(value=values, description="at", continuous_update=False, layout=layout),
    }
    return Explorer(compute_expression, draw_expression, controls, width=8.0, height=4.5)


def chain_graph_gradients(gain: float, depth: int, f: str = "linear", w: float = 0.5) -> np.ndarray:
    """|∂z/∂h_k| for every node h_0 = w, h_k = f(h_{k-1}) of a chain graph built in bpcore.graph.

    ``f`` is "linear" (h_k = gain·h_{k-1}) or "tanh" (h_k = tanh(gain·h_{k-1})); z = h_depth. Computed by
    one call of :func:`bpcore.graph.backprop` (one multiplication per edge).
    """
    check_scalar("gain", gain, low=0, high=10, low_open=True)
    check_scalar("depth", depth, low=1, high=10_000, integer=True)
    if f not in ("linear", "tanh"):
        raise ValueError(f"argument 'f': expected 'linear' or 'tanh', got {f!r}")
    a = G.constant(gain)
    nodes = [G.variable(w, "w")]
    for _ in range(depth):
        nodes.append(a * nodes[-1] if f == "linear" else G.tanh(a * nodes[-1]))
    table = G.backprop(nodes[-1], wrt=nodes[:1])
    return np.array([abs(float(table[n])) for n in nodes])
