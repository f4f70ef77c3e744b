"""Computational graphs drawn from :mod:`bpcore.graph`: forward values in green, gradients in red.

Seed 002 §2–§3 lost every figure; these are drawn from the engine itself, so each number on a
picture is what ``forward`` and ``backprop`` compute. ``draw_graph`` lays nodes out in layers (a node's
layer is the length of the longest path reaching it from a leaf), inputs on the left, output on the
right, and orders each layer by the mean position of its inputs to keep edges from crossing.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from bpcore import graph as G
from bpcore.plots import FORWARD, GRADIENT

DX, DY = 2.0, 1.25  # spacing between layers and between nodes of one layer (data units)


def fmt_value(v) -> str:
    """A number as at most 4 significant digits; a short array as a list; a longer one by its shape."""
    a = np.asarray(v, dtype=float)
    if a.size == 1:
        x = float(a.reshape(()))
        return "0" if x == 0 else f"{x:.4g}"
    if a.size <= 3:
        return "[" + ", ".join(f"{x:.3g}" for x in a.ravel()) + "]" + ("ᵀ" if a.ndim == 2 and a.shape[1] == 1 else "")
    return "shape " + "×".join(str(s) for s in a.shape)


def layered_positions(outputs) -> dict:
    """{node id: (x, y)}: x from the longest path from a leaf, y ordered by the inputs' mean height."""
    order = G.topological_order(outputs)
    layer = {}
    for n in order:
        layer[n.id] = 1 + max((layer[i.id] for i in n.inputs), default=-1)
    # leaves sit one layer before their first consumer, so an input is drawn next to where it is used
    consumers = {}
    for n in order:
        for i in n.inputs:
            consumers.setdefault(i.id, []).append(n)
    for n in order:
        if n.op is None and n.id in consumers:
            layer[n.id] = min(layer[c.id] for c in consumers[n.id]) - 1
    layers = {}
    for n in order:
        layers.setdefault(layer[n.id], []).append(n)
    y = {}
    for k in sorted(layers):
        for rank, n in enumerate(layers[k]):
            y[n.id] = float(rank)
    for _ in range(4):  # barycenter sweeps, forward then backward
        for k in sorted(layers):
            key = lambda n: np.mean([y[i.id] for i in n.inputs]) if n.inputs else np.mean(
                [y[c.id] for c in consumers.get(n.id, [n])])
            layers[k].sort(key=key)
            for rank, n in enumerate(layers[k]):
                y[n.id] = rank - (len(layers[k]) - 1) / 2
    return {n.id: (layer[n.id] * DX, -y[n.id] * DY) for n in order}


def _sides(p_from, p_to):
    """Where an edge leaves its source box and enters its target box, as fractions of the boxes."""
    dx, dy = p_to[0] - p_from[0], p_to[1] - p_from[1]
    if abs(dx) > 1e-9:  # left to right (or back): from a side to the facing side
        return ((1.0, 0.5), (0.0, 0.5)) if dx > 0 else ((0.0, 0.5), (1.0, 0.5))
    return ((0.5, 0.0), (0.5, 1.0)) if dy < 0 else ((0.5, 1.0), (0.5, 0.0))


def draw_graph(ax, outputs, grads: dict | None = None, *, labels: dict | None = None,
               positions: dict | None = None, highlight=(), title: str | None = None):
    """Draw the graph of ``outputs`` on ``ax``: boxes for ops, rounded boxes for leaves, arrows for edges.

    Each node shows its forward value above it (green) and, when ``grads`` (a grad_table of arrays)
    has it, its gradient below (red). ``labels`` {node: text} renames boxes; ``positions`` {node: (x, y)}
    overrides the layout; nodes in ``highlight`` (e.g. nodes made by build_grad) get a red frame.
    """
    order = G.topological_order(outputs)
    pos = layered_positions(outputs)
    for node, p in (positions or {}).items():
        pos[node.id] = p
    labels = {n.id: t for n, t in (labels or {}).items()}
    marked = {n.id for n in highlight}
    boxes = {}
    for n in order:
        x, y = pos[n.id]
        style = "round,pad=0.35" if n.op is None else "square,pad=0.35"
        face = "#eeeeee" if n.is_variable else ("#fff8e0" if n.is_constant else "white")
        edge = GRADIENT if n.id in marked else "black"
        boxes[n.id] = ax.text(x, y, labels.get(n.id, n.label), ha="center", va="center", fontsize=11,
                              zorder=3, bbox=dict(boxstyle=style, fc=face, ec=edge,
                                                  lw=2.0 if n.id in marked else 1.2))
        if n.id in marked and n.value is not None:  # a gradient node: its value is a gradient, in red
            ax.annotate(fmt_value(n.value), (x, y), xytext=(0, -17), textcoords="offset points", ha="center",
                        va="top", color=GRADIENT, fontsize=9.5, zorder=4, fontweight="bold")
        elif n.value is not None and not n.is_constant:  # a constant's box already shows it
            ax.annotate(fmt_value(n.value), (x, y), xytext=(0, 17), textcoords="offset points", ha="center",
                        va="bottom", color=FORWARD, fontsize=9.5, zorder=4, fontweight="bold")
        if grads is not None and n in grads and n.id not in marked:
            ax.annotate(fmt_value(grads[n]), (x, y), xytext=(0, -17), textcoords="offset points", ha="center",
                        va="top", color=GRADIENT, fontsize=9.5, zorder=4, fontweight="bold")
    for n in order:
        for k, i in enumerate(n.inputs):
            rad = 0.0 if list(n.inputs).count(i) == 1 else (0.25 if k == 0 else -0.25)  # x*x: two arrows
            start, end = _sides(pos[i.id], pos[n.id])
            # anchored to the text boxes' sides (cheap to draw, unlike clipping a path at each patch)
            ax.annotate("", xy=end, xycoords=boxes[n.id], xytext=start, textcoords=boxes[i.id],
                        arrowprops=dict(arrowstyle="-|>", color="#555555", lw=1.1, shrinkA=6, shrinkB=6,
                                        connectionstyle=f"arc3,rad={rad}"), zorder=2)
    return _frame(ax, [pos[n.id] for n in order], title)


def legend_text(ax, grads=True, gradient_nodes=False):
    """The colour key under a drawing."""
    ax.text(0.0, -0.02, "green (above): forward value", color=FORWARD, transform=ax.transAxes, fontsize=9,
            va="top")
    if grads or gradient_nodes:
        text = "red frame: node added by build_grad, red value: its gradient" if gradient_nodes else \
            "red (below): gradient of the output"
        ax.text(1.0, -0.02, text, color=GRADIENT, transform=ax.transAxes,
                fontsize=9, va="top", ha="right")


def graph_figure(outputs, grads=None, *, title=None, labels=None, positions=None, highlight=(),
                 width=None, height=None):
    """A new Figure holding ``draw_graph``; its size grows with the number of layers and rows."""
    pos = layered_positions(outputs)
    for node, p in (positions or {}).items():
        pos[node.id] = p
    xs, ys = zip(*pos.values())
    width = width or max(4.0, 1.25 * (max(xs) - min(xs)) / DX * 1.45 + 1.8)
    height = height or max(2.4, 1.05 * (max(ys) - min(ys)) / DY + 1.9)
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.subplots()
    draw_graph(ax, outputs, grads, labels=labels, positions=positions, highlight=highlight, title=title)
    legend_text(ax, grads is not None, bool(highlight))
    return fig


# ---------------------------------------------------------------- the figures the documents lost
def add_mul_example():
    """(x + y) z at x=-2, y=5, z=-4: q = 3, f = -12; gradients x: -4, y: -4, z: 3."""
    x, y, z = G.variable(-2.0, "x"), G.variable(5.0, "y"), G.variable(-4.0, "z")
    return (x + y) * z


def max_gate_example():
    """2(xy + max(z, w)) at x=3, y=-4, z=2, w=-1: -20; gradients x: -8, y: 6, z: 2, w: 0."""
    out, _ = G.parse("2*(x*y + max(z, w))", dict(x=3.0, y=-4.0, z=2.0, w=-1.0))
    return out


def _graph_add_mul():
    f = add_mul_example()
    return graph_figure(f, G.backprop(f), title="f = (x + y) z at x = -2, y = 5, z = -4")


def _graph_max_gate():
    f = max_gate_example()
    return graph_figure(f, G.backprop(f), title="f = 2 (x y + max(z, w)) at x = 3, y = -4, z = 2, w = -1")


def chain_example(w0=-1.0):
    """z = f(f(f(w))) with f = exp: x = f(w), y = f(x), z = f(y)."""
    w = G.variable(w0, "w")
    x = G.exp(w)
    y = G.exp(x)
    z = G.exp(y)
    return w, x, y, z


def _graph_fff():
    w, x, y, z = chain_example()
    names = {x: "x = f(w)", y: "y = f(x)", z: "z = f(y)"}
    return graph_figure(z, G.backprop(z), labels=names, title="z = f(f(f(w))) with f = exp, at w = -1",
                        height=2.4)


def logistic_example():
    """ŷ = σ(xᵀw + b) for one input x with two features."""
    x, w, b = G.variable([[1.0], [-2.0]], "x"), G.variable([[0.5], [0.25]], "w"), G.variable(0.3, "b")
    return x, w, b, G.sigmoid(x.T @ w + b)


def _graph_logistic():
    x, w, b, y_hat = logistic_example()
    return graph_figure(y_hat, G.backprop(y_hat), labels={y_hat: "σ → ŷ"},
                        title="ŷ = σ(xᵀw + b) at x = [1, -2]ᵀ, w = [0.5, 0.25]ᵀ, b = 0.3")


def _graph_symbol_to_symbol():
    w, x, y, z = chain_example()
    table = G.build_grad(z, [w])
    new = [n for n in G.topological_order(table[w]) if n not in {w, x, y, z}]
    labels = {x: "x = f(w)", y: "y = f(x)", z: "z = f(y)", table[y]: "× → dz/dy", table[x]: "× → dz/dx",
              table[w]: "× → dz/dw", new[0]: "dz/dz = 1"}
    # forward chain on top, left to right; gradient chain below it, right to left
    positions = {w: (0, 1.4), x: (DX, 1.4), y: (2 * DX, 1.4), z: (3 * DX, 1.4), new[0]: (4 * DX, 0.0),
                 table[y]: (3 * DX, 0.0), table[x]: (2 * DX, 0.0), table[w]: (DX, 0.0)}
    return graph_figure(table[w], None, labels=labels, positions=positions, highlight=new,
                        title="build_grad adds nodes: dz/dw = f'(y) f'(x) f'(w), with f' = f for exp",
                        height=3.0)


def backward_example():
    """f = x y + exp(x) at x = 1, y = 2: x feeds two operations, so ∂f/∂x sums two edges of 𝓑."""
    x, y = G.variable(1.0, "x"), G.variable(2.0, "y")
    a = x * y
    b = G.exp(x)
    return x, y, a, b, a + b


def local_derivatives(out) -> dict:
    """{(consumer, k): ∂consumer/∂(its k-th input)} of a graph of scalars (``bprop`` with G = 1)."""
    slopes = {}
    for n in G.topological_order(out):
        if n.op is not None:
            parts = n.op.bprop([i.value for i in n.inputs], n.value, np.ones_like(n.value))
            slopes.update({(n, k): p for k, p in enumerate(parts) if p is not None})
    return slopes


def draw_backward(ax, out, grads: dict, names: dict, title: str | None = None):
    """The backward graph 𝓑 of seed 002 §2.2: one node ∂out/∂u per node u, every edge reversed
    (from a consumer to its input) and labelled with its local derivative; output on the left."""
    order = G.topological_order(out)
    pos = layered_positions(out)
    right = max(x for x, _ in pos.values())
    pos = {k: (right - x, y) for k, (x, y) in pos.items()}
    boxes = {}
    for n in order:
        x, y = pos[n.id]
        boxes[n.id] = ax.text(x, y, f"∂{names[out]}/∂{names[n]}", ha="center", va="center", fontsize=11, zorder=3,
                              bbox=dict(boxstyle="square,pad=0.35", fc="white", ec=GRADIENT, lw=1.6))
        ax.annotate(fmt_value(grads[n]), (x, y), xytext=(0, -17), textcoords="offset points", ha="center",
                    va="top", color=GRADIENT, fontsize=9.5, zorder=4, fontweight="bold")
    for (c, k), slope in local_derivatives(out).items():
        i = c.inputs[k]
        start, end = _sides(pos[c.id], pos[i.id])
        ax.annotate("", xy=end, xycoords=boxes[i.id], xytext=start, textcoords=boxes[c.id],
                    arrowprops=dict(arrowstyle="-|>", color=GRADIENT, lw=1.1, shrinkA=6, shrinkB=6), zorder=2)
        (x0, y0), (x1, y1) = pos[c.id], pos[i.id]
        ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.18, f"× ∂{names[c]}/∂{names[i]} = {fmt_value(slope)}",
                ha="center", va="bottom", fontsize=8.5, color="#555555", zorder=4,
                bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))
    return _frame(ax, list(pos.values()), title)


def _frame(ax, points, title):
    """Limits with a margin around the node centres, no axes, the title: the end of every drawing."""
    xs, ys = zip(*points)
    ax.set_xlim(min(xs) - 0.9, max(xs) + 0.9)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=11)
    return ax


def _graph_backward():
    x, y, a, b, f = backward_example()
    names = {x: "x", y: "y", a: "a", b: "b", f: "f"}
    fig = Figure(figsize=(7.6, 5.6), layout="constrained")
    top, bottom = fig.subplots(2, 1)
    draw_graph(top, f, labels={x: "x", y: "y", a: "a = x·y", b: "b = exp(x)", f: "f = a + b"},
               title=r"$\mathcal{G}$: f = x y + exp(x) at x = 1, y = 2 (green: forward values)")
    draw_backward(bottom, f, G.backprop(f), names,
                  title=r"$\mathcal{B}$: the same nodes, edges reversed, each edge multiplies by its local derivative")
    bottom.text(0.5, -0.04, "red: ∂f/∂u = sum over the edges entering ∂f/∂u of (source value) × (edge label)",
                color=GRADIENT, transform=bottom.transAxes, fontsize=9, va="top", ha="center")
    return fig


FIGURES = {
    "graph_add_mul.png": _graph_add_mul,
    "graph_max_gate.png": _graph_max_gate,
    "graph_fff.png": _graph_fff,
    "graph_logistic.png": _graph_logistic,
    "graph_symbol_to_symbol.png": _graph_symbol_to_symbol,
    "graph_backward.png": _graph_backward,
}
