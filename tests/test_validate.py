import numpy as np
import pytest

from bpcore.validate import check_array, check_params, check_scalar


def test_named_dimensions_must_agree_across_arguments():
    dims = {}
    check_array("x", np.zeros((5, 3, 2)), ("T", "n", "B"), dims)
    with pytest.raises(ValueError, match=r"argument 'h0': axis 1 \('B'\) has size 4, but 'B' = 2"):
        check_array("h0", np.zeros((7, 4)), ("m", "B"), dims)


def test_wrong_rank_and_exact_size():
    with pytest.raises(ValueError, match=r"argument 'W': expected shape \(3, 4\) \(2-d\), got \(3,\)"):
        check_array("W", np.zeros(3), (3, 4))
    with pytest.raises(ValueError, match=r"argument 'W': expected shape \(3, \*\), got \(2, 4\)"):
        check_array("W", np.zeros((2, 4)), (3, None))


def test_nan_and_inf_are_refused_with_position():
    x = np.zeros((2, 3))
    x[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"argument 'x': contains 1 NaN or inf value\(s\), first at index \(1, 2\)"):
        check_array("x", x)
    with pytest.raises(ValueError, match="numeric"):
        check_array("x", np.array(["a"]))


def test_params_and_scalars():
    with pytest.raises(ValueError, match=r"'params': missing key\(s\) \['b'\]"):
        check_params({"W": np.zeros((2, 2))}, {"W": (2, 2), "b": (2, 1)})
    with pytest.raises(ValueError, match=r"argument 'pi': expected a value in \(0, 1\], got 0"):
        check_scalar("pi", 0, low=0, high=1, low_open=True)
    with pytest.raises(ValueError, match="expected an integer"):
        check_scalar("k", 2.5, integer=True)
    assert check_scalar("k", 3, low=1, integer=True) == 3
