"""Property tests: over shapes, dtypes, NaN/inf, empty inputs and out-of-range settings, no public function
returns a silently wrong answer. Each call either agrees with the same numbers given as clean float64, or
raises ValueError/TypeError naming an argument. Deterministic (derandomize) and bounded, so CI is stable."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpcore import autodiff as ad
from bpcore import data, diagnostics, lstm, mlp, optim, rnn
from bpcore import functional as F
from bpcore import gradcheck as gc
from bpcore import graph as G

SETTINGS = settings(derandomize=True, max_examples=25, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
DTYPES = ["float64", "float32", "float16", "int64", "bool", "complex128", "object"]
REAL = ("float64", "float32", "float16", "int64")
NAMED = r"argument '|expression:|values:"


@st.composite
def arrays(draw, shape):
    """An array of ``shape`` in any dtype, sometimes with one NaN or inf; returns (array, is_clean)."""
    dtype = draw(st.sampled_from(DTYPES))
    values = np.asarray(draw(st.lists(st.floats(-3, 3), min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))),
                        dtype=np.float64).reshape(shape)
    poison = draw(st.sampled_from([None, np.nan, np.inf, -np.inf])) if values.size else None
    if poison is not None:
        values.flat[draw(st.integers(0, values.size - 1))] = poison
    if dtype == "int64":
        values = np.round(values) if poison is None else values
    if dtype == "bool":
        arr = values > 0
    elif dtype in ("int64",) and poison is not None:
        arr = values                                             # NaN cannot be an int: stays float
    else:
        arr = values.astype(dtype)
    clean = dtype in REAL and poison is None
    return arr, clean


def agrees_or_refuses(call, bad_call, reference, *, rtol):
    """``bad_call()`` must equal ``reference`` (computed on clean float64) or raise naming an argument."""
    try:
        got = bad_call()
    except (ValueError, TypeError) as e:
        assert any(word in str(e) for word in ("argument '", "expression:", "op '")), f"unnamed error: {e}"
        return False
    want = reference()
    for g, w in zip(np.atleast_1d(np.asarray(got, dtype=object)), np.atleast_1d(np.asarray(want, dtype=object))):
        np.testing.assert_allclose(np.asarray(g, np.float64), np.asarray(w, np.float64), rtol=rtol, atol=rtol)
    return True


def rtol_of(arr):
    return {"float16": 2e-3, "float32": 2e-6}.get(str(arr.dtype), 1e-12)


shapes = st.tuples(st.integers(0, 3), st.integers(0, 3))


@pytest.mark.parametrize("fn", [F.sigmoid, F.sigmoid_grad, F.tanh, F.tanh_grad, F.relu, F.relu_grad, F.identity,
                                F.identity_grad, F.softmax, F.log_softmax])
@SETTINGS
@given(data=st.data(), shape=shapes)
def test_activations(fn, data, shape):
    a, clean = data.draw(arrays(shape))
    ok = agrees_or_refuses(None, lambda: fn(a), lambda: fn(np.asarray(a, np.float64)), rtol=rtol_of(a))
    if not clean:
        assert not ok, f"{fn.__name__} accepted {a.dtype} {a!r}"


@SETTINGS
@given(data=st.data(), K=st.integers(0, 3), B=st.integers(0, 3), label_shift=st.integers(-1, 1))
def test_cross_entropy_and_its_gradient(data, K, B, label_shift):
    z, clean = data.draw(arrays((K, B)))
    y = np.arange(B) % max(K, 1) + (label_shift if B else 0)
    in_range = K >= 1 and B >= 1 and np.all((y >= 0) & (y < K))
    for fn in (F.cross_entropy, F.softmax_cross_entropy_grad):
        ok = agrees_or_refuses(None, lambda fn=fn: fn(z, y), lambda fn=fn: fn(np.asarray(z, np.float64), y),
                               rtol=rtol_of(z))
        assert ok == (clean and in_range), (fn.__name__, z.dtype, K, B, y)
    with pytest.raises(ValueError, match="argument 'y'"):
        F.cross_entropy(np.zeros((2, 3)), np.zeros((3, 1), int))


@SETTINGS
@given(data=st.data(), n=st.integers(0, 3), B=st.integers(0, 3))
def test_squared_error(data, n, B):
    y_hat, clean_a = data.draw(arrays((n, B)))
    y, clean_b = data.draw(arrays((n, B)))
    for fn in (F.squared_error, F.squared_error_grad):
        ok = agrees_or_refuses(None, lambda fn=fn: fn(y_hat, y),
                               lambda fn=fn: fn(np.asarray(y_hat, np.float64), np.asarray(y, np.float64)), rtol=2e-3)
        assert ok == (clean_a and clean_b and B >= 1), (fn.__name__, y_hat.dtype, y.dtype, n, B)


MODELS = {
    "mlp": (lambda rng, dt: mlp.init_params([2, 3, 2], rng, dtype=dt), lambda P, x: mlp.forward(P, x)[0],
            lambda B: (2, B), lambda P, x, y: mlp.loss_and_grads(P, x, y)),
    "rnn": (lambda rng, dt: rnn.init_params(2, 3, rng, n_z=2, dtype=dt), lambda P, x: rnn.forward(P, x)[0],
            lambda B: (3, 2, B), lambda P, x, y: rnn.loss_and_grads(P, x, y)),
    "lstm": (lambda rng, dt: lstm.init_params(2, 3, rng, n_z=2, dtype=dt), lambda P, x: lstm.forward(P, x)[0],
             lambda B: (3, 2, B), lambda P, x, y: lstm.loss_and_grads(P, x, y)),
}


@pytest.mark.parametrize("name", MODELS)
@SETTINGS
@given(data=st.data(), B=st.integers(0, 3), param_dtype=st.sampled_from(["float64", "float32"]))
def test_models_on_any_input(name, data, B, param_dtype):
    init, forward, x_shape, loss = MODELS[name]
    P = init(np.random.default_rng(0), param_dtype)
    x, clean = data.draw(arrays(x_shape(B)))
    x64 = np.asarray(x, np.float64) if clean else None
    ok = agrees_or_refuses(None, lambda: forward(P, x), lambda: forward(P, x64), rtol=1e-5)
    assert ok == (clean and B >= 1)
    if ok:
        assert forward(P, x).dtype == np.dtype(param_dtype)       # computed in the parameters' dtype
        y = np.arange(B) % 2
        E, grads = loss(P, x, y)
        assert np.isfinite(E) and all(g.dtype == np.dtype(param_dtype) for g in grads.values())


@pytest.mark.parametrize("name", MODELS)
@SETTINGS
@given(dtype=st.sampled_from(["int64", "bool", "complex128", "float16", "object"]))
def test_models_refuse_parameters_that_cannot_train(name, dtype):
    init, forward, x_shape, _ = MODELS[name]
    P = init(np.random.default_rng(0), "float64")
    key = next(iter(P))
    with pytest.raises((ValueError, TypeError), match=rf"argument 'params\['{key}'\]'"):
        forward(P | {key: P[key].astype(dtype)}, np.ones(x_shape(2)))
    with pytest.raises(TypeError, match="argument 'dtype'"):
        init(np.random.default_rng(0), dtype)


@SETTINGS
@given(data=st.data(), shape=st.tuples(st.integers(0, 4)))
def test_global_norm_and_clipping(data, shape):
    g, clean = data.draw(arrays(shape))
    scale = data.draw(st.sampled_from([1.0, 1e150, 1e-150]))
    grads = {"a": np.asarray(g, np.float64) * scale if clean else g}     # scaled in float64: no overflow
    ok = agrees_or_refuses(None, lambda: optim.clip_by_global_norm(grads, 1.0)[1],
                           lambda: scale * float(np.linalg.norm(np.asarray(g, np.float64))), rtol=2e-3)
    assert ok == clean


SETTINGS_OUT_OF_RANGE = [
    (lambda v: rnn.init_params(v, 3, np.random.default_rng(0)), "n_x", [0, -1, 2.5, True, np.nan, "3"]),
    (lambda v: lstm.init_params(2, v, np.random.default_rng(0)), "n_h", [0, -1, 2.5, None]),
    (lambda v: mlp.init_params([2, 3], np.random.default_rng(0), scale=v), "scale", [0, -1.0, np.inf, "big"]),
    (lambda v: data.delayed_recall(4, v, np.random.default_rng(0)), "lag", [0, -3, 1.5]),
    (lambda v: data.adding_problem(v, 5, np.random.default_rng(0)), "n_samples", [0, -2, 2.0]),
    (lambda v: rnn.draw_xi(5, v, np.random.default_rng(0)), "pi", [0.0, 1.5, -0.1, np.nan]),
    (lambda v: ad.power_iteration(lambda u: u, 3, rng=np.random.default_rng(0), max_iter=v), "max_iter", [0, -1, 1.5]),
    (lambda v: diagnostics.set_spectral_radius(np.eye(2), v), "rho", [0, -1.0, np.inf]),
    (lambda v: optim.sgd_step({"w": np.ones(2)}, {"w": np.ones(2)}, v), "lr", [0, -5, np.nan]),
    (lambda v: F.onehot([0, 1], v), "n_classes", [0, -1, 1.5]),
    (lambda v: gc.check_gradients(lambda q: float(q["a"].sum()), {"a": np.ones(2)}, {"a": np.ones(2)}, step=v),
     "step", [0, -1e-4]),
]


@pytest.mark.parametrize("call,name,bad", SETTINGS_OUT_OF_RANGE, ids=[c[1] for c in SETTINGS_OUT_OF_RANGE])
def test_settings_out_of_range_name_themselves(call, name, bad):
    for v in bad:
        with pytest.raises((ValueError, TypeError), match=f"argument '{name}'"):
            call(v)


@SETTINGS
@given(value=st.one_of(st.complex_numbers(allow_nan=False, min_magnitude=1e-3), st.booleans(), st.text(max_size=3),
                       st.just(float("nan")), st.just(float("inf")), st.just(None).map(lambda _: object())))
def test_graph_variable_refuses_what_is_not_a_real_number(value):
    with pytest.raises((ValueError, TypeError), match="argument 'value'"):
        G.variable(value)


@SETTINGS
@given(text=st.text(alphabet="xy+-*/()@ 0123456789.e", max_size=120))
def test_parse_never_crashes(text):
    try:
        out, _ = G.parse(text, {"x": 0.5, "y": 2.0})
    except ValueError:
        return
    assert len(G.topological_order(out)) <= 2 * G.MAX_NODES and np.all(np.isfinite(out.value))
