"""The standard figures of the series, in one style.

Every lesson's vanishing/exploding picture is a norm on a log axis against a lag or a layer index;
``norm_curves`` draws it and marks values that overflowed (inf/NaN) or underflowed (exactly 0) instead
of silently dropping them, so an explorer pushed to an extreme shows what happened.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

# Values above this are drawn as overflow: a log axis cannot pad its limits near the float maximum.
OVERFLOW = 1e250

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]
FORWARD, GRADIENT = "#2ca02c", "#d62728"  # forward values green, gradients red, in every figure


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = 6.4, height: float = 4.0, **kw):
    """A figure not managed by pyplot (no global state, safe to redraw in an explorer) and its axes."""
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True, **kw)
    for ax in np.atleast_1d(axes).ravel():
        style_axes(ax)
    return fig, axes


def style_axes(ax):
    ax.grid(True, which="major", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def norm_curves(ax, x, series: dict, *, xlabel: str, ylabel: str, title: str | None = None,
                guides: dict | None = None):
    """Plot ``{label: norms}`` against ``x`` on a log y-axis.

    ``guides`` are dashed reference curves (e.g. a bound ``σ^k``). Non-finite values are drawn as ``x``
    markers at the top edge labelled "overflow", exact zeros as ``v`` markers at the bottom edge.
    """
    x = np.asarray(x)
    style_axes(ax)
    finite_all = [np.asarray(v, float)[_shown(v)] for v in [*series.values(), *(guides or {}).values()]]
    pool = np.concatenate(finite_all) if finite_all else np.array([1.0])
    lo, hi = (pool.min(), pool.max()) if pool.size else (1e-3, 1e3)
    top, bottom = hi * 10, lo / 10
    for i, (label, values) in enumerate(series.items()):
        v = np.asarray(values, dtype=float)
        color = COLORS[i % len(COLORS)]
        good = _shown(v)
        ax.plot(x[good], v[good], "o-", ms=3, color=color, label=label)
        over = ~np.isfinite(v) | (v > OVERFLOW)
        if np.any(over):
            ax.plot(x[over], np.full(over.sum(), top), "x", color=color, ms=8, label=f"{label}: overflow (inf)")
        if np.any(v == 0):
            ax.plot(x[v == 0], np.full((v == 0).sum(), bottom), "v", color=color, ms=6,
                    label=f"{label}: underflow (0)")
    for j, (label, values) in enumerate((guides or {}).items()):
        v = np.asarray(values, dtype=float)
        ok = _shown(v)
        ax.plot(x[ok], v[ok], "--", color=COLORS[j % len(COLORS)], alpha=0.7, label=label)
    ax.set_yscale("log")
    ax.set_ylim(bottom / 3, top * 3)
    return _label(ax, xlabel, ylabel, title)


def _shown(values) -> np.ndarray:
    """Mask of the values a log axis can show: finite, positive, below the overflow line."""
    v = np.asarray(values, dtype=float)
    return np.isfinite(v) & (v > 0) & (v <= OVERFLOW)


def loss_curves(ax, curves: dict, *, xlabel: str = "iteration", ylabel: str = "loss", log: bool = False,
                title: str | None = None):
    """Plot ``{label: losses}`` (each against its own index) in the series style."""
    style_axes(ax)
    for i, (label, values) in enumerate(curves.items()):
        ax.plot(np.arange(len(values)), values, color=COLORS[i % len(COLORS)], label=label)
    if log:
        ax.set_yscale("log")
    return _label(ax, xlabel, ylabel, title)


def _label(ax, xlabel, ylabel, title):
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return ax
