"""bpcore.sequence: the helpers both sequence models share."""

import numpy as np
import pytest

from bpcore import sequence


@pytest.mark.parametrize("seed", range(5))
def test_sum_over_steps_and_batch_is_tensordot_to_the_bit(seed):
    rng = np.random.default_rng(seed)
    T, m, n, B = (int(v) for v in rng.integers(1, 40, 4))
    a, b = rng.standard_normal((T, m, B)), rng.standard_normal((T, n, B))
    got = sequence._sum_over_steps_and_batch(a, b)
    want = np.tensordot(a, b, axes=([0, 2], [0, 2]))
    assert got.shape == want.shape == (m, n)
    assert got.tobytes() == want.tobytes()

