"""Figures for lessons 06–07: the unrolled RNN with its forward and backward paths, and the three BPTT
strategies (full, truncated, randomized truncation) drawn for one loss. Seed 000 lost its RNN figures and
seed 001 points to a figure of a book that is not part of this project; these are our own."""

from __future__ import annotations

import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from bpcore.plots import FORWARD, GRADIENT, new_figure

GREY = "#9a9a9a"


def _node(ax, x, y, text, *, color="#ffffff", edge="#333333", w=0.62, h=0.42, fontsize=10):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.03", fc=color, ec=edge, lw=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, *, color, style="-|>", ls="-", lw=1.4, rad=0.0, label=None, label_xy=None,
           fontsize=8):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=11, color=color, lw=lw,
                                 linestyle=ls, connectionstyle=f"arc3,rad={rad}", shrinkA=13, shrinkB=13))
    if label:
        lx, ly = label_xy if label_xy else ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
        ax.text(lx, ly, label, color=color, fontsize=fontsize, ha="center", va="center",
                bbox=dict(fc="white", ec="none", pad=0.5))


def _blank(ax):
    ax.set_axis_off()
    ax.set_aspect("equal")


def draw_unrolled_rnn():
    """The tanh RNN unrolled over T = 4 steps: forward (green) and the two backward paths into h_t (red)."""
    fig, ax = new_figure(width=9.0, height=4.6)
    _blank(ax)
    T, dx = 4, 2.0
    for t in range(T + 1):
        X = t * dx
        _node(ax, X, 0, f"$h_{t}$", color="#eef5ff")
        if t == 0:
            continue
        _node(ax, X, -1.5, f"$x_{t}$", color="#f4f4f4")
        _node(ax, X, 1.5, f"$z_{t}$", color="#f4f4f4")
        _node(ax, X, 2.8, f"$E_{t}$", color="#fff1f0")
        _arrow(ax, (X, -1.5), (X, 0), color=FORWARD, label="$W_{xh}$", label_xy=(X + 0.32, -0.75))
        _arrow(ax, (X, 0), (X, 1.5), color=FORWARD, label="$W_{hz}$", label_xy=(X + 0.32, 0.75))
        _arrow(ax, (X, 1.5), (X, 2.8), color=FORWARD)
        _arrow(ax, ((t - 1) * dx, 0), (X, 0), color=FORWARD, label="$W_{hh}$", label_xy=(X - dx / 2, 0.17))
        # backward: the loss of this step reaches h_t through z_t ...
        _arrow(ax, (X - 0.25, 2.8), (X - 0.25, 0), color=GRADIENT, ls="--", rad=0.25,
               label=r"$W_{hz}^\top\delta s_t$" if t == T else None, label_xy=(X - 0.85, 1.9))
        # ... and every later loss reaches it through h_{t+1}
        _arrow(ax, (X, -0.05), ((t - 1) * dx, -0.05), color=GRADIENT, ls="--", rad=-0.35)
    ax.text(1.0 * dx - 1.0, -0.72, r"$W_{hh}^\top\,\mathrm{diag}(1-h_t^2)\,\delta h_t$", color=GRADIENT, fontsize=8,
            ha="center")
    ax.text(2.5 * dx, -2.35, r"forward (green): $h_t=\tanh(W_{hh}h_{t-1}+W_{xh}x_t+b_h)$, "
            r"$z_t=\mathrm{softmax}(W_{hz}h_t+b_z)$;   backward (red, dashed): "
            r"$\delta h_t = W_{hz}^\top\delta s_t + W_{hh}^\top\delta a_{t+1}$", ha="center", fontsize=8)
    ax.set_xlim(-0.6, T * dx + 0.6)
    ax.set_ylim(-2.6, 3.2)
    ax.set_title("An RNN unrolled over T = 4 steps; the same $W_{hh}, W_{xh}, W_{hz}$ at every step", fontsize=10)
    return fig


def _strategy_row(ax, y, weights, label, note):
    """One row: states h_0 … h_T and, for the loss at T, the backward edges with their weights (0: cut).
    Shaded states are the steps whose parameter use contributes to the gradient."""
    T = len(weights)
    for t in range(T + 1):
        _node(ax, t, y, f"$h_{{{t}}}$", w=0.5, h=0.36, fontsize=8,
              color="#eef5ff" if t == T or np.prod(weights[t:]) > 0 else "#f4f4f4")
    _node(ax, T, y + 0.75, f"$E_{{{T}}}$", w=0.5, h=0.36, fontsize=8, color="#fff1f0")
    _arrow(ax, (T, y + 0.75), (T, y), color=GRADIENT, ls="--", lw=1.2)
    alive = 1.0
    for t in range(T, 0, -1):                        # edge h_{t-1} <- h_t carries weight weights[t-1]
        alive *= weights[t - 1]
        if alive > 0:
            text = "" if weights[t - 1] == 1 else f"x{weights[t - 1]:g} (1/π)"
            _arrow(ax, (t, y), (t - 1, y), color=GRADIENT, ls="--", lw=1.2, rad=-0.5, label=text or None,
                   label_xy=(t - 0.5, y - 0.42))
        else:
            ax.plot([t - 0.5, t - 0.5], [y - 0.3, y + 0.3], color="black", lw=2)
            ax.text(t - 0.5, y + 0.42, "cut", fontsize=7, ha="center")
            break
    ax.text(-0.6, y + 0.75, label, fontsize=10, ha="left", va="center", weight="bold")
    ax.text(T + 0.5, y, note, fontsize=8, ha="left", va="center")


def draw_bptt_strategies():
    """Full, truncated (k = 3) and randomized truncation (π = 1/2) for the loss at the last step."""
    fig, ax = new_figure(width=9.5, height=5.2)
    _blank(ax)
    T = 8
    full = np.ones(T)
    trunc = np.ones(T)
    trunc[: T - 2] = 0                                # steps T-2 … T differentiated, h_{T-3} feeds them as a constant
    rand = np.array([2.0, 0.0, 2.0, 2.0, 0.0, 2.0, 2.0, 2.0])   # one draw of ξ with π = 1/2: 1/π = 2 or 0
    _strategy_row(ax, 4.0, full, "full BPTT",
                  "every path back to $h_0$:\nexact; cost, memory and\nsensitivity grow with T")
    _strategy_row(ax, 2.0, trunc, "truncated, k = 3",
                  "$h_{T-k}=h_5$ held constant:\nbiased, no long-range\nterms at all")
    _strategy_row(ax, 0.0, rand, r"randomized, $\pi$ = 1/2",
                  r"$\xi_t\in\{0, 1/\pi\}$ per edge; stops at" + "\nthe first 0, survivors\nup-weighted: unbiased")
    ax.set_xlim(-0.7, T + 2.8)
    ax.set_ylim(-0.8, 5.2)
    ax.set_title("Which backward paths of the loss $E_T$ each strategy keeps (red, dashed)", fontsize=10)
    return fig


FIGURES = {"rnn_unrolled.png": draw_unrolled_rnn, "bptt_strategies.png": draw_bptt_strategies}
