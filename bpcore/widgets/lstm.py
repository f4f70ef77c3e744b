"""Lesson 08's explorer: the forget-gate bias against the long-range gradient.

``compute`` runs one LSTM and one tanh RNN (lesson 06) over the same random inputs, puts a loss only at
the last step (``∂E_T/∂h_T`` a fixed random direction), backpropagates, and returns the per-step norms
``‖∂E_T/∂C_k‖`` and ``‖∂E_T/∂h_k‖`` against the lag ``T - k`` (through ``bpcore.diagnostics.norms_against_lag``),
together with the product of forget-gate activations ``Π f_j`` that the simplified argument predicts.
One forward and backward pass of a small network: a few milliseconds, well inside an explorer's budget.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from bpcore import lstm, rnn
from bpcore.diagnostics import norms_against_lag
from bpcore.plots import norm_curves
from bpcore.validate import check_scalar
from bpcore.widgets import Explorer


def compute(forget_bias: float = 1.0, T: int = 60, *, n: int = 8, p: int = 32, batch: int = 8,
            seed: int = 0) -> dict:
    """Gradient norms against the lag for an LSTM with forget bias ``forget_bias`` and a tanh RNN.

    Returns a dict with ``lags`` (0 … T-1), ``lstm_C`` = ``‖∂E_T/∂C_{T-lag}‖``, ``lstm_h`` =
    ``‖∂E_T/∂h_{T-lag}‖``, ``rnn_h`` (the tanh RNN's ``‖∂E_T/∂h_{T-lag}‖``, same sizes, default init),
    ``forget_product`` = the batch mean of ``Π_{j=T-lag+1}^{T} f_j`` averaged over units (1 at lag 0),
    ``mean_f`` (mean forget activation) and the settings. Norms are over units and the batch.
    """
    check_scalar("forget_bias", forget_bias, low=-20, high=20)
    check_scalar("T", T, low=2, high=2000, integer=True)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, n, batch))
    direction = rng.standard_normal((p, batch))
    params = lstm.init_params(n, p, rng, forget_bias=forget_bias)
    h, cache = lstm.forward(params, x)
    dh = np.zeros_like(h)
    dh[-1] = direction                                    # E_T = <direction, h_T>: a loss at the last step only
    g = lstm.backward(dh, cache)
    lags, norm_C = norms_against_lag(g["delta_C"])
    _, norm_h = norms_against_lag(g["delta_h"])
    f = cache["gates"][:, :p]                              # (T, p, B) forget activations f_1 … f_T
    products = np.cumprod(f[::-1], axis=0)                 # Π over the last 1, 2, … steps
    forget_product = np.concatenate([[1.0], products.mean(axis=(1, 2))[:-1]])
    r_params = rnn.init_params(n, p, np.random.default_rng(seed + 1), n_z=1)
    hr, rcache = rnn.forward(r_params, x)
    dhr = np.zeros_like(hr)
    dhr[-1] = direction
    _, norm_rnn = norms_against_lag(rnn.backward(dhr, rcache)["delta_h"])
    return {"lags": lags, "lstm_C": norm_C, "lstm_h": norm_h, "rnn_h": norm_rnn, "forget_product": forget_product,
            "mean_f": float(f.mean()), "forget_bias": forget_bias, "T": T}


def draw(fig, result) -> str:
    """Norms against the lag on a log axis; the readout compares the lag-(T-1) norms."""
    ax = fig.axes[0]
    r = result
    scale = r["lstm_C"][0]
    norm_curves(ax, r["lags"], {
        r"LSTM $\|\partial E_T/\partial C_k\|$": r["lstm_C"],
        r"LSTM $\|\partial E_T/\partial h_k\|$": r["lstm_h"],
        r"tanh RNN $\|\partial E_T/\partial h_k\|$": r["rnn_h"],
    }, guides={r"$\|\partial E_T/\partial C_T\|\cdot$ mean $\prod f_j$": scale * r["forget_product"]},
        xlabel="lag T - k (steps)", ylabel="gradient norm",
        title=f"forget bias b_f = {r['forget_bias']:.1f}, mean f = {r['mean_f']:.3f}")
    last = len(r["lags"]) - 1
    return (f"lag {last}: LSTM |dE/dC| = {r['lstm_C'][-1]:.3e}, LSTM |dE/dh| = {r['lstm_h'][-1]:.3e}, "
            f"RNN |dE/dh| = {r['rnn_h'][-1]:.3e}")


def explorer(T: int = 60) -> Explorer:
    """Slider for the forget-gate bias (and the sequence length)."""
    controls = {
        "forget_bias": widgets.FloatSlider(value=1.0, min=-2.0, max=6.0, step=0.5, description="forget bias",
                                           continuous_update=False),
        "T": widgets.IntSlider(value=T, min=10, max=200, step=10, description="length T",
                               continuous_update=False),
    }
    return Explorer(compute, draw, controls, width=7.5, height=4.5)
