"""Explorers of lessons 06 and 07.

Lesson 06, :func:`explorer_radius` (spectral radius and sequence length): one tanh RNN whose ``W_hh`` is a
fixed random matrix rescaled to the chosen spectral radius; a loss only at the last step; the measured
``‖∂E_T/∂h_k‖`` and ``‖∂h_T/∂h_k‖₂`` against the lag ``T - k`` beside the Pascanu bound ``σ_max(W_hh)^{T-k}``.

Lesson 07, :func:`explorer_strategies` (truncation length k and keep probability π): the gradient of
``W_hh`` by full BPTT, by truncation to k steps and by randomized truncation, with the bias and spread of
each estimator measured over many draws (:func:`estimator_errors`, also used for the lesson's figure).
"""

from __future__ import annotations

from functools import lru_cache

import ipywidgets as widgets
import numpy as np

from bpcore import rnn
from bpcore.diagnostics import (
    jacobian_product_norms,
    norms_against_lag,
    pascanu_bound,
    random_orthogonal,
    set_spectral_radius,
    singular_values,
    spectral_radius,
    tanh_rnn_jacobians,
)
from bpcore.plots import COLORS, norm_curves, style_axes
from bpcore.validate import check_scalar
from bpcore.widgets import Explorer

# ---------------------------------------------------------------- lesson 06: spectral radius and length


BASES = ("orthogonal", "gaussian")


@lru_cache(maxsize=8)
def _base_problem(n_h: int, n_x: int, T_max: int, seed: int, base: str):
    rng = np.random.default_rng(seed)
    params = rnn.init_params(n_x, n_h, rng, n_z=2, spectral_radius=1.0)
    if base == "orthogonal":                    # every singular value equals the spectral radius
        params["W_hh"] = random_orthogonal(n_h, rng)
    x = rng.standard_normal((T_max, n_x, 1))
    direction = rng.standard_normal((n_h, 1))
    return params, x, direction / np.linalg.norm(direction)   # unit v: ‖∂E_T/∂h_k‖ <= ‖∂h_T/∂h_k‖₂


def compute_radius(rho: float = 1.0, T: int = 50, base: str = "orthogonal", *, n_h: int = 32, n_x: int = 4,
                   input_scale: float = 0.1, seed: int = 0) -> dict:
    """Long-range gradient norms of a tanh RNN whose ``W_hh`` has spectral radius ``rho``.

    ``base`` is the matrix rescaled to that radius: ``"orthogonal"`` (then ``σ_max = ρ`` and the bound is
    tight in the linear regime) or ``"gaussian"`` (``σ_max`` is larger than ``ρ``: 1.68 ρ for the default
    ``n_h`` and seed, tending to 2 ρ only for large sizes; the bound is loose).
    Small inputs (``input_scale``) keep ``tanh'`` near 1, the regime where the bound can be approached.

    The loss is ``E_T = ⟨v, h_T⟩`` for a fixed random unit vector ``v`` (so ``∂E_T/∂h_k = (∂h_T/∂h_k)ᵀ v``).
    Returns ``lags`` (0 … T-1), ``dE_dh`` = ``‖∂E_T/∂h_{T-lag}‖``, ``dhT_dhk`` = ``‖∂h_T/∂h_{T-lag}‖₂``,
    ``bound`` = ``σ_max^{lag}``, and ``rho``, ``sigma_max``, ``mean_slope`` (mean ``tanh'`` over the run).
    Overflow shows as inf, never as an error.
    """
    check_scalar("rho", rho, low=0, high=10, low_open=True)
    check_scalar("T", T, low=2, high=1000, integer=True)
    check_scalar("input_scale", input_scale, low=0)
    if base not in BASES:
        raise ValueError(f"argument 'base': expected one of {BASES}, got {base!r}")
    params, x, v = _base_problem(n_h, n_x, 1000, seed, base)
    p = dict(params, W_hh=set_spectral_radius(params["W_hh"], rho))
    h, cache = rnn.forward(p, input_scale * x[:T])
    dh = np.zeros_like(h)
    dh[-1] = v
    with np.errstate(over="ignore", invalid="ignore"):
        lags, dE = norms_against_lag(rnn.backward(dh, cache)["delta_h"])
        _, jac = jacobian_product_norms(tanh_rnn_jacobians(h, p["W_hh"]))
    return {"lags": lags, "dE_dh": dE, "dhT_dhk": jac[:T], "bound": pascanu_bound(p["W_hh"], lags),
            "rho": spectral_radius(p["W_hh"]), "sigma_max": float(singular_values(p["W_hh"])[0]),
            "mean_slope": float(np.mean(1 - h**2)), "T": T}


def draw_radius(fig, result: dict) -> str:
    ax = fig.axes[0]
    norm_curves(ax, result["lags"], {r"$\|\partial E_T/\partial h_k\|$": result["dE_dh"],
                                     r"$\|\partial h_T/\partial h_k\|_2$": result["dhT_dhk"]},
                guides={r"bound $\sigma_{\max}(W_{hh})^{T-k}$": result["bound"]},
                xlabel="lag $T-k$", ylabel="norm (log scale)",
                title=f"spectral radius {result['rho']:.2f}, $\\sigma_{{\\max}}$ = {result['sigma_max']:.2f}")
    last = result["dhT_dhk"][-1]
    return (f"ρ(W_hh) = {result['rho']:.3f}, σ_max(W_hh) = {result['sigma_max']:.3f}, mean tanh' = "
            f"{result['mean_slope']:.3f}; ‖∂h_T/∂h_1‖ = {last:.3e} against the bound {result['bound'][-1]:.3e}")


def explorer_radius() -> Explorer:
    """Spectral radius of ``W_hh`` and sequence length."""
    controls = {
        "rho": widgets.FloatSlider(value=1.0, min=0.2, max=3.0, step=0.05,
                                                description="spectral radius"),
        "T": widgets.IntSlider(value=50, min=5, max=300, step=5, description="length T"),
        "base": widgets.Dropdown(options=BASES, value="orthogonal", description="W_hh from"),
    }
    return Explorer(compute_radius, draw_radius, controls, width=7.5, height=4.2)


# ---------------------------------------------------------------- lesson 07: truncation and randomization


@lru_cache(maxsize=8)
def strategy_problem(T: int = 40, n_h: int = 16, n_x: int = 4, rho: float = 1.0, seed: int = 0):
    """A fixed small tanh RNN with a loss at every step: ``(cache, dh, full)`` where ``full`` is the
    exact ``∂E/∂W_hh``. Cached: the explorer reuses it on every move."""
    rng = np.random.default_rng(seed)
    params = rnn.init_params(n_x, n_h, rng, n_z=2, spectral_radius=rho)
    x = rng.standard_normal((T, n_x, 1))
    h, cache = rnn.forward(params, x)
    dh = rng.standard_normal(h.shape)
    return cache, dh, rnn.backward(dh, cache)["W_hh"]


def estimator_errors(samples, full) -> dict:
    """Bias and spread of an estimator of ``full`` from its ``samples`` (N, *shape), relative to ``‖full‖``.

    ``bias`` = ``‖mean − full‖/‖full‖``; ``std`` = ``sqrt(mean_i ‖g_i − mean‖²)/‖full‖`` (0 for a deterministic
    estimator); ``noise_floor`` = ``std/√N``, the size the measured bias of an UNBIASED estimator has.
    """
    samples = np.asarray(samples, dtype=np.float64)
    scale = np.linalg.norm(full)
    mean = samples.mean(axis=0)
    spread = np.sqrt(np.mean(np.sum((samples - mean) ** 2, axis=tuple(range(1, samples.ndim))))) / scale
    return {"bias": float(np.linalg.norm(mean - full) / scale), "std": float(spread),
            "noise_floor": float(spread / np.sqrt(len(samples))), "mean": mean}


def compute_strategies(k: int = 5, pi: float = 0.7, *, draws: int = 200, T: int = 40, seed: int = 0) -> dict:
    """``∂E/∂W_hh`` of :func:`strategy_problem` by the three strategies.

    Returns ``full``, ``truncated`` (k steps), ``randomized`` (one draw), ``randomized_mean`` (over
    ``draws``), and ``errors``: ``{"truncated": …, "randomized": …}`` from :func:`estimator_errors`, plus
    ``mean_length``: the average number of backward steps a randomized chain survives.
    """
    check_scalar("k", k, low=1, integer=True)
    check_scalar("pi", pi, low=0, high=1, low_open=True)
    check_scalar("draws", draws, low=2, integer=True)
    cache, dh, full = strategy_problem(T, seed=seed)
    trunc = rnn.backward(dh, cache, mode="truncated", k=k)["W_hh"]
    rng = np.random.default_rng(seed + 1)
    xis = [rnn.draw_xi(T, pi, rng) for _ in range(draws)]
    samples = randomized_samples(cache, dh, xis)
    lengths = [_chain_length(xi) for xi in xis]
    return {"full": full, "truncated": trunc, "randomized": samples[0], "randomized_mean": samples.mean(axis=0),
            "errors": {"truncated": estimator_errors(trunc[None], full), "randomized": estimator_errors(samples, full)},
            "mean_length": float(np.mean(lengths)), "k": k, "pi": pi, "T": T, "draws": draws}


def randomized_samples(cache, dh, xis) -> np.ndarray:
    """``∂E/∂W_hh`` by randomized truncation for each draw ``ξ`` in ``xis`` (N of length T): (N, n_h, n_h).

    The draws are independent backward chains over the same forward pass (batch 1), so they run side by
    side as the N columns of one backward pass, rnn's BPTT recursion scaling each column's carry by that
    draw's own ``ξ_t``; a draw's gradient is then ``Σ_t δa_t h_{t-1}ᵀ`` of its column. The same numbers as
    ``rnn.backward(dh, cache, mode="randomized", xi=ξ)["W_hh"]`` draw by draw, in one pass instead of N.
    """
    H = cache["H"]                                                   # (T+1, n_h, 1): h_0 … h_T
    if H.shape[2] != 1:
        raise ValueError(f"argument 'cache': expected a forward pass of batch 1, got batch {H.shape[2]}")
    xis = np.asarray(xis, dtype=float)
    n = len(xis)
    da, _, _ = rnn._bptt_full(np.repeat(dh, n, axis=2), np.repeat(H[1:], n, axis=2), cache["W_hh"], xis.T)
    return np.einsum("tis,tj->sij", da, H[:-1, :, 0])


def _chain_length(xi) -> int:
    """Backward edges the loss at T crosses before the first ``ξ = 0`` (T if none is 0)."""
    zero = xi[::-1] == 0
    return int(np.argmax(zero)) if zero.any() else len(xi)


def draw_strategies(fig, result: dict) -> str:
    """Left: entries of ∂E/∂W_hh by each strategy; right: bias and spread of each estimator."""
    ax_entries, ax_err = fig.axes
    style_axes(ax_entries)
    order = np.argsort(result["full"].ravel())
    idx = np.arange(order.size)
    ax_entries.plot(idx, result["full"].ravel()[order], "k-", lw=2, label="full BPTT")
    ax_entries.plot(idx, result["truncated"].ravel()[order], ".", color=COLORS[0], ms=4,
                    label=f"truncated, k = {result['k']}")
    ax_entries.plot(idx, result["randomized"].ravel()[order], "x", color=COLORS[1], ms=3, alpha=0.6,
                    label=f"randomized, π = {result['pi']:.2f} (one draw)")
    ax_entries.plot(idx, result["randomized_mean"].ravel()[order], "-", color=COLORS[1], lw=1,
                    label=f"randomized, mean of {result['draws']}")
    ax_entries.set_xlabel(r"entries of $\partial E/\partial W_{hh}$, sorted by the full gradient")
    ax_entries.set_ylabel("value")
    ax_entries.legend(fontsize=7)
    style_axes(ax_err)
    e = result["errors"]
    names = ["truncated\nbias", "randomized\nbias", "randomized\nspread (1 draw)"]
    values = [e["truncated"]["bias"], e["randomized"]["bias"], e["randomized"]["std"]]
    ax_err.bar(range(3), np.maximum(values, 1e-16), color=[COLORS[0], COLORS[1], COLORS[1]], alpha=0.8)
    ax_err.axhline(e["randomized"]["noise_floor"], color="0.4", ls="--", lw=1, label="noise floor std/√N")
    ax_err.set_xticks(range(3), names, fontsize=8)
    ax_err.set_yscale("log")
    ax_err.set_ylim(1e-4, 1e2)                       # fixed, so bars compare across settings (0 is off the axis)
    ax_err.set_ylabel(r"relative to $\|\partial E/\partial W_{hh}\|$")
    ax_err.legend(fontsize=7)
    return (f"truncated (k = {result['k']}): bias {e['truncated']['bias']:.3f}, spread 0 | randomized "
            f"(π = {result['pi']:.2f}, mean chain {result['mean_length']:.1f} steps): bias "
            f"{e['randomized']['bias']:.3f} (noise floor {e['randomized']['noise_floor']:.3f}), "
            f"spread {e['randomized']['std']:.3f}")


def explorer_strategies() -> Explorer:
    """Truncation length k and keep probability π."""
    controls = {
        "k": widgets.IntSlider(value=5, min=1, max=40, description="k"),
        "pi": widgets.FloatSlider(value=0.7, min=0.05, max=1.0, step=0.05, description="π"),
    }
    return Explorer(compute_strategies, draw_strategies, controls, width=10.0, height=4.0, ncols=2)
