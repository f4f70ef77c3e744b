"""Diagrams of lesson 03: seed 000's small network and the relu network of seed 002 §3.4.

Both figures were lost from the documents; these are our own drawings. Forward quantities are green,
gradients red (the colours of ``bpcore.plots``).
"""

from __future__ import annotations

from matplotlib.figure import Figure

from bpcore.plots import FORWARD, GRADIENT


def _node(ax, xy, text, *, kind="var", color="black"):
    """A variable (round) or an operation (square box) at ``xy``."""
    style = "circle,pad=0.3" if kind == "neuron" else ("round,pad=0.35" if kind == "var" else "square,pad=0.35")
    face = {"var": "#eef5ee", "op": "#f3f3f3", "neuron": "#eef2fa", "param": "#fff4e0"}[kind]
    ax.text(*xy, text, ha="center", va="center", fontsize=11, zorder=3, color=color,
            bbox=dict(boxstyle=style, fc=face, ec="#444444", lw=1.0))


def _arrow(ax, a, b, *, color=FORWARD, label=None, rad=0.0, shrink=20, label_pos=0.5, offset=(0, 0.12),
           fontsize=9, lw=1.4):
    ax.annotate("", xy=b, xytext=a, zorder=2,
                arrowprops=dict(arrowstyle="-|>", color=color, lw=lw, shrinkA=shrink, shrinkB=shrink,
                                connectionstyle=f"arc3,rad={rad}"))
    if label:
        x = a[0] + label_pos * (b[0] - a[0]) + offset[0]
        y = a[1] + label_pos * (b[1] - a[1]) + offset[1]
        ax.text(x, y, label, ha="center", va="center", fontsize=fontsize, color=color, zorder=4,
                bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.85))


def _back(ax, a, b, label, *, side=1, gap=0.22):
    """A gradient arrow from ``a`` back to ``b``, parallel to the forward edge ``b → a``, shifted by ``gap``."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    norm = (dx * dx + dy * dy) ** 0.5
    ox, oy = -dy / norm * gap * side, dx / norm * gap * side
    lx, ly = 2.2 * ox, 2.2 * oy
    _arrow(ax, (a[0] + ox, a[1] + oy), (b[0] + ox, b[1] + oy), color=GRADIENT, lw=1.2, shrink=24, label=label,
           offset=(lx, ly))


def _canvas(width, height, xlim, ylim):
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.subplots()
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.axis("off")
    return fig, ax


def small_network() -> Figure:
    """Seed 000's example: inputs x1, x2; hidden h1, h2; output y; one activation g; loss E = f(y, t)."""
    fig, ax = _canvas(8.6, 4.2, (-0.6, 8.4), (-0.3, 4.3))
    pos = {"x1": (0, 3), "x2": (0, 1), "h1": (3, 3), "h2": (3, 1), "y": (6, 2), "E": (7.9, 2)}
    labels = {"x1": "$x_1$", "x2": "$x_2$", "h1": "$h_1 = g(a_1)$", "h2": "$h_2 = g(a_2)$",
              "y": "$y = g(a_3)$", "E": "$E = f(y, t)$"}
    for k, (x, y) in pos.items():
        _node(ax, (x, y), labels[k], kind="var" if k in ("x1", "x2", "E") else "neuron")
    weights = [("x1", "h1", "$w_1$", 0.25), ("x2", "h1", "$w_3$", 0.3), ("x1", "h2", "$w_2$", 0.3),
               ("x2", "h2", "$w_4$", 0.25), ("h1", "y", "$w_5$", 0.5), ("h2", "y", "$w_6$", 0.5)]
    for a, b, w, t in weights:
        _arrow(ax, pos[a], pos[b], label=w, label_pos=t, offset=(0, 0.0), shrink=28)
    _arrow(ax, pos["y"], pos["E"], shrink=34)
    for k, b in (("h1", "$b_1$"), ("h2", "$b_2$"), ("y", "$b_3$")):
        x, y = pos[k]
        ax.text(x, y + 0.75, f"bias {b}", ha="center", fontsize=9, color="#555555")
    ax.text(3.0, -0.15, r"$a_1 = w_1 x_1 + w_3 x_2 + b_1,\quad a_2 = w_2 x_1 + w_4 x_2 + b_2,\quad"
            r" a_3 = w_5 h_1 + w_6 h_2 + b_3$", ha="center", fontsize=10)
    ax.text(6.2, 3.9, r"backward: $\delta_3 = f'(y)\,g'(a_3)$, $\delta_{1,2} = \delta_3 w_{5,6}\, g'(a_{1,2})$",
            ha="center", fontsize=9, color=GRADIENT)
    return fig


def relu_network_graph() -> Figure:
    """The computational graph of 002 §3.4 in our column layout: ``H = relu(W_1 X)``, ``Z = W_2 H``,
    ``J = J_MLE(Z, y) + λ(Σ W_1² + Σ W_2²)``, with the two gradient paths to each weight."""
    fig, ax = _canvas(10.5, 5.4, (-0.7, 11.2), (-0.9, 5.3))
    P = {"X": (0, 4.2), "W1": (0, 2.6), "mm1": (1.8, 3.4), "U1": (3.3, 3.4), "relu": (4.8, 3.4),
         "H": (6.2, 3.4), "W2": (6.2, 1.9), "mm2": (7.6, 3.4), "Z": (8.8, 3.4), "y": (8.8, 4.8),
         "ce": (10.1, 3.4), "sq1": (1.8, 0.9), "sq2": (7.6, 0.9), "plusO": (8.8, 0.1),
         "lam": (10.1, 0.1), "J": (10.6, 2.2)}
    names = {"X": ("$X$ (n, m)", "var"), "W1": ("$W_1$ ($n_h$, n)", "param"), "mm1": ("matmul", "op"),
             "U1": ("$U_1$", "var"), "relu": ("relu", "op"), "H": ("$H$", "var"),
             "W2": ("$W_2$ (K, $n_h$)", "param"), "mm2": ("matmul", "op"), "Z": ("$Z$", "var"),
             "y": ("$y$", "var"), "ce": ("cross\nentropy", "op"), "sq1": (r"$\Sigma W_1^2$", "op"),
             "sq2": (r"$\Sigma W_2^2$", "op"), "plusO": ("+", "op"), "lam": (r"$\times\lambda$", "op"),
             "J": ("$J$", "var")}
    for k, (text, kind) in names.items():
        _node(ax, P[k], text, kind=kind)
    fwd = [("X", "mm1"), ("W1", "mm1"), ("mm1", "U1"), ("U1", "relu"), ("relu", "H"), ("H", "mm2"),
           ("W2", "mm2"), ("mm2", "Z"), ("Z", "ce"), ("y", "ce"), ("ce", "J"), ("W1", "sq1"), ("W2", "sq2"),
           ("sq1", "plusO"), ("sq2", "plusO"), ("plusO", "lam"), ("lam", "J")]
    for a, b in fwd:
        _arrow(ax, P[a], P[b], shrink=22)
    # gradient paths: red arrows running back along the forward edges, shifted to one side
    _back(ax, P["ce"], P["Z"], r"$G = \partial J_{MLE}/\partial Z$", side=1)
    _back(ax, P["mm2"], P["H"], r"$W_2^T G$", side=-1)
    _back(ax, P["mm2"], P["W2"], r"$G H^T$", side=1)
    _back(ax, P["relu"], P["U1"], r"$G' = W_2^T G \odot [U_1 > 0]$", side=1)
    _back(ax, P["mm1"], P["W1"], r"$G' X^T$", side=-1)
    _back(ax, P["sq1"], P["W1"], r"$2\lambda W_1$", side=-1)
    _back(ax, P["sq2"], P["W2"], r"$2\lambda W_2$", side=1)
    ax.text(5.2, -0.65, r"$\nabla_{W_1} J = G' X^T + 2\lambda W_1,\qquad \nabla_{W_2} J = G H^T + 2\lambda W_2$"
            "      (green: forward, red: gradients; columns are examples)", ha="center", fontsize=10)
    return fig


FIGURES = {"mlp_small_network.png": small_network, "mlp_relu_graph.png": relu_network_graph}
