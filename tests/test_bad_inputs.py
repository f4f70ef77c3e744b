"""Issue 16's list of bad inputs: each gives the right answer or an error naming the argument."""

import numpy as np
import pytest

from bpcore import autodiff as ad
from bpcore import data, lstm, mlp, optim, rnn
from bpcore import functional as F
from bpcore import gradcheck as gc
from bpcore import graph as G
from bpcore.validate import ArgumentTypeError

RNG = np.random.default_rng(0)
NET = mlp.init_params([3, 4, 2], RNG)
X = RNG.standard_normal((3, 5))


def fake_loss(P, xb, yb):
    return 0.0, {k: np.zeros_like(v) for k, v in P.items()}


CASES = [  # (what, call, exception, the words the message must hold)
    ("complex variable", lambda: G.variable(1 + 2j), TypeError, "argument 'value'.*complex"),
    ("NaN into sigmoid", lambda: F.sigmoid(np.array([0.0, np.nan])), ValueError, "argument 'a'.*NaN"),
    ("inf into relu", lambda: F.relu(np.array([np.inf])), ValueError, "argument 'a'"),
    ("inf into tanh_grad", lambda: F.tanh_grad(np.array([-np.inf])), ValueError, "argument 'a'"),
    ("NaN logits", lambda: F.cross_entropy(np.array([[np.nan], [1.0]]), [0]), ValueError, "argument 'z'"),
    ("inf target", lambda: F.squared_error(np.ones((1, 2)), np.array([[1.0, np.inf]])), ValueError, "argument 'y'"),
    ("1-D bias in dense_forward", lambda: mlp.dense_forward(NET["W1"], np.zeros(4), X, "relu"), ValueError,
     r"argument 'b': expected shape \(n_out, 1\)"),
    ("labels (B, 1) in accuracy", lambda: mlp.accuracy(NET, X, np.zeros((5, 1), int)), ValueError,
     r"argument 'y': expected shape \(5,\)"),
    ("empty batch, cross-entropy", lambda: mlp.loss_and_grads(NET, np.zeros((3, 0)), np.zeros(0, int)), ValueError,
     "argument 'x': expected at least one of its examples"),
    ("empty batch, squared error", lambda: mlp.loss_and_grads(NET, np.zeros((3, 0)), np.zeros((2, 0)),
                                                              loss="squared_error"), ValueError, "argument 'x'"),
    ("empty batch into a loss", lambda: F.squared_error(np.zeros((2, 0)), np.zeros((2, 0))), ValueError,
     "argument 'y_hat'"),
    ("empty batch, rnn", lambda: rnn.forward(rnn.init_params(3, 4, RNG), np.zeros((2, 3, 0))), ValueError,
     "argument 'x'.*examples"),
    ("empty sequence, lstm", lambda: lstm.forward(lstm.init_params(3, 4, RNG), np.zeros((0, 3, 2))), ValueError,
     "argument 'x'.*time steps"),
    ("init dtype=int (mlp)", lambda: mlp.init_params([2, 3], RNG, dtype=int), TypeError, "argument 'dtype'"),
    ("init dtype=int (rnn)", lambda: rnn.init_params(2, 3, RNG, dtype=int), TypeError, "argument 'dtype'"),
    ("init dtype=int (lstm)", lambda: lstm.init_params(2, 3, RNG, dtype=int), TypeError, "argument 'dtype'"),
    ("int parameters", lambda: mlp.forward({"W1": np.ones((2, 3), int)}, X), TypeError, r"argument 'params\['W1'\]'"),
    ("rng in mlp.init_params", lambda: mlp.init_params([2, 3], 0), TypeError, "argument 'rng'"),
    ("rng in spirals", lambda: data.spirals(None), TypeError, "argument 'rng'"),
    ("rng in noisy_regression", lambda: data.noisy_regression(3), TypeError, "argument 'rng'"),
    ("rng in random_like", lambda: gc.random_like({"a": np.ones(2)}, 3), TypeError, "argument 'rng'"),
    ("rng in check_vjp", lambda: gc.check_vjp(lambda p: (p["a"], None), lambda d, c: {"a": d}, {"a": np.ones(2)},
                                              None), TypeError, "argument 'rng'"),
    ("train lr=-5", lambda: optim.train(fake_loss, NET, X, np.zeros(5, int), lr=-5, epochs=1, batch_size=2, rng=RNG),
     ValueError, "argument 'lr'"),
    ("train batch_size=0", lambda: optim.train(fake_loss, NET, X, np.zeros(5, int), lr=0.1, epochs=1, batch_size=0,
                                               rng=RNG), ValueError, "argument 'batch_size'"),
    ("train epochs=0", lambda: optim.train(fake_loss, NET, X, np.zeros(5, int), lr=0.1, epochs=0, batch_size=2,
                                           rng=RNG), ValueError, "argument 'epochs'"),
    ("train clip=-1", lambda: optim.train(fake_loss, NET, X, np.zeros(5, int), lr=0.1, epochs=1, batch_size=2,
                                          rng=RNG, clip=-1), ValueError, "argument 'clip'"),
    ("train rng=None", lambda: optim.train(fake_loss, NET, X, np.zeros(5, int), lr=0.1, epochs=1, batch_size=2,
                                           rng=None), TypeError, "argument 'rng'"),
    ("compare a check of nothing", lambda: gc.compare({}, {}), ValueError, "argument 'numerical'.*empty"),
    ("check_gradients of nothing", lambda: gc.check_gradients(lambda q: 0.0, {}, {}), ValueError,
     "argument 'params'.*empty"),
    ("power_iteration max_iter=0", lambda: ad.power_iteration(lambda v: v, 3, rng=RNG, max_iter=0), ValueError,
     "argument 'max_iter'"),
    ("onehot with 0 classes", lambda: F.onehot([0, 1], 0), ValueError, "argument 'n_classes'"),
    ("lstm without W_f", lambda: lstm.loss_and_grads({"W_hz": np.ones((2, 3)), "b_z": np.zeros((2, 1))},
                                                     np.zeros((3, 2, 1)), [0]), ValueError, r"missing key.*'W_f'"),
    ("NaN parameter in numerical_gradient", lambda: gc.numerical_gradient(lambda q: float(np.sum(q["a"])),
                                                                          {"a": np.array([np.nan, 1.0])}),
     ValueError, r"argument 'params\['a'\]'.*NaN"),
    ("bool input", lambda: mlp.forward(NET, np.ones((3, 2), bool)), TypeError, "argument 'x'.*bool"),
    ("object input", lambda: rnn.forward(rnn.init_params(3, 4, RNG), np.ones((2, 3, 1), object)), TypeError,
     "argument 'x'"),
    ("a truncation setting the mode does not use", lambda: rnn.backward(np.ones((2, 4, 1)), rnn.forward(
        rnn.init_params(3, 4, RNG), np.ones((2, 3, 1)))[1], k=3), ValueError, "argument 'k': not used"),
]


@pytest.mark.parametrize("what,call,error,words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_names_the_argument(what, call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_type_errors_are_value_errors_too():
    """Callers (the explorers) that catch ValueError also catch a wrong dtype."""
    assert issubclass(ArgumentTypeError, ValueError) and issubclass(ArgumentTypeError, TypeError)


def test_right_answers_where_the_input_is_fine():
    # large finite gradients are clipped, not refused: the norm is computed after rescaling
    clipped, norm = optim.clip_by_global_norm({"a": np.full(4, 1e155), "b": np.array([-1e155])}, 1.0)
    assert norm == pytest.approx(np.sqrt(5) * 1e155)
    np.testing.assert_allclose(clipped["a"], np.full(4, 1 / np.sqrt(5)), rtol=1e-12)
    assert optim.global_norm({"a": np.full(3, 1e300)}) == pytest.approx(np.sqrt(3) * 1e300)
    # integer inputs are exact numbers: converted, the same answer as floats
    np.testing.assert_array_equal(F.sigmoid(np.array([1, 2])), F.sigmoid(np.array([1.0, 2.0])))
    np.testing.assert_array_equal(mlp.forward(NET, np.ones((3, 2), int))[0], mlp.forward(NET, np.ones((3, 2)))[0])
    # accuracy with labels of the right shape
    assert mlp.accuracy(NET, X, mlp.predict(NET, X)) == 1.0
    # graph.parse knows @, like Node: on scalars it says they are not matrices
    with pytest.raises(ValueError, match="must be 2-d"):
        G.parse("x @ y", {"x": 1.0, "y": 2.0})
