"""Lesson 01 explorer: the derivative of a repeated function, d/dw f(f(…f(w))), against depth.

Seed 002 §1 and 004 (chain rule on a chain graph). With ``h_0 = w`` and ``h_k = f(h_{k-1})`` the chain
rule gives ``dh_n/dw = Π_{k=1}^{n} f'(h_{k-1})``: a product of n local derivatives. If every factor has
size ``a`` the product is ``a^n`` — it vanishes for ``a < 1``, stays put at ``a = 1`` and explodes for
``a > 1``. ``compute_chain`` returns that product at every depth; ``draw_chain`` plots it on a log axis.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from bpcore.plots import norm_curves
from bpcore.validate import check_scalar
from bpcore.widgets import Explorer

# f(h; a) and its derivative f'(h; a), for a gain a
CHAINS = {
    "linear": (lambda h, a: a * h, lambda h, a: np.full_like(h, a)),
    "tanh": (lambda h, a: np.tanh(a * h), lambda h, a: a * (1 - np.tanh(a * h) ** 2)),
}


def compute_chain(gain: float, depth: int, f: str = "linear", w: float = 0.5) -> dict:
    """Values ``h_k`` and derivatives ``dh_k/dw`` for k = 0…depth of ``h_k = f(h_{k-1}; gain)``.

    Returns {"k", "h", "local" (f'(h_{k-1}), k ≥ 1), "dh_dw" (cumulative products, dh_0/dw = 1),
    "gain", "f"}. A product that overflows is inf (shown on the plot), not an error.
    """
    check_scalar("gain", gain, low=0, high=10, low_open=True)
    check_scalar("depth", depth, low=1, high=100_000, integer=True)
    check_scalar("w", w)
    if f not in CHAINS:
        raise ValueError(f"argument 'f': expected one of {sorted(CHAINS)}, got {f!r}")
    fn, dfn = CHAINS[f]
    h = np.empty(depth + 1)
    h[0] = w
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is the point of gain > 1: it shows as inf
        for k in range(1, depth + 1):
            h[k] = fn(h[k - 1], gain)
        local = dfn(h[:-1], gain)
        dh_dw = np.concatenate([[1.0], np.cumprod(local)])
    return {"k": np.arange(depth + 1), "h": h, "local": local, "dh_dw": dh_dw, "gain": gain, "f": f}


def draw_chain(fig, result) -> str:
    """Plot |dh_k/dw| against k on a log axis, with the guide gain^k; return the readout."""
    ax = fig.axes[0]
    k, d, a = result["k"], result["dh_dw"], result["gain"]
    with np.errstate(over="ignore"):
        guide = {f"gain^k = {a:.3g}^k": np.power(a, k.astype(float))}
    # near the float64 limit (1.8e308) log axes have no room for margins: beyond 1e250 counts as overflow
    shown = np.where(np.abs(d) > 1e250, np.inf, np.abs(d))
    guide = {name: np.where(g > 1e250, np.inf, g) for name, g in guide.items()}
    norm_curves(ax, k, {f"|dh_k/dw|, f = {result['f']}": shown}, guides=guide, xlabel="depth k",
                ylabel="|d h_k / d w|", title=f"d/dw f(f(…f(w))) with gain {a:.3g}")
    # a fixed corner away from the curve: the default "best" placement costs a search over every point
    ax.legend(fontsize=8, loc="upper left" if a > 1 else "upper right")
    with np.errstate(over="ignore"):
        bound = float(a) ** float(k[-1]) if np.log10(a) * k[-1] < 308 else np.inf
    return f"depth {k[-1]}: |dh/dw| = {abs(d[-1]):.4g}   (gain^depth = {bound:.4g})"


def chain_explorer() -> Explorer:
    """Sliders for the gain and the depth, a menu for f."""
    controls = {
        "gain": widgets.FloatSlider(value=1.0, min=0.5, max=1.5, step=0.01, description="gain a"),
        "depth": widgets.IntSlider(value=50, min=1, max=400, description="depth n"),
        "f": widgets.Dropdown(options=sorted(CHAINS), value="linear", description="f"),
    }
    return Explorer(compute_chain, draw_chain, controls)
