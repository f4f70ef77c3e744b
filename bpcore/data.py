"""Small synthetic tasks made in code, seeded through an explicit ``np.random.Generator``.

Conventions: inputs as columns ``(features, batch)``, sequences time-first ``(T, features, batch)``,
integer class labels as ``(batch,)`` (or ``(T, batch)`` per step).
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (used by the task functions below)

# ---------------------------------------------------------------- spirals and regression (lesson 03, 04)

def spirals(rng: np.random.Generator, n_per_class: int = 100, n_classes: int = 2, *, noise: float = 0.2,
            turns: float = 1.0):
    """Interleaved spiral arms in the plane, one arm per class; returns ``(X, y)``.

    Arm ``c`` at parameter ``t ∈ [0, 1]``: radius ``t``, angle ``2π (turns · t + c / n_classes)`` plus
    Gaussian angle noise of standard deviation ``noise`` (radians). No linear classifier separates
    them; a small relu network does.
    X: ``(2, n_classes · n_per_class)``; y: ``(n_classes · n_per_class,)`` integer labels, arm by arm.
    """
    from bpcore.validate import check_rng, check_scalar

    check_scalar("n_per_class", n_per_class, low=1, integer=True)
    check_scalar("n_classes", n_classes, low=2, integer=True)
    check_scalar("noise", noise, low=0)
    check_scalar("turns", turns, low=0, low_open=True)
    check_rng(rng)
    t = np.tile(np.linspace(0.0, 1.0, n_per_class), n_classes)
    y = np.repeat(np.arange(n_classes), n_per_class)
    angle = 2 * np.pi * (turns * t + y / n_classes) + noise * rng.standard_normal(t.size)
    X = np.stack([t * np.cos(angle), t * np.sin(angle)])
    return X, y


def noisy_regression(rng: np.random.Generator, n: int = 100, *, noise: float = 0.1, low: float = -3.0,
                     high: float = 3.0):
    """``y = sin(x) + 0.3 x + ε`` with ``x`` uniform on ``[low, high]`` and ``ε ~ N(0, noise²)``.

    Returns ``(X, Y)``, both ``(1, n)``, sorted by ``x`` (convenient for plotting the fit).
    """
    from bpcore.validate import check_rng, check_scalar

    check_scalar("n", n, low=1, integer=True)
    check_scalar("noise", noise, low=0)
    check_scalar("high", high)
    check_scalar("low", low, high=high, high_open=True)
    check_rng(rng)
    x = np.sort(rng.uniform(low, high, n))
    y = np.sin(x) + 0.3 * x + noise * rng.standard_normal(n)
    return x[None, :], y[None, :]



# ---------------------------------------------------------------- long-range memory tasks (lessons 08–09)

def _check_task_sizes(n_samples, T, rng):
    from bpcore.validate import check_rng, check_scalar

    check_scalar("n_samples", n_samples, low=1, integer=True)
    check_scalar("T", T, low=2, integer=True)
    check_rng(rng)


def adding_problem(n_samples: int, T: int, rng: np.random.Generator):
    """The adding problem (Hochreiter & Schmidhuber 1997): add the two marked numbers of a sequence.

    Each step carries two features: a value drawn uniformly from [0, 1] and a marker that is 1 at exactly
    two steps — one in the first half, one in the second — and 0 elsewhere. The target is the sum of
    the two marked values, read out after the last step, so the network must keep a value for up to
    ``T - 1`` steps. Predicting the mean 1.0 always gives mean squared error 1/6 (the variance of a sum
    of two U(0, 1)): the baseline a model must beat.

    Returns ``x`` (T, 2, n_samples) and ``y`` (1, n_samples).
    """
    _check_task_sizes(n_samples, T, rng)
    x = np.zeros((T, 2, n_samples))
    x[:, 0] = rng.random((T, n_samples))
    cols = np.arange(n_samples)
    half = T // 2
    first = rng.integers(0, half, n_samples)
    second = rng.integers(half, T, n_samples)
    x[first, 1, cols] = 1.0
    x[second, 1, cols] = 1.0
    y = (x[first, 0, cols] + x[second, 0, cols])[None, :]
    return x, y


def delayed_recall(n_samples: int, lag: int, rng: np.random.Generator, *, n_symbols: int = 4,
                   amplitude: float = 1.0):
    """Delayed recall: remember the marked symbol of step 1 through ``lag`` steps of distracting symbols.

    There are ``n_symbols + 1`` input channels: one-hot symbols in the first ``n_symbols`` and a marker in
    the last. Step 1 shows the symbol to remember, with the marker on; steps 2 … lag+1 show random symbols
    from the same alphabet with the marker off, so the network cannot tell the symbol apart by its channel
    and must keep it in its state. Inputs are scaled by ``amplitude``: strong inputs (e.g. 3) drive a tanh
    RNN's state hard at every step, which overwrites what it held. The label, read after the last step,
    is the symbol of step 1. Nothing later predicts it: a model that does not carry the information
    ``lag`` steps stays at chance, accuracy ``1/n_symbols`` and cross-entropy ``log(n_symbols)``.

    Returns ``x`` (lag+1, n_symbols+1, n_samples) and integer labels ``y`` (n_samples,).
    """
    from bpcore.validate import check_scalar

    check_scalar("lag", lag, low=1, integer=True)
    _check_task_sizes(n_samples, lag + 1, rng)
    check_scalar("n_symbols", n_symbols, low=2, integer=True)
    check_scalar("amplitude", amplitude, low=0, low_open=True)
    T = lag + 1
    cols = np.arange(n_samples)
    x = np.zeros((T, n_symbols + 1, n_samples))
    y = rng.integers(0, n_symbols, n_samples)
    x[0, y, cols] = amplitude
    x[0, n_symbols, :] = amplitude
    distractors = rng.integers(0, n_symbols, (lag, n_samples))
    x[np.arange(1, T)[:, None], distractors, cols[None, :]] = amplitude
    return x, y
