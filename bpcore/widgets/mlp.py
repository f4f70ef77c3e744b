"""Explorer of lesson 03: per-layer gradient norms of a deep network by activation, depth and init scale.

``compute`` builds a stack of ``depth`` square layers (width 64) with ``W_k ~ N(0, (scale²/n))``, runs a
random batch forward and a random upstream gradient backward (002 §2.4), and returns ``‖∇_{W_k} J‖``
the backpropagated signal ``‖∇_{h_k} J‖`` and the spread ``std(h_k)`` of each layer's output. Each
backward step multiplies the signal by ``f'(a_k)`` and ``W_kᵀ``: below gain 1 it shrinks geometrically
towards layer 1, above it grows.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from bpcore import mlp
from bpcore.plots import norm_curves
from bpcore.validate import check_scalar
from bpcore.widgets import Explorer

ACTIVATION_NAMES = ("sigmoid", "tanh", "relu")


def compute(activation: str = "tanh", depth: int = 10, init_scale: float = 1.0, *, width: int = 64,
            batch: int = 64, seed: int = 0) -> dict:
    """Per-layer gradient norms and output spreads of a fresh ``depth``-layer network.

    Returns ``{"layer": 1…depth, "grad_norm": ‖∇_{W_k}‖, "signal": ‖∇_{h_k} J‖, "h_std": std(h_k),
    …settings}``. Overflow at
    extreme settings is kept as inf (computed under ``np.errstate``), for the plot to mark.
    """
    if activation not in ACTIVATION_NAMES:
        raise ValueError(f"argument 'activation': expected one of {ACTIVATION_NAMES}, got {activation!r}")
    check_scalar("depth", depth, low=1, integer=True)
    check_scalar("init_scale", init_scale, low=0, low_open=True)
    rng = np.random.default_rng(seed)
    params = mlp.init_params([width] * (depth + 1), rng, scale=float(init_scale))
    x = rng.standard_normal((width, batch))
    with np.errstate(over="ignore", invalid="ignore"):
        out, cache = mlp.forward(params, x, activation, output=activation)
        signals = {}
        grads = mlp.backward(rng.standard_normal(out.shape) / batch, cache, hidden_grads=signals)
        signal = np.array([np.linalg.norm(signals[k]) for k in range(1, depth + 1)])
        h_std = np.array([np.std(c[0]) for c in cache["layers"][1:]] + [np.std(out)])
        norms = mlp.layer_grad_norms(grads)
    return {"layer": np.arange(1, depth + 1), "grad_norm": norms, "signal": signal, "h_std": h_std,
            "activation": activation, "depth": depth, "init_scale": float(init_scale)}


def draw(fig, result: dict) -> str:
    """Left: ``‖∇_{h_k} J‖`` and ``‖∇_{W_k} J‖`` against layer k; right: ``std(h_k)``. Returns the readout."""
    ax_g, ax_h = fig.axes
    label = f"{result['activation']}, scale {result['init_scale']:.2f}"
    norm_curves(ax_g, result["layer"], {r"$\|\nabla_{h_k} J\|$": result["signal"],
                                        r"$\|\nabla_{W_k} J\|_F$": result["grad_norm"]},
                xlabel="layer k", ylabel="gradient norm", title=f"backward: {label}")
    norm_curves(ax_h, result["layer"], {label: result["h_std"]}, xlabel="layer k", ylabel=r"std$(h_k)$",
                title="forward: spread of each layer's output")
    g = result["signal"]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        ratio = g[0] / g[-1]
    return (f"‖∇h_1 J‖ / ‖∇h_{result['depth']} J‖ = {ratio:.3g}   "
            f"(≪ 1: vanishing towards the input, ≫ 1: exploding)")


def explorer() -> Explorer:
    """Activation, depth and init scale (``W_k ~ N(0, scale²/n)``; 1 keeps linear units' variance)."""
    controls = {
        "activation": widgets.Dropdown(options=ACTIVATION_NAMES, value="tanh", description="activation"),
        "depth": widgets.IntSlider(value=10, min=2, max=40, description="depth"),
        "init_scale": widgets.FloatLogSlider(value=1.0, base=2, min=-2, max=3, step=0.25, description="init scale"),
    }
    return Explorer(compute, draw, controls, width=10.0, height=3.8, ncols=2)
