"""Lesson 09's explorer: the lag of the delayed-recall task.

Training takes seconds, an explorer update must take well under a second, so the explorer does not
train. For the chosen lag it computes, at initialisation, how much gradient the loss at the last step
sends back to each earlier step — for the tanh RNN (``‖∂E/∂h_k‖``) and the LSTM (``‖∂E/∂C_k‖``) — on a
batch of the real task (one forward and backward pass each). Beside it, it shows the test accuracies
the lesson measured by training (passed in as ``results``, a dict ``{lag: {model: accuracy}}``), with the
chosen lag marked.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from bpcore import data, lstm, rnn
from bpcore.diagnostics import norms_against_lag
from bpcore.plots import COLORS, norm_curves, style_axes
from bpcore.validate import check_scalar
from bpcore.widgets import Explorer


def compute(lag: int = 20, *, results: dict | None = None, forget_bias: float = 2.0, amplitude: float = 3.0,
            hidden: int = 32, batch: int = 16, seed: int = 0) -> dict:
    """Per-step gradient norms at initialisation for the delayed-recall task at ``lag``.

    Returns ``lags`` (0 … lag), ``rnn_h`` = ``‖∂E/∂h_{T-ℓ}‖`` of the tanh RNN, ``lstm_C`` and ``lstm_h`` of
    the LSTM (forget bias ``forget_bias``), ``cue_ratio`` = LSTM over RNN gradient at the cue step (step 1),
    and the ``results`` table unchanged (or an empty dict).
    """
    check_scalar("lag", lag, low=1, high=1000, integer=True)
    rng = np.random.default_rng(seed)
    x, y = data.delayed_recall(batch, lag, rng, amplitude=amplitude)
    n, K = x.shape[1], x.shape[1] - 1
    lstm_params = lstm.init_params(n, hidden, rng, forget_bias=forget_bias, n_z=K)
    _, _, info = lstm.loss_and_grads(lstm_params, x, y, details=True)
    lags, lstm_C = norms_against_lag(info["delta_C"])
    _, lstm_h = norms_against_lag(info["delta_h"])
    rnn_params = rnn.init_params(n, hidden, rng, n_z=K)
    _, _, rinfo = rnn.loss_and_grads(rnn_params, x, y, details=True)
    _, rnn_h = norms_against_lag(rinfo["delta_h"])
    with np.errstate(divide="ignore"):
        cue_ratio = float(lstm_C[-1] / rnn_h[-1]) if rnn_h[-1] > 0 else float("inf")
    return {"lags": lags, "rnn_h": rnn_h, "lstm_C": lstm_C, "lstm_h": lstm_h, "cue_ratio": cue_ratio, "lag": lag,
            "forget_bias": forget_bias, "results": dict(results or {})}


def draw(fig, result) -> str:
    """Left: gradient norms against the lag at init. Right: measured accuracies against the lag."""
    r = result
    ax_grad, ax_acc = fig.axes[:2]
    norm_curves(ax_grad, r["lags"], {
        r"tanh RNN $\|\partial E/\partial h_k\|$": r["rnn_h"],
        rf"LSTM ($b_f={r['forget_bias']:g}$) $\|\partial E/\partial C_k\|$": r["lstm_C"],
    }, xlabel="steps back from the readout (T - k)", ylabel="gradient norm at init",
        title=f"lag {r['lag']}: the cue is {r['lag']} steps back")
    ax_grad.axvline(r["lag"], color="#999999", ls=":")
    style_axes(ax_acc)
    table = r["results"]
    if table:
        lags = sorted(table)
        models = list(dict.fromkeys(m for v in table.values() for m in v))   # in the order given: RNN first
        for i, model in enumerate(models):
            ax_acc.plot(lags, [table[lag].get(model, np.nan) for lag in lags], "o-", color=COLORS[i % len(COLORS)],
                        label=model)
        ax_acc.legend(fontsize=8)
    ax_acc.axhline(0.25, color="#999999", ls="--")
    ax_acc.axvline(r["lag"], color="#999999", ls=":")
    ax_acc.set_ylim(0, 1.05)
    ax_acc.set_xlabel("lag (trained in the lesson)")
    ax_acc.set_ylabel("test accuracy (chance 0.25)")
    ax_acc.set_title("measured after training")
    return (f"lag {r['lag']}: gradient reaching the cue step at init — RNN {r['rnn_h'][-1]:.2e}, "
            f"LSTM {r['lstm_C'][-1]:.2e} (ratio {r['cue_ratio']:.2e})")


def explorer(results: dict | None = None, lag: int = 20, *, amplitude: float = 3.0,
             forget_bias: float = 2.0) -> Explorer:
    """A lag slider; ``results`` are the lesson's measured accuracies ``{lag: {model: accuracy}}``;
    ``amplitude`` and ``forget_bias`` should be the lesson's, so both panels show the same task."""
    controls = {"lag": widgets.IntSlider(value=lag, min=2, max=100, step=2, description="lag",
                                         continuous_update=False)}

    def update(lag):
        return compute(lag, results=results, amplitude=amplitude, forget_bias=forget_bias)

    return Explorer(update, draw, controls, width=11, height=4.2, ncols=2)
