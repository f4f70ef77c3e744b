"""LSTM figures that seed 000 lost: the cell with its forward flow and backward deltas, and the
propagation paths through time (the additive cell-state lane against the gated h lane), and a stacked
LSTM showing the "vertical" path the cell state does not protect.

Forward quantities are green, gradients red (the series' colors, ``bpcore.plots``).
"""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from bpcore.plots import FORWARD, GRADIENT

INK = "#333333"


def _canvas(width, height, xlim, ylim):
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def _arrow(ax, start, end, color=INK, lw=1.4, style="-|>", rad=0.0, ls="-", z=1):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12, color=color, lw=lw,
                                 connectionstyle=f"arc3,rad={rad}", linestyle=ls, zorder=z,
                                 shrinkA=0, shrinkB=0))


def _line(ax, xs, ys, color=INK, lw=1.4, z=1):
    ax.plot(xs, ys, color=color, lw=lw, zorder=z, solid_capstyle="round")


def _box(ax, xy, text, w=0.9, h=0.6, face="#fff3cd", edge=INK, fs=11):
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.05", fc=face, ec=edge,
                                lw=1.2, zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=fs, zorder=4)


def _op(ax, xy, symbol, r=0.28):
    ax.add_patch(Circle(xy, r, fc="white", ec=INK, lw=1.2, zorder=3))
    ax.text(xy[0], xy[1], symbol, ha="center", va="center", fontsize=12, zorder=4)


def _label(ax, xy, text, color, fs=10, **kw):
    ax.text(xy[0], xy[1], text, color=color, fontsize=fs, zorder=5, **kw)


def draw_cell() -> Figure:
    """One LSTM step: forward flow (green labels) and the backward deltas of derivation steps 1–4 (red)."""
    fig, ax = _canvas(10.5, 6.4, (-0.6, 13.4), (-0.9, 7.6))
    ax.add_patch(FancyBboxPatch((1.2, 0.2), 9.8, 6.8, boxstyle="round,pad=0.1", fc="#f7f7f7", ec="#999999",
                                lw=1.0, zorder=0))
    ax.text(10.9, 0.35, "one LSTM step  t", fontsize=10, color="#666666", ha="right")
    # cell-state lane along the top
    mul_f, add = (3.0, 6.0), (6.0, 6.0)
    _arrow(ax, (-0.3, 6.0), (mul_f[0] - 0.28, 6.0))
    _op(ax, mul_f, "×")
    _arrow(ax, (mul_f[0] + 0.28, 6.0), (add[0] - 0.28, 6.0))
    _op(ax, add, "+")
    _arrow(ax, (add[0] + 0.28, 6.0), (13.0, 6.0))
    _label(ax, (-0.5, 6.25), r"$C_{t-1}$", FORWARD, fs=12)
    _label(ax, (12.2, 6.25), r"$C_t$", FORWARD, fs=12)
    # input bus along the bottom
    _line(ax, [-0.3, 7.5], [0.8, 0.8])
    _label(ax, (-0.55, 0.05), r"$[h_{t-1};\, x_t]$  $(m+n)\times 1$", FORWARD, fs=11)
    gates = [(3.0, r"$\sigma$", r"$f_t$"), (4.5, r"$\sigma$", r"$i_t$"), (6.0, "tanh", r"$\tilde C_t$"),
             (7.5, r"$\sigma$", r"$o_t$")]
    for x, fn, name in gates:
        _line(ax, [x, x], [0.8, 1.9])
        _box(ax, (x, 2.2), fn)
        _label(ax, (x + 0.12, 2.65), name, FORWARD, fs=11)
    _label(ax, (7.7, 1.2), r"$W_f, W_i, W_c, W_o:\ p\times(m+n)$", INK, fs=8)
    # f_t up to the forget multiply
    _arrow(ax, (3.0, 2.5), (3.0, 5.72))
    # i_t ⊙ C̃_t up to the add
    mul_i = (5.25, 4.3)
    _line(ax, [4.5, 4.5, mul_i[0] - 0.28], [2.5, 4.3, 4.3])
    _line(ax, [6.0, 6.0, mul_i[0] + 0.28], [2.5, 4.3, 4.3])
    _op(ax, mul_i, "×")
    _line(ax, [mul_i[0], mul_i[0]], [mul_i[1] + 0.28, 5.2])
    _arrow(ax, (mul_i[0], 5.2), (add[0] - 0.2, 5.8))
    # C_t down through tanh, times o_t, to h_t
    tanh_box, mul_o = (9.0, 4.6), (9.0, 3.2)
    _line(ax, [9.0, 9.0], [6.0, 4.95])
    _box(ax, tanh_box, "tanh", w=0.9, h=0.55)
    _arrow(ax, (9.0, 4.3), (9.0, 3.48))
    _line(ax, [7.5, 7.5, mul_o[0] - 0.28], [2.5, 3.2, 3.2])
    _op(ax, mul_o, "×")
    _line(ax, [9.28, 11.5], [3.2, 3.2])
    _arrow(ax, (11.5, 3.2), (13.0, 3.2))
    _arrow(ax, (11.5, 3.2), (11.5, 7.3))
    _label(ax, (12.2, 3.4), r"$h_t$", FORWARD, fs=12)
    _label(ax, (11.65, 7.05), r"$h_t \to$ loss $E^t$", FORWARD, fs=10)
    # backward deltas (red), numbered by derivation step
    _label(ax, (11.65, 4.6), "(0)  " + r"$\delta h_t$", GRADIENT, fs=11)
    _label(ax, (9.35, 2.6), "(1)  " + r"$\delta o_t = \delta h_t \odot \tanh C_t$", GRADIENT, fs=10)
    _label(ax, (7.05, 6.35), "(1)  " + r"$\delta C_t$ += " + r"$\delta h_t \odot o_t \odot (1-\tanh^2 C_t)$",
           GRADIENT, fs=10)
    _label(ax, (-0.45, 6.6), "(2)  " + r"$\delta C_{t-1} = \delta C_t \odot f_t$", GRADIENT, fs=10)
    _label(ax, (2.85, 4.0), "(2)  " + r"$\delta f_t = \delta C_t \odot C_{t-1}$", GRADIENT, fs=10, ha="right")
    _label(ax, (4.4, 3.3), "(2)  " + r"$\delta i_t,\ \delta\tilde C_t$", GRADIENT, fs=10, ha="right")
    _label(ax, (1.0, -0.55), "(3)  " + r"$\delta W_\ast = \delta a_\ast\,[h_{t-1}; x_t]^T$", GRADIENT, fs=10)
    _label(ax, (6.3, -0.55), "(4)  " + r"$\delta h_{t-1} = \sum_\ast W_{\ast h}^T\, \delta a_\ast$", GRADIENT,
           fs=10)
    return fig


def _cell_block(ax, x, label):
    ax.add_patch(FancyBboxPatch((x - 1.0, 1.3), 2.0, 2.6, boxstyle="round,pad=0.08", fc="#f7f7f7", ec="#999999",
                                lw=1.0, zorder=0))
    ax.text(x, 2.2, label, ha="center", va="center", fontsize=10, color="#666666")


def draw_paths() -> Figure:
    """Propagation paths through time: C carried additively (×f_t), h re-entering through the gates."""
    fig, ax = _canvas(11.0, 4.6, (-0.8, 14.6), (-1.2, 5.6))
    xs = [2.0, 6.5, 11.0]
    labels = ["step k+1", "step k+2", "step T"]
    for x, lab in zip(xs, labels):
        _cell_block(ax, x, lab)
        _op(ax, (x - 0.3, 3.5), "×")
        _op(ax, (x + 0.4, 3.5), "+")
        _line(ax, [x - 0.02, x + 0.12], [3.5, 3.5])
        _box(ax, (x, 1.75), "gates", w=1.2, h=0.45, fs=9)
        _line(ax, [x - 1.0, x - 0.3, x - 0.3], [0.8, 0.8, 1.5], color=FORWARD)      # [h_{j-1}; x_j] into the gates
        _arrow(ax, (x - 0.3, 2.0), (x - 0.3, 3.22), color=FORWARD, lw=1.0)          # f_j
        _arrow(ax, (x + 0.4, 2.0), (x + 0.4, 3.22), color=FORWARD, lw=1.0)          # i_j ⊙ C̃_j
        _line(ax, [x + 0.8, x + 0.8, x + 1.0], [3.5, 0.8, 0.8], color=FORWARD)      # h_j = o_j ⊙ tanh(C_j)
    # forward lanes
    lanes_C = [(-0.5, 1.7), (2.68, 6.2), (7.18, 8.3), (9.2, 10.7), (11.68, 14.2)]
    for a, b in lanes_C:
        _arrow(ax, (a, 3.5), (b, 3.5), color=FORWARD)
    _label(ax, (-0.7, 3.75), r"$C_k$", FORWARD, fs=12)
    _label(ax, (13.6, 3.75), r"$C_T$", FORWARD, fs=12)
    ax.text(8.75, 3.5, "…", ha="center", va="center", fontsize=14)
    ax.text(8.75, 0.8, "…", ha="center", va="center", fontsize=14)
    for a, b in [(-0.5, 1.0), (3.0, 5.5), (7.5, 8.3), (9.2, 10.0), (12.0, 14.2)]:
        _arrow(ax, (a, 0.8), (b, 0.8), color=FORWARD)
    _label(ax, (-0.7, 0.2), r"$h_k$", FORWARD, fs=12)
    _label(ax, (13.6, 0.2), r"$h_T$", FORWARD, fs=12)
    _arrow(ax, (13.0, 0.8), (13.0, 4.9), color=FORWARD)
    _label(ax, (13.15, 4.9), r"$E^T$", FORWARD, fs=12)
    # backward: the cell-state lane (thick) and the h lane through the gates (thin)
    for a, b in [(14.0, 11.9), (10.6, 9.3), (8.2, 7.4), (5.8, 2.9), (1.3, -0.4)]:
        _arrow(ax, (a, 4.25), (b, 4.25), color=GRADIENT, lw=2.6)
    _label(ax, (0.2, 4.55), r"$\partial C_j/\partial C_{j-1} = \mathrm{diag}(f_j)$: additive lane, one factor "
           r"$f_j$ a step", GRADIENT, fs=10)
    for a, b in [(14.0, 12.2), (10.3, 9.2), (8.2, 7.6), (5.3, 3.2), (0.9, -0.4)]:
        _arrow(ax, (a, 0.15), (b, 0.15), color=GRADIENT, lw=1.0, ls="--")
    _label(ax, (0.2, -0.7), r"through $h_{j-1}$: $W_{\ast h}^T$, $\sigma'\leq 1/4$, $\tanh'\leq 1$ at every step "
           r"(the paths seed 000 sets aside)", GRADIENT, fs=10)
    return fig


def draw_stack() -> Figure:
    """A stacked LSTM: the cell state protects the horizontal (time) path, not the vertical (layer) path."""
    fig, ax = _canvas(8.0, 5.4, (-0.5, 10.5), (-0.6, 7.0))
    layers, steps = 3, 4
    for l in range(layers):
        y = 1.0 + 2.0 * l
        for s in range(steps):
            x = 1.0 + 2.4 * s
            _box(ax, (x, y), "LSTM", w=1.3, h=0.8, fs=9)
            if s < steps - 1:
                _arrow(ax, (x + 0.7, y + 0.15), (x + 1.7, y + 0.15), color=FORWARD)
                _arrow(ax, (x + 1.7, y - 0.2), (x + 0.7, y - 0.2), color=GRADIENT, lw=2.2)
            if l < layers - 1:
                _arrow(ax, (x - 0.15, y + 0.45), (x - 0.15, y + 1.55), color=FORWARD)
        ax.text(-0.4, y, f"layer {l + 1}", va="center", fontsize=9, rotation=90)
    x_top = 1.0 + 2.4 * (steps - 1)
    for l in range(layers - 1, 0, -1):
        y = 1.0 + 2.0 * l
        _arrow(ax, (x_top + 0.25, y - 0.45), (x_top + 0.25, y - 1.55), color=GRADIENT, lw=1.0, ls="--")
    _arrow(ax, (x_top, 5.45), (x_top, 6.3), color=FORWARD)
    _label(ax, (x_top + 0.15, 6.35), r"$E^T$", FORWARD, fs=12)
    _label(ax, (0.3, -0.45), "red thick: along time through C (factors f_j); red dashed: down the layers "
           "through o, tanh', W (no shortcut)", GRADIENT, fs=8)
    return fig


FIGURES = {"lstm_cell.png": draw_cell, "lstm_paths.png": draw_paths, "lstm_stack.png": draw_stack}
