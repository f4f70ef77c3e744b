"""Lesson 05's figure: the same graph swept both ways, tangents forward and gradients backward (002 §4).

Drawn from the engine: the green values are ``forward``, the blue tangents are :func:`bpcore.autodiff.jvp`
with the seed ``ẋ = 1`` (every node's derivative with respect to x), the red gradients are
:func:`bpcore.graph.backprop` (the output's derivative with respect to every node).
"""

from __future__ import annotations

from matplotlib.figure import Figure

from bpcore import autodiff as ad
from bpcore import graph as G
from bpcore.diagrams.graph import draw_graph, fmt_value, layered_positions, max_gate_example
from bpcore.plots import COLORS, FORWARD, GRADIENT

TANGENT = COLORS[0]


def two_modes() -> Figure:
    """Top: forward mode with seed ẋ = 1; bottom: reverse mode from f. Same graph, same values."""
    f = max_gate_example()
    order = G.topological_order(f)
    x = next(n for n in order if n.name == "x")
    tangents = dict(zip(order, ad.jvp(order, {x: 1.0})))
    fig = Figure(figsize=(8.0, 9.0), layout="constrained")
    ax_f, ax_r = fig.subplots(2, 1)
    draw_graph(ax_f, f, title="forward mode, one sweep with seed dx = 1: blue = d(node)/dx at every node")
    pos = layered_positions(f)
    for n in order:
        if n.is_constant:  # like the reverse panel: no derivative is shown for a constant
            continue
        ax_f.annotate(fmt_value(tangents[n]), pos[n.id], xytext=(0, -17), textcoords="offset points", ha="center",
                      va="top", color=TANGENT, fontsize=9.5, zorder=4, fontweight="bold")
    draw_graph(ax_r, f, G.backprop(f), title="reverse mode, one sweep from f: red = df/d(node) at every node")
    fig.get_layout_engine().set(h_pad=0.3)
    ax_r.text(0.0, -0.02, "green (above): forward value", color=FORWARD, transform=ax_r.transAxes, fontsize=9,
              va="top")
    ax_r.text(0.5, -0.02, "blue (below): tangent", color=TANGENT, transform=ax_r.transAxes, fontsize=9,
              va="top", ha="center")
    ax_r.text(1.0, -0.02, "red (below): gradient of f", color=GRADIENT, transform=ax_r.transAxes, fontsize=9,
              va="top", ha="right")
    ax_r.text(0.5, -0.09, "all four of df/dx, df/dy, df/dz, df/dw: four forward sweeps, or one reverse sweep",
              transform=ax_r.transAxes, fontsize=9.5, va="top", ha="center")
    return fig


FIGURES = {"autodiff_two_modes.png": two_modes}
