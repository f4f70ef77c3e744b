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
    from bpcore.validate import check_scalar

    check_scalar("n_per_class", n_per_class, low=1, integer=True)
    check_scalar("n_classes", n_classes, low=2, integer=True)
    check_scalar("noise", noise, low=0)
    check_scalar("turns", turns, low=0, low_open=True)
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
    from bpcore.validate import check_scalar

    check_scalar("n", n, low=1, integer=True)
    check_scalar("noise", noise, low=0)
    check_scalar("high", high)
    check_scalar("low", low, high=high, high_open=True)
    x = np.sort(rng.uniform(low, high, n))
    y = np.sin(x) + 0.3 * x + noise * rng.standard_normal(n)
    return x[None, :], y[None, :]
