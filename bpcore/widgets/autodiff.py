"""Explorer of lesson 05: the measured cost of a full Jacobian by forward mode and by reverse mode.

``compute`` builds a tanh chain ``h_l = tanh(W_l h_{l-1})`` as a :mod:`bpcore.graph` graph — ``inputs``
entries in, ``depth`` layers, hidden layers of ``width`` units, ``outputs`` entries out — and builds its
Jacobian both ways, counting the multiply–adds that touch a tangent or a cotangent (seed 002 §4).
Forward mode pays one pass per input, reverse mode one pass per output; a pass costs the same either
way, ``P = Σ_l (n_l n_{l-1} + n_l)``, so the cheaper mode is the one with fewer passes.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from bpcore.autodiff import chain_jacobian_cost, jacobian_forward, jacobian_reverse, tanh_chain_graph
from bpcore.plots import COLORS, style_axes
from bpcore.validate import check_scalar
from bpcore.widgets import Explorer

MAX_SIZE = 64


def widths_of(depth: int, width: int, inputs: int, outputs: int) -> list:
    """``[n_0, n_1, …, n_L]`` = ``[inputs, width, …, width, outputs]`` with ``L = depth`` layers."""
    return [inputs] + [width] * (depth - 1) + [outputs]


def compute(depth: int = 4, width: int = 16, inputs: int = 4, outputs: int = 32, *, seed: int = 0) -> dict:
    """Measured and predicted multiply–adds of ``∂h_L/∂x`` by both modes, and the predicted cost against
    the number of outputs (1 … 64) for the same depth, width and inputs.

    Returns ``{"widths", "measured": {"forward", "reverse"}, "passes": {…}, "formula": {…},
    "agree": max |J_fwd - J_rev|, "outputs_axis", "curve": {"forward": […], "reverse": […]}}``.
    """
    for name, value, high in (("depth", depth, 16), ("width", width, MAX_SIZE), ("inputs", inputs, MAX_SIZE),
                              ("outputs", outputs, MAX_SIZE)):
        check_scalar(name, value, low=1, high=high, integer=True)
    rng = np.random.default_rng(seed)
    widths = widths_of(depth, width, inputs, outputs)
    Ws = [rng.standard_normal((widths[l], widths[l - 1])) / np.sqrt(widths[l - 1]) for l in range(1, depth + 1)]
    out, x, _ = tanh_chain_graph(rng.standard_normal((inputs, 1)), Ws)
    fwd, rev = jacobian_forward(out, [x]), jacobian_reverse(out, [x])
    axis = np.arange(1, MAX_SIZE + 1)
    curve = [chain_jacobian_cost(widths_of(depth, width, inputs, m)) for m in axis]
    return {"widths": widths,
            "measured": {"forward": fwd.multiply_adds, "reverse": rev.multiply_adds},
            "passes": {"forward": fwd.passes, "reverse": rev.passes},
            "formula": chain_jacobian_cost(widths),
            "agree": float(np.max(np.abs(fwd.matrix - rev.matrix))),
            "outputs_axis": axis,
            "curve": {k: np.array([c[k] for c in curve]) for k in ("forward", "reverse")}}


def draw(fig, result: dict) -> str:
    """Left: measured multiply–adds of both modes; right: predicted cost against the number of outputs."""
    ax_bar, ax_curve = fig.axes
    if fig.get_layout_engine() is not None:  # fixed positions: a constrained layout would cost a third of a redraw
        fig.set_layout_engine("none")
        ax_bar.set_position([0.08, 0.2, 0.38, 0.7])
        ax_curve.set_position([0.58, 0.2, 0.38, 0.7])
    measured, formula, passes = result["measured"], result["formula"], result["passes"]
    modes = ("forward", "reverse")
    colors = {"forward": COLORS[2], "reverse": COLORS[1]}
    style_axes(ax_bar)
    ax_bar.bar([0, 1], [measured[m] for m in modes], color=[colors[m] for m in modes], width=0.6)
    ax_bar.hlines([formula[m] for m in modes], [-0.3, 0.7], [0.3, 1.3], colors="k", lw=2,
                  label="formula  (passes × P)")
    ax_bar.set_xticks([0, 1], [f"forward\n{passes['forward']} passes", f"reverse\n{passes['reverse']} passes"])
    ax_bar.set_ylabel("multiply–adds (measured)")
    ax_bar.set_yscale("log")
    ax_bar.minorticks_off()  # hundreds of minor-tick lines are most of a log axis's drawing time
    low, high = min(measured.values()), max(measured.values())
    ax_bar.set_ylim(low / 5, high * 8)
    for i, mode in enumerate(modes):
        ax_bar.text(i, measured[mode] * 1.3, f"{measured[mode]:,}", ha="center", va="bottom", fontsize=9)
    ax_bar.set_title("full Jacobian $\\partial h_L / \\partial x$")
    ax_bar.legend(fontsize=8, loc="upper left")
    style_axes(ax_curve)
    m = result["outputs_axis"]
    for mode in modes:
        ax_curve.plot(m, result["curve"][mode], color=colors[mode], label=f"{mode} mode")
        ax_curve.plot([result["widths"][-1]], [measured[mode]], "o", color=colors[mode])
    ax_curve.axvline(result["widths"][0], color="0.5", ls="--", lw=1, label="outputs = inputs")
    ax_curve.set_xlabel("number of outputs $n_L$")
    ax_curve.set_ylabel("multiply–adds")
    ax_curve.set_yscale("log")
    ax_curve.minorticks_off()
    ax_curve.set_title(f"{result['widths'][0]} inputs, {len(result['widths']) - 1} layers")
    ax_curve.legend(fontsize=8)
    cheaper = "forward" if measured["forward"] < measured["reverse"] else (
        "reverse" if measured["reverse"] < measured["forward"] else "neither")
    return (f"one pass P = {formula['per_pass']} multiply–adds; forward {measured['forward']} "
            f"(= {passes['forward']} × P), reverse {measured['reverse']} (= {passes['reverse']} × P); "
            f"cheaper: {cheaper} mode; both Jacobians agree to {result['agree']:.1e}")


def explorer() -> Explorer:
    """Depth, hidden width, number of inputs and outputs of the chain."""
    controls = {
        "depth": widgets.IntSlider(value=4, min=1, max=16, description="depth"),
        "width": widgets.IntSlider(value=16, min=1, max=MAX_SIZE, description="width"),
        "inputs": widgets.IntSlider(value=4, min=1, max=MAX_SIZE, description="inputs"),
        "outputs": widgets.IntSlider(value=32, min=1, max=MAX_SIZE, description="outputs"),
    }
    return Explorer(compute, draw, controls, width=10.0, height=3.8, ncols=2)
