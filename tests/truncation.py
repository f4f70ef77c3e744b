"""The objective that truncated BPTT differentiates, for the RNN and LSTM tests."""

import numpy as np


def truncated_objective(forward_step, p, x, h0, held, dh, k, readout=lambda state: state):
    """Σ_t ⟨dh_t, h_t⟩ where h_t is recomputed from the last k steps only, starting from the state
    h_{t-k} taken from ``held`` (states of the unperturbed point: constants, i.e. a stop-gradient).
    h_0 itself is an input, so windows that reach the start begin from the current ``h0``.
    A state may be a tuple (the LSTM's ``(h, C)``): ``readout`` picks h_t out of it."""
    T = x.shape[0]
    total = 0.0
    for t in range(1, T + 1):
        start = t - k
        h = h0 if start <= 0 else held[start]            # the state feeding the window, as a constant
        for j in range(max(start, 0) + 1, t + 1):
            h = forward_step(x[j - 1], h, p)
        total += float(np.sum(dh[t - 1] * readout(h)))
    return total


def held_states(forward_step, p, x, h0):
    states = [h0]
    for t in range(x.shape[0]):
        states.append(forward_step(x[t], states[-1], p))
    return states


LOSS_STEPS = ("every step", "last step", "two steps", "no step")  # truncation skips the steps no loss reaches


def losses_at(d, steps, rng):
    """``d`` (T, p, B) with the rows of the steps that have no loss set to zero."""
    T = d.shape[0]
    keep = {"every step": range(T), "last step": [T - 1], "no step": [],
            "two steps": sorted(set(rng.choice(T, size=min(2, T), replace=False).tolist()))}[steps]
    out = np.zeros_like(d)
    out[list(keep)] = d[list(keep)]
    return out
