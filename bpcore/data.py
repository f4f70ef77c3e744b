"""Small synthetic tasks made in code, seeded through an explicit ``np.random.Generator``.

Conventions: inputs as columns ``(features, batch)``, sequences time-first ``(T, features, batch)``,
integer class labels as ``(batch,)`` (or ``(T, batch)`` per step).
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (used by the task functions below)
