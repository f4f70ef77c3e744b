"""Optimizers: gradient clipping by global norm (more to come: minibatch SGD, Newton step).

Clipping rescales all gradients together, ``g ← g · min(1, c / ‖g‖)`` with ``‖g‖`` the norm of every
entry of every parameter's gradient: the direction is kept, only an exploding step is shortened.
"""

from __future__ import annotations

import numpy as np

from bpcore.validate import check_scalar


def global_norm(grads: dict) -> float:
    """``sqrt(Σ_p ‖g_p‖²)`` over every array in ``grads``."""
    return float(np.sqrt(sum(float(np.sum(np.square(g))) for g in grads.values())))


def clip_by_global_norm(grads: dict, max_norm: float) -> tuple[dict, float]:
    """Return ``(clipped, norm_before)``; ``clipped`` are new arrays scaled by ``min(1, max_norm/‖g‖)``."""
    check_scalar("max_norm", max_norm, low=0, low_open=True)
    norm = global_norm(grads)
    if not np.isfinite(norm):
        raise ValueError(f"argument 'grads': global norm is {norm}; clipping cannot repair NaN/inf "
                         "gradients (lower the learning rate or find the overflow)")
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {k: g * scale for k, g in grads.items()}, norm
