import numpy as np
import pytest

from bpcore.optim import clip_by_global_norm, global_norm


def test_clipping_keeps_direction_and_caps_norm():
    rng = np.random.default_rng(0)
    g = {"a": rng.standard_normal((3, 4)) * 10, "b": rng.standard_normal(5) * 10}
    clipped, before = clip_by_global_norm(g, 1.0)
    assert before == pytest.approx(global_norm(g))
    assert global_norm(clipped) == pytest.approx(1.0)
    np.testing.assert_allclose(clipped["a"] * before, g["a"], rtol=1e-12)
    small, _ = clip_by_global_norm(g, 1e6)
    np.testing.assert_array_equal(small["b"], g["b"])


def test_clipping_refuses_bad_input():
    with pytest.raises(ValueError, match="max_norm"):
        clip_by_global_norm({"a": np.ones(2)}, 0.0)
    with pytest.raises(ValueError, match="global norm is inf"):
        clip_by_global_norm({"a": np.array([np.inf, 1.0])}, 1.0)
