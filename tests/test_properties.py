"""Property tests: over shapes, dtypes, NaN/inf, empty inputs and out-of-range settings, no public function
returns a silently wrong answer. Each call either agrees with the same numbers given as clean float64 (and
with a simple reference computation), or raises ValueError/TypeError naming the argument. Deterministic
(derandomize) and bounded, so CI is stable. Hypothesis (requirements.txt) draws the shapes, values and
settings and shrinks a failure to a small example.

Sections: the first tests (activations, losses, models, clipping, settings, graph.parse); one argument
poisoned at a time (POISON: graph, autodiff, diagnostics, optim, gradcheck, mlp, rnn, lstm); more settings,
callbacks and labels; invariants of the data generators and the cost counters; and the inventory
(PROPERTY_TESTS), which fails when a public function a lesson or the README uses has no property test."""

import ast
import importlib
import json
import re
import warnings
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpcore import autodiff as ad
from bpcore import data, diagnostics, lstm, mlp, optim, rnn
from bpcore import diagnostics as D
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


# ---------------------------------------------------------------- one argument poisoned at a time
#
# A case draws clean float64 arguments (random shapes, sometimes zero-size), then one array argument is
# replaced by the same numbers in another dtype, or with a NaN/inf, or by something that is not numbers.
# The property: a clean dtype (int: exact; float32/16: within their precision) gives the answer of the
# clean float64 call, and of the independent ``truth`` where the case has one; anything else is refused
# with ValueError/TypeError naming that argument. Arguments that accept NaN/inf by design (per-step norms
# for a plot, a gradient a check reports as FAIL) list them in ``nonfinite``: there ``truth`` must hold
# for the poisoned values too.

POISON_EXAMPLES = 30
MUTATIONS = ["float64", "int64", "float32", "float16", "bool", "complex128", "object", "text", "nan", "inf"]
PRECISION = {"float64": 1e-9, "int64": 1e-9, "float32": 2e-4, "float16": 3e-2}


@dataclass
class Case:
    """``draw(rng, data) -> {name: argument}``; ``call(**args)``; ``truth(**args64)`` a simple reference."""

    draw: object
    call: object
    truth: object = None
    targets: tuple = ()           # the arguments to poison (default: every array among the drawn ones)
    nonfinite: tuple = ()         # arguments that take NaN/inf by design; ``truth`` says what they give
    error_name: dict = field(default_factory=dict)  # how the message names an argument, if not by its key
    precision: dict = field(default_factory=dict)   # per-dtype tolerance overrides
    low_precision: tuple = ()     # dtypes whose results are only comparable within their own precision
    refuses: dict = field(default_factory=dict)     # {argument: dtypes it refuses by design}, e.g. int weights


def numbers(result):
    """The numeric leaves of a result, in a fixed order: arrays, dict values by key, dataclass fields."""
    if isinstance(result, G.Node):
        return numbers(result.value)
    if isinstance(result, gc.GradReport):
        return [np.asarray(float(result.ok))]
    if is_dataclass(result):
        return [x for f in fields(result) for x in numbers(getattr(result, f.name))]
    if isinstance(result, G.GradTable):
        return [x for v in result.values() for x in numbers(v)]
    if isinstance(result, dict):
        return [x for k in sorted(result, key=str) for x in numbers(result[k])]
    if isinstance(result, (list, tuple)):
        return [x for r in result for x in numbers(r)]
    return [np.asarray(result, dtype=np.float64)]


def assert_same(got, want, tol, what):
    got, want = numbers(got), numbers(want)
    assert len(got) == len(want), f"{what}: {len(got)} numbers, expected {len(want)}"
    for g, w in zip(got, want):
        assert g.shape == w.shape, f"{what}: shape {g.shape}, expected {w.shape}"
        scale = max(1.0, float(np.max(np.abs(w[np.isfinite(w)]), initial=0.0)))
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol * scale, equal_nan=True, err_msg=what)


def mutate(value, how, rng):
    """``value`` (float64 array) as ``how``; returns (the argument, its float64 numbers or None)."""
    if how == "int64":
        r = np.round(value)
        return r.astype(np.int64), r
    if how in ("float32", "float16"):
        v = value.astype(how)
        return v, v.astype(np.float64)
    if how in ("nan", "inf"):
        if value.size == 0:
            return value, value
        v = value.copy()
        v.flat[rng.integers(v.size)] = np.nan if how == "nan" else np.inf * rng.choice([-1, 1])
        return v, v
    if how == "bool":
        return value > 0, None
    if how == "complex128":
        return value + 1j, None
    if how == "object":
        return value.astype(object), None
    if how == "text":
        return value.astype(str), None
    return value, value


def _keys(args):
    """Names of the array leaves of ``args``: ``"x"``, ``"params['W1']"``, ``"Ws[0]"``."""
    out = []
    for k, v in args.items():
        if isinstance(v, np.ndarray):
            out.append((k, None))
        elif isinstance(v, dict):
            out += [(k, j) for j, a in v.items() if isinstance(a, np.ndarray)]
        elif isinstance(v, list):
            out += [(k, j) for j, a in enumerate(v) if isinstance(a, np.ndarray)]
    return out


def _replace(args, key, value):
    k, j = key
    new = dict(args)
    if j is None:
        new[k] = value
    elif isinstance(args[k], dict):
        new[k] = args[k] | {j: value}
    else:
        new[k] = [value if i == j else a for i, a in enumerate(args[k])]
    return new


def _label(key):
    k, j = key
    return k if j is None else f"{k}[{j!r}]" if isinstance(j, str) else f"{k}[{j}]"


def outcome(call):
    """``("ok", result)`` or ``("refused", message)``; any other exception fails the test."""
    try:
        return "ok", call()
    except (ValueError, TypeError) as e:
        assert "argument '" in str(e) or "op '" in str(e), f"an error that names no argument: {e!r}"
        return "refused", str(e)


def check_case(case, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    args = case.draw(rng, data)
    clean_status, clean = outcome(lambda: case.call(**args))
    if clean_status == "ok" and case.truth is not None:                 # every example checks the reference
        assert_same(clean, case.truth(**args), 1e-7, "float64 against the reference")
    keys = [k for k in _keys(args) if not case.targets or k[0] in case.targets]
    key = data.draw(st.sampled_from(keys), label="argument")
    how = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    value = args[key[0]] if key[1] is None else args[key[0]][key[1]]
    bad, as64 = mutate(np.asarray(value, np.float64), how, rng)
    clean64 = _replace(args, key, as64) if as64 is not None else None
    name = case.error_name.get(key[0], _label(key))
    poisoned = how in ("nan", "inf") and np.asarray(value).size and key[0] not in case.nonfinite
    if as64 is None or poisoned or how in case.refuses.get(key[0], ()):   # must be refused, naming it
        status, got = outcome(lambda: case.call(**_replace(args, key, bad)))
        assert status == "refused", f"{how} {name} accepted: {got!r}"
        if clean_status == "ok":                                  # else another argument may be blamed first
            assert f"argument '{name}" in got, f"{how} in {name}, but the error blames something else: {got}"
        return
    status, want = outcome(lambda: case.call(**clean64))
    if status == "refused":                                       # the numbers themselves are out of range
        got_status, got = outcome(lambda: case.call(**_replace(args, key, bad)))
        assert got_status == "refused", f"{how} {name}: float64 refuses ({want}), {how} gives {got!r}"
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gc.PrecisionWarning)
        status, got = outcome(lambda: case.call(**_replace(args, key, bad)))
    if how in case.low_precision:
        return                                  # accepted or refused with a name; its figures are its own
    assert status == "ok", f"{how} {name} refused although float64 gives an answer: {got}"
    tol = case.precision.get(how, PRECISION.get(how, 1e-9))
    assert_same(got, want, tol, f"{how} {name}")
    if case.truth is not None:
        assert_same(want, case.truth(**clean64), 1e-7, "float64 against the reference")


# ---------------------------------------------------------------- the cases: problems and simple references

def dim(data, low=0, high=3):
    return data.draw(st.integers(low, high), label="size")


def normal(rng, *shape):
    return rng.uniform(-2, 2, shape)


def plus(problem, **more):
    """``problem`` with more arguments made from the drawn ones: ``plus(p, dout=lambda rng, a: ...)``."""
    def draw(rng, data):
        args = problem(rng, data)
        return args | {k: make(rng, args) for k, make in more.items()}
    return draw


def sigma(a):
    return 1 / (1 + np.exp(-a))


def softmax_truth(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def spd(rng, n):
    """A symmetric matrix with well-separated eigenvalues 3, 5, 7, … (Krylov methods converge fast)."""
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (q * (3.0 + 2.0 * np.arange(n))) @ q.T


def matrix(rng, data, square=False, low=0):
    m = dim(data, low)
    return {"W": normal(rng, m, m if square else dim(data, low))}


# graph ----------------------------------------------------------------------------------------------------

def unary(op, value, grad, positive=False):
    """An op on a variable: its value, and ∂Σ op(x)/∂x by backprop, against numpy."""
    def call(x):
        v = G.variable(x, "x")
        out = op(v)
        return out.value, G.backprop(G.reduce_sum(out), [v])[v]

    def draw(rng, data):
        x = normal(rng, dim(data), dim(data))
        return {"x": np.abs(x) + 0.5 if positive else x}
    return Case(draw, call, lambda x: (value(x), grad(x)))


def binary(op, value):
    def draw(rng, data):
        m, n = dim(data), dim(data)
        return {"x": normal(rng, m, n), "y": normal(rng, 1 if data.draw(st.booleans()) else m, n)}
    return Case(draw, lambda x, y: op(G.variable(x, "x"), G.variable(y, "y")).value, value)


def stacked(rows):
    """Two arrays with the same columns, ``rows`` rows each (the shape helpers' problems)."""
    def draw(rng, data):
        n = dim(data)
        return {k: normal(rng, m, n) for k, m in zip(("a", "x"), rows)}
    return draw


def product_problem(rng, data):
    m, n = dim(data), dim(data)
    return {"W": normal(rng, m, n), "x": normal(rng, n, 1), "upstream": normal(rng, m, 1)}


def fed_tanh(W, x):
    return G.forward(G.tanh(G.variable(np.zeros(np.shape(W)), "W") @ G.constant(x)), feed={"W": W})


# autodiff -------------------------------------------------------------------------------------------------

def chain_problem(rng, data):
    n = [dim(data, 1, 3) for _ in range(data.draw(st.integers(2, 3), label="layers"))]
    return {"x": normal(rng, n[0], 1), "Ws": [normal(rng, b, a) for a, b in zip(n, n[1:])]}


def chain_truth(x, Ws):
    """``h_L`` of the tanh chain and ∂h_L/∂(x, W_1 … W_L), the chain rule written out layer by layer."""
    hs = [x]
    for W in Ws:
        hs.append(np.tanh(W @ hs[-1]))
    J, blocks = np.eye(len(hs[-1])), []
    for l in range(len(Ws), 0, -1):
        D = J * (1 - hs[l].ravel() ** 2)                         # ∂h_L/∂a_l
        blocks.insert(0, np.einsum("ij,k->ijk", D, hs[l - 1].ravel()).reshape(D.shape[0], -1))
        J = D @ Ws[l - 1]
    return hs[-1], np.hstack([J] + blocks)


def chain_jacobian(method):
    def call(x, Ws):
        out, x_node, W_nodes = ad.tanh_chain_graph(x, Ws)
        return method(out, [x_node] + W_nodes).matrix
    return Case(chain_problem, call, lambda x, Ws: chain_truth(x, Ws)[1])


def chain_norms_truth(x, Ws):
    """Spectral norms of ``J_l ⋯ J_1`` and ``J_L ⋯ J_{L-l+1}`` with ``J_l = diag(1 - h_l²) W_l``."""
    hs, Js = [x], []
    for W in Ws:
        hs.append(np.tanh(W @ hs[-1]))
        Js.append(np.diag(1 - hs[-1] ** 2) @ W)
    product = lambda factors: np.linalg.multi_dot([np.eye(len(factors[0]))] * 2 + factors)
    return {"forward": np.array([np.linalg.norm(product(Js[l::-1]), 2) for l in range(len(Js))]),
            "reverse": np.array([np.linalg.norm(product(Js[::-1][:l + 1]), 2) for l in range(len(Js))])}


def chain_vector(rng, data):
    args = chain_problem(rng, data)
    return args | {"x": args["x"].ravel()}


def chain_matrices(rng, data):
    return {"matrices": chain_problem(rng, data)["Ws"][::-1], "order": data.draw(st.sampled_from(["left", "right"]))}


def chain_dims_truth(matrices, order=None):
    return [m.shape[0] for m in matrices] + [matrices[-1].shape[1], 1]


def ending_in_ones(matrices):
    return matrices + [np.ones((matrices[-1].shape[1], 1))]


def pick(result):
    """The eigenvalue(s) of a Krylov result: ``Eigen.value``, or lanczos's Ritz values."""
    return result.value if isinstance(result, ad.Eigen) else result[0]


def matvec_case(method, truth, **kw):
    def draw(rng, data):
        n = dim(data, 1, 4)
        return {"A": spd(rng, n), "v0": normal(rng, n)}
    return Case(draw, lambda A, v0: pick(method(lambda v: A @ v, len(v0), v0=v0, **kw)), truth, targets=("v0",),
                precision={"float16": 1e-6, "float32": 1e-6})       # v0 only starts the iteration


def jvp_graph(x, Ws, xdot):
    out, x_node, _ = ad.tanh_chain_graph(x, Ws)
    return out, {x_node: xdot}


def jvp_case(call, truth=None, **kw):
    truth = truth or (lambda x, Ws, xdot: chain_truth(x, Ws)[1][:, :len(x)] @ xdot)
    return Case(plus(chain_problem, xdot=lambda rng, a: normal(rng, *a["x"].shape)),
                lambda x, Ws, xdot: call(*jvp_graph(x, Ws, xdot)), truth, targets=("xdot",),
                error_name={"xdot": "tangents[x]"}, **kw)


def rnn_graph_problem(rng, data):
    n, T = dim(data, 1), dim(data)
    return {"W_hh": normal(rng, n, n), "u": normal(rng, T, n, 1), "h0": normal(rng, n, 1), "c": normal(rng, n, 1)}


def rnn_graph_truth(W_hh, u, h0, c):
    h = h0
    for u_t in u:
        h = np.tanh(W_hh @ h + u_t)
    return np.sum(c * h)


def hvp_problem(rng, data):
    P = mlp.init_params([2, dim(data, 1, 2), 2], rng)
    B = dim(data, 1, 3)
    return {"params": P, "x": normal(rng, 2, B), "y": rng.integers(0, 2, B),
            "v": normal(rng, sum(a.size for a in P.values()))}


def hvp_of(params, x, y, mode="reverse-over-reverse"):
    J, variables = ad.mlp_loss_graph(params, x, y)
    return ad.HVP(J, variables, mode)


def hvp_truth(params, x, y, v):
    """``H v`` by central differences of mlp.loss_and_grads's gradient (tanh): a separate code path."""
    keys = list(params)

    def grad(theta):
        P, start = {}, 0
        for k in keys:
            P[k] = theta[start:start + params[k].size].reshape(params[k].shape)
            start += params[k].size
        g = mlp.loss_and_grads(P, x, y, activation="tanh")[1]
        return np.concatenate([g[k].ravel() for k in keys])
    theta = np.concatenate([params[k].ravel() for k in keys])
    return (grad(theta + 1e-5 * v) - grad(theta - 1e-5 * v)) / 2e-5


# mlp, rnn, lstm -------------------------------------------------------------------------------------------

def mlp_problem(rng, data, B_low=0, n_out=None):
    sizes = [dim(data, 1, 3), dim(data, 1, 3), n_out or dim(data, 2, 3)]
    return {"params": mlp.init_params(sizes, rng), "x": normal(rng, sizes[0], dim(data, B_low, 3))}


def mlp_labelled(rng, data):
    args = mlp_problem(rng, data, B_low=1, n_out=2)
    return args | {"y": rng.integers(0, 2, args["x"].shape[1])}


def mlp_logits(params, x):
    h, l = x, mlp.n_layers(params)
    for k in range(1, l + 1):
        a = params[f"W{k}"] @ h + params[f"b{k}"]
        h = np.maximum(a, 0) if k < l else a
    return h


def outputs_like_logits(rng, args):
    return normal(rng, args["params"]["W2"].shape[0], args["x"].shape[1])


def layer_problem(rng, data):
    m, n, B = dim(data, 1), dim(data, 1), dim(data)
    return {"W": normal(rng, m, n), "b": normal(rng, m, 1), "h_prev": normal(rng, n, B), "dout": normal(rng, m, B)}


def dense_backward_truth(W, b, h_prev, dout):
    da = dout * (1 - np.tanh(W @ h_prev + b) ** 2)
    return W.T @ da, da @ h_prev.T, da.sum(axis=1, keepdims=True)


def sequence(model, readout=True):
    """Parameters (with the output layer ``W_hz``, ``b_z`` only where the call uses it) and inputs ``x``."""
    def draw(rng, data):
        n_x, n_h, T, B = (dim(data, 1, 3) for _ in range(4))
        return {"params": model.init_params(n_x, n_h, rng, n_z=2 if readout else None), "x": normal(rng, T, n_x, B)}
    return draw


def states_like(states):
    return lambda rng, a: normal(rng, *states(a["params"], a["x"]).shape)


def regression_targets(rng, args):
    return normal(rng, 2, args["x"].shape[-1])


def rnn_states(params, x):
    h, hs = np.zeros((params["W_hh"].shape[0], x.shape[2])), []
    for x_t in x:
        h = np.tanh(params["W_hh"] @ h + params["W_xh"] @ x_t + params["b_h"])
        hs.append(h)
    return np.array(hs)


def rnn_step_problem(rng, data):
    n, m, B = dim(data, 1, 3), dim(data, 1, 3), dim(data, 1, 3)
    P = rnn.init_params(n, m, rng)
    return {"params": P, "x_t": normal(rng, n, B), "h_prev": normal(rng, m, B)}


def rnn_step_truth(params, x_t, h_prev):
    return np.tanh(params["W_hh"] @ h_prev + params["W_xh"] @ x_t + params["b_h"])


def linear_problem(rng, data):
    n, m, T, B = (dim(data, 1) for _ in range(4))
    return {"params": rnn.init_linear_params(n, m, rng, n_q=2), "x": normal(rng, T, n, B)}


def linear_outputs(params, x):
    """``o_t = W_qh Σ_{s≤t} W_hh^{t-s} W_hx x_s``: the linear RNN unrolled (seed 001)."""
    P = np.linalg.matrix_power
    return np.array([params["W_qh"] @ sum(P(params["W_hh"], t - s) @ params["W_hx"] @ x[s] for s in range(t + 1))
                     for t in range(len(x))])


def lstm_step(params, x_t, h_prev, C_prev):
    v = np.vstack([h_prev, x_t])
    gate = {g: params[f"W_{g}"] @ v + params[f"b_{g}"] for g in "fico"}
    C = sigma(gate["f"]) * C_prev + sigma(gate["i"]) * np.tanh(gate["c"])
    return sigma(gate["o"]) * np.tanh(C), C


def lstm_states(params, x):
    p, B = params["W_f"].shape[0], x.shape[2]
    h, C, hs = np.zeros((p, B)), np.zeros((p, B)), []
    for x_t in x:
        h, C = lstm_step(params, x_t, h, C)
        hs.append(h)
    return np.array(hs)


def lstm_step_problem(rng, data):
    n, p, B = dim(data, 1, 3), dim(data, 1, 3), dim(data, 1, 3)
    return {"params": lstm.init_params(n, p, rng), "x_t": normal(rng, n, B), "h_prev": normal(rng, p, B),
            "C_prev": normal(rng, p, B)}


def predicted(states):
    return lambda params, x: softmax_truth(params["W_hz"] @ states(params, x) + params["b_z"], 1)


# optim, gradcheck, diagnostics ----------------------------------------------------------------------------

def two_grads(rng, data):
    return {"grads": {k: normal(rng, dim(data), dim(data)) for k in "ab"}}


def norm_truth(grads):
    return np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))


def clip_truth(grads):
    n = norm_truth(grads)
    return {k: g * min(1.0, 1.0 / n) if n else g for k, g in grads.items()}, n


def step_problem(rng, data):
    n = dim(data)
    return {"params": {"w": normal(rng, n), "b": normal(rng, 1)}, "grads": {"w": normal(rng, n), "b": normal(rng, 1)}}


def newton_problem(rng, data):
    n = dim(data)
    return {"x": normal(rng, n), "g": normal(rng, n), "H": spd(rng, n)}


def descent_problem(rng, data):
    n = dim(data)
    return {"x0": normal(rng, n), "A": spd(rng, n) / 10}


def descent_truth(x0, A):
    M = np.eye(len(x0)) - 0.1 * A
    return np.array([np.linalg.matrix_power(M, t) @ x0 for t in range(4)]).reshape(4, len(x0))


def train_problem(rng, data):
    args = mlp_problem(rng, data, B_low=1)
    return args | {"y": rng.integers(0, args["params"]["W2"].shape[0], args["x"].shape[1])}


def trained(params, x, y):
    return optim.train(mlp.loss_and_grads, params, x, y, lr=0.1, epochs=2, batch_size=2,
                       rng=np.random.default_rng(1))[0]


def gc_problem(rng, data):
    a = normal(rng, dim(data, 1, 3), dim(data, 1, 2))
    return {"params": {"a": a}, "grads": {"a": 2.0 * np.cos(a)}}


def f_sin(q):
    return 2.0 * float(np.sum(np.sin(q["a"])))


def gc_ok(params, grads):
    """A right gradient passes and a wrong or NaN one fails: a FAIL row is the right answer, not a refusal."""
    return float(np.allclose(grads["a"], 2 * np.cos(params["a"]), rtol=1e-9, atol=1e-10))


def tanh_vjp(params, grads):
    return gc.check_vjp(lambda p: (np.tanh(p["a"]), p["a"]), lambda d, c: {"a": d * (1 - np.tanh(c) ** 2)},
                        params, np.random.default_rng(0))


def singular_values_truth(W):
    gram = W.T @ W if W.shape[1] <= W.shape[0] else W @ W.T
    return np.sqrt(np.clip(np.sort(np.linalg.eigvalsh(gram))[::-1], 0, None))


def lag_problem(rng, data):
    return {"dE_dh": normal(rng, dim(data), dim(data), dim(data))}


def lag_truth(dE_dh):
    return np.arange(len(dE_dh)), np.sqrt(np.sum(dE_dh ** 2, axis=(1, 2)))[::-1]


def rnn_jacobian_problem(rng, data):
    n = dim(data)
    return {"h": normal(rng, dim(data), n, dim(data, 1)), "W_hh": normal(rng, n, n)}


def rnn_jacobian_truth(h, W_hh):
    return np.array([np.diag(1 - h_t[:, 0] ** 2) @ W_hh for h_t in h]).reshape(len(h), *W_hh.shape)


def jacobians_problem(rng, data):
    n = dim(data)
    return {"jacobians": normal(rng, dim(data), n, n)}


def product_norms_truth(jacobians):
    T, n = len(jacobians), jacobians.shape[1]
    def norm(l):            # ∂h_T/∂h_{T-l} = J_T J_{T-1} … J_{T-l+1}: the latest step on the left
        return np.linalg.norm(np.linalg.multi_dot([np.eye(n)] * 2 + list(jacobians[T - l:][::-1])), 2) if n else 0.0
    return np.arange(T + 1), np.array([norm(l) for l in range(T + 1)])


def bound_problem(rng, data):
    return matrix(rng, data, square=True, low=1) | {"lags": np.arange(dim(data)) * 1.0}


POISON = {
    # graph: leaves, the ops on variables (value, and backprop through each), forward, backprop, build_grad
    "graph.variable": Case(lambda rng, data: {"value": normal(rng, dim(data), dim(data))},
                           lambda value: G.variable(value).value, lambda value: value),
    "graph.constant": Case(lambda rng, data: {"x": normal(rng, dim(data), dim(data))},
                           lambda x: G.constant(x).value, lambda x: x, error_name={"x": "constant"}),
    "graph.exp": unary(G.exp, np.exp, np.exp),
    "graph.log": unary(G.log, np.log, lambda x: 1 / x, positive=True),
    "graph.tanh": unary(G.tanh, np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "graph.sigmoid": unary(G.sigmoid, sigma, lambda x: sigma(x) * (1 - sigma(x))),
    "graph.relu": unary(G.relu, lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0),
    "graph.step": unary(G.step, lambda x: (x > 0) * 1.0, np.zeros_like),
    "graph.ones_like": unary(G.ones_like, np.ones_like, np.zeros_like),
    "graph.zeros_like": unary(G.zeros_like, np.zeros_like, np.zeros_like),
    "graph.reduce_sum": unary(G.reduce_sum, np.sum, np.ones_like),
    "graph.mul": binary(G.mul, lambda x, y: x * y),
    "graph.maximum": binary(G.maximum, lambda x, y: np.maximum(x, y)),
    "graph.ge": binary(G.ge, lambda x, y: (x >= y) * 1.0),
    "graph.power": Case(lambda rng, data: {"x": np.abs(normal(rng, dim(data), dim(data))) + 0.5,
                                           "p": normal(rng, 1, 1)},
                        lambda x, p: G.power(G.variable(x, "x"), G.variable(p, "p")).value, lambda x, p: x ** p),
    "graph.sum_like": Case(stacked((3, 1)), lambda a, x: G.sum_like(G.variable(a, "a"), G.variable(x, "x")).value,
                           lambda a, x: a.sum(axis=0, keepdims=True)),
    "graph.broadcast_like": Case(stacked((1, 2)),
                                 lambda a, x: G.broadcast_like(G.variable(a, "a"), G.variable(x, "x")).value,
                                 lambda a, x: np.vstack([a, a])),
    "graph.forward": Case(lambda rng, data: (lambda W: {"W": W, "x": normal(rng, W.shape[1], 1)})(
                              normal(rng, 2, dim(data))),
                          fed_tanh, lambda W, x: np.tanh(W @ x), error_name={"W": "feed['W']", "x": "constant"}),
    "graph.backprop": Case(product_problem, lambda W, x, upstream: G.backprop(
                               G.variable(W, "W") @ G.constant(x), G=upstream)["W"],
                           lambda W, x, upstream: upstream @ x.T, targets=("upstream",), error_name={"upstream": "G"}),
    "graph.build_grad": Case(product_problem, lambda W, x, upstream: G.build_grad(
                                 G.variable(W, "W") @ G.constant(x), G=upstream)["W"],
                             lambda W, x, upstream: upstream @ x.T, targets=("upstream",),
                             error_name={"upstream": "G"}),
    # autodiff: the matrix chain, Krylov methods, the tanh chain, JVPs, Jacobians, graphs, HVPs
    "autodiff.chain_dims": Case(chain_matrices, lambda matrices, order: ad.chain_dims(ending_in_ones(matrices)),
                                chain_dims_truth),
    "autodiff.chain_multiply": Case(chain_matrices,
                                    lambda matrices, order: ad.chain_multiply(ending_in_ones(matrices), order),
                                    lambda matrices, order: (np.linalg.multi_dot(ending_in_ones(matrices)),
                                                             ad.chain_cost(chain_dims_truth(matrices), order))),
    "autodiff.power_iteration": matvec_case(ad.power_iteration, lambda A, v0: np.max(np.linalg.eigvalsh(A)),
                                            max_iter=20000),
    "autodiff.lanczos": matvec_case(ad.lanczos, lambda A, v0: np.linalg.eigvalsh(A)),
    "autodiff.lanczos_top": matvec_case(ad.lanczos_top, lambda A, v0: np.max(np.linalg.eigvalsh(A))),
    "autodiff.tanh_chain_jacobian_norms": Case(chain_vector, ad.tanh_chain_jacobian_norms, chain_norms_truth),
    "autodiff.tanh_chain_graph": Case(chain_problem, lambda x, Ws: ad.tanh_chain_graph(x, Ws)[0].value,
                                      lambda x, Ws: chain_truth(x, Ws)[0]),
    "autodiff.jacobian_forward": chain_jacobian(ad.jacobian_forward),
    "autodiff.jacobian_reverse": chain_jacobian(ad.jacobian_reverse),
    "autodiff.jvp": jvp_case(ad.jvp),
    "autodiff.finite_difference_jvp": jvp_case(ad.finite_difference_jvp, precision={"float16": 1e-6, "float32": 1e-6}),
    "autodiff.check_jvp": jvp_case(ad.check_jvp, lambda x, Ws, xdot: 1.0),
    "autodiff.rnn_loss_graph": Case(rnn_graph_problem,
                                    lambda W_hh, u, h0, c: ad.rnn_loss_graph(W_hh, u, h0, c)[0].value, rnn_graph_truth),
    "autodiff.mlp_loss_graph": Case(mlp_labelled, lambda params, x, y: ad.mlp_loss_graph(params, x, y)[0].value,
                                    lambda params, x, y: mlp.loss_and_grads(params, x, y, activation="tanh")[0],
                                    targets=("params", "x")),
    "autodiff.HVP": Case(hvp_problem, lambda params, x, y, v: hvp_of(params, x, y)(v), hvp_truth),
    "autodiff.hessian": Case(hvp_problem, lambda params, x, y, v: ad.hessian(hvp_of(params, x, y)) @ v, hvp_truth,
                             targets=("params", "x")),
    "autodiff.finite_difference_hvp": Case(hvp_problem, lambda params, x, y, v: ad.finite_difference_hvp(
                                               hvp_of(params, x, y, "forward-over-reverse"), v), hvp_truth),
    "autodiff.check_hvp": Case(hvp_problem, lambda params, x, y, v: ad.check_hvp(hvp_of(params, x, y), v),
                               lambda params, x, y, v: 1.0),
    # diagnostics
    "diagnostics.singular_values": Case(matrix, D.singular_values, singular_values_truth),
    "diagnostics.spectral_radius": Case(lambda rng, data: matrix(rng, data, square=True, low=1), D.spectral_radius,
                                        lambda W: np.max(np.abs(np.linalg.eigvals(W)))),
    "diagnostics.set_spectral_radius": Case(lambda rng, data: matrix(rng, data, square=True, low=1),
                                            lambda W: D.spectral_radius(D.set_spectral_radius(W, 0.5)), lambda W: 0.5),
    "diagnostics.set_sigma_max": Case(lambda rng, data: matrix(rng, data, low=1),
                                      lambda W: D.singular_values(D.set_sigma_max(W, 2.0))[0], lambda W: 2.0),
    "diagnostics.norms_against_lag": Case(lag_problem, D.norms_against_lag, lag_truth, nonfinite=("dE_dh",)),
    "diagnostics.tanh_rnn_jacobians": Case(rnn_jacobian_problem, D.tanh_rnn_jacobians, rnn_jacobian_truth),
    "diagnostics.jacobian_product_norms": Case(jacobians_problem, D.jacobian_product_norms, product_norms_truth),
    "diagnostics.pascanu_bound": Case(bound_problem, lambda W, lags: D.pascanu_bound(W, lags, gamma=0.5),
                                      lambda W, lags: (0.5 * np.linalg.norm(W, 2)) ** lags, error_name={"W": "W_hh"}),
    # optim
    "optim.global_norm": Case(two_grads, optim.global_norm, norm_truth, nonfinite=("grads",)),
    "optim.clip_by_global_norm": Case(two_grads, lambda grads: optim.clip_by_global_norm(grads, 1.0), clip_truth),
    "optim.sgd_step": Case(step_problem, lambda params, grads: optim.sgd_step(params, grads, 0.1),
                           lambda params, grads: {k: params[k] - 0.1 * grads[k] for k in params}),
    "optim.newton_step": Case(newton_problem, optim.newton_step,
                              lambda x, g, H: x - np.linalg.inv(H) @ g if len(x) else x, precision={"float16": 1e-1}),
    "optim.gradient_descent": Case(descent_problem, lambda x0, A: optim.gradient_descent(lambda x: A @ x, x0, 0.1, 3),
                                   descent_truth, targets=("x0",)),
    "optim.train": Case(train_problem, trained, targets=("params", "x"), error_name={"x": "X"},
                        precision={"float16": 0.1}),
    # gradcheck: a right gradient passes, a wrong or NaN one fails, a bad parameter is refused
    "gradcheck.numerical_gradient": Case(gc_problem, lambda params, grads: gc.numerical_gradient(f_sin, params)[0],
                                         lambda params, grads: {"a": 2 * np.cos(params["a"])}, targets=("params",),
                                         low_precision=("float32",)),
    "gradcheck.check_gradients": Case(gc_problem, lambda params, grads: gc.check_gradients(f_sin, params, grads),
                                      gc_ok, nonfinite=("grads",), low_precision=("float32",)),
    "gradcheck.compare": Case(gc_problem, lambda params, grads: gc.compare(grads, {"a": 2 * np.cos(params["a"])}),
                              gc_ok, targets=("grads",), nonfinite=("grads",), error_name={"grads": "analytic['a']"},
                              low_precision=("float16", "float32")),
    "gradcheck.check_vjp": Case(gc_problem, tanh_vjp, lambda params, grads: 1.0, targets=("params",),
                                low_precision=("float32",)),
    # mlp
    "mlp.dense_forward": Case(layer_problem, lambda W, b, h_prev, dout: mlp.dense_forward(W, b, h_prev, "tanh")[0],
                              lambda W, b, h_prev, dout: np.tanh(W @ h_prev + b), targets=("W", "b", "h_prev")),
    "mlp.dense_backward": Case(layer_problem, lambda W, b, h_prev, dout: mlp.dense_backward(
                                   dout, mlp.dense_forward(W, b, h_prev, "tanh")[1]),
                               dense_backward_truth, targets=("dout",)),
    "mlp.forward": Case(mlp_problem, lambda params, x: mlp.forward(params, x)[0], mlp_logits),
    "mlp.backward": Case(plus(lambda rng, data: mlp_problem(rng, data, 1), dout=outputs_like_logits),
                         lambda params, x, dout: mlp.backward(dout, mlp.forward(params, x)[1]), targets=("dout",)),
    "mlp.predict": Case(mlp_problem, mlp.predict, lambda params, x: np.argmax(mlp_logits(params, x), axis=0)),
    "mlp.accuracy": Case(plus(mlp_problem, labels=lambda rng, a: rng.integers(0, 2, a["x"].shape[1])),
                         lambda params, x, labels: mlp.accuracy(params, x, labels),
                         lambda params, x, labels: np.mean(np.argmax(mlp_logits(params, x), axis=0) == labels),
                         targets=("params", "x")),
    "mlp.loss_and_grads": Case(plus(mlp_problem, y=outputs_like_logits),
                               lambda params, x, y: mlp.loss_and_grads(params, x, y, loss="squared_error"),
                               targets=("x", "y")),
    "mlp.l2_penalty": Case(lambda rng, data: {"params": mlp.init_params([2, dim(data, 1), 2], rng, bias=False)},
                           lambda params: mlp.l2_penalty(params, 0.1),
                           lambda params: 0.1 * sum(np.sum(W ** 2) for W in params.values())),
    # rnn
    "rnn.step_forward": Case(rnn_step_problem, lambda params, x_t, h_prev: rnn.step_forward(params, x_t, h_prev)[0],
                             rnn_step_truth),
    "rnn.step_backward": Case(plus(rnn_step_problem, dout=lambda rng, a: normal(rng, *a["h_prev"].shape)),
                              lambda params, x_t, h_prev, dout: rnn.step_backward(
                                  dout, rnn.step_forward(params, x_t, h_prev)[1]), targets=("dout",)),
    "rnn.forward": Case(sequence(rnn, readout=False), lambda params, x: rnn.forward(params, x)[0], rnn_states),
    "rnn.backward": Case(plus(sequence(rnn, readout=False), dout=states_like(rnn_states)),
                         lambda params, x, dout: rnn.backward(dout, rnn.forward(params, x)[1]), targets=("dout",)),
    "rnn.predict": Case(sequence(rnn), rnn.predict, predicted(rnn_states)),
    "rnn.loss_and_grads": Case(plus(sequence(rnn), y=regression_targets),
                               lambda params, x, y: rnn.loss_and_grads(params, x, y, loss="squared_error"),
                               targets=("x", "y")),
    "rnn.linear_forward": Case(linear_problem, lambda params, x: rnn.linear_forward(params, x)[0], linear_outputs),
    "rnn.linear_backward": Case(plus(linear_problem, dout=lambda rng, a: normal(rng, *linear_outputs(**a).shape)),
                                lambda params, x, dout: rnn.linear_backward(dout, rnn.linear_forward(params, x)[1]),
                                targets=("dout",)),
    # lstm
    "lstm.step_forward": Case(lstm_step_problem, lambda params, x_t, h_prev, C_prev: lstm.step_forward(
                                  params, x_t, h_prev, C_prev)[0], lstm_step),
    "lstm.step_backward": Case(plus(lstm_step_problem, dout=lambda rng, a: [normal(rng, *a["h_prev"].shape)] * 2),
                               lambda params, x_t, h_prev, C_prev, dout: lstm.step_backward(
                                   dout, lstm.step_forward(params, x_t, h_prev, C_prev)[1]), targets=("dout",)),
    "lstm.forward": Case(sequence(lstm, readout=False), lambda params, x: lstm.forward(params, x)[0], lstm_states),
    "lstm.backward": Case(plus(sequence(lstm, readout=False), dout=states_like(lstm_states)),
                          lambda params, x, dout: lstm.backward(dout, lstm.forward(params, x)[1]), targets=("dout",)),
    "lstm.predict": Case(sequence(lstm), lstm.predict, predicted(lstm_states)),
    "lstm.loss_and_grads": Case(plus(sequence(lstm), y=regression_targets),
                                lambda params, x, y: lstm.loss_and_grads(params, x, y, loss="squared_error"),
                                targets=("x", "y")),
}
POISON |= {
    # the Node operators a lesson writes (+ - * / ** @, unary -, .T) and what HVP and the truncation modes take
    "graph.Node": Case(lambda rng, data: (lambda m, n: {"x": normal(rng, m, n), "y": normal(rng, m, n) + 5.0,
                                                        "W": normal(rng, dim(data), m)})(dim(data), dim(data)),
                       lambda x, y, W: (lambda a, b, M: [(a + b).value, (a - b).value, (a / b).value, (-a).value,
                                                         (M @ a).value, a.T.value, (2.0 * a).value])(
                           G.variable(x, "x"), G.variable(y, "y"), G.variable(W, "W")),
                       lambda x, y, W: [x + y, x - y, x / y, -x, W @ x, x.T, 2.0 * x]),
    "autodiff.HVP.gradient": Case(hvp_problem, lambda params, x, y, v: hvp_of(params, x, y).gradient(),
                                  lambda params, x, y, v: np.concatenate([g.ravel() for g in mlp.loss_and_grads(
                                      params, x, y, activation="tanh")[1].values()]), targets=("params", "x")),
    "rnn.backward(xi)": Case(plus(sequence(rnn, readout=False), dout=states_like(rnn_states),
                                  xi=lambda rng, a: np.abs(normal(rng, a["x"].shape[0]))),
                             lambda params, x, dout, xi: rnn.backward(dout, rnn.forward(params, x)[1],
                                                                      mode="randomized", xi=xi), targets=("xi",)),
    "lstm.backward(xi)": Case(plus(sequence(lstm, readout=False), dout=states_like(lstm_states),
                                   xi=lambda rng, a: np.abs(normal(rng, a["x"].shape[0]))),
                              lambda params, x, dout, xi: lstm.backward(dout, lstm.forward(params, x)[1],
                                                                        mode="randomized", xi=xi), targets=("xi",)),
}
POISON |= {  # public functions the lessons do not call directly, covered all the same
    "autodiff.vjp": Case(plus(product_problem, x=lambda rng, a: a["x"]),
                         lambda W, x, upstream: (lambda out, w: ad.vjp(out, upstream, [w]))(
                             *(lambda w: (w @ G.constant(x), w))(G.variable(W, "W"))),
                         lambda W, x, upstream: [upstream @ x.T], targets=("upstream",),
                         error_name={"upstream": "cotangent"}),
    "rnn.output_forward": Case(plus(rnn_step_problem, params=lambda rng, a: {  # the output layer only
                                   k: v for k, v in rnn.init_params(1, a["h_prev"].shape[0], rng, n_z=2).items()
                                   if k in rnn.OUTPUT_KEYS}),
                               lambda params, x_t, h_prev: rnn.output_forward(params, h_prev)[0],
                               lambda params, x_t, h_prev: params["W_hz"] @ h_prev + params["b_z"],
                               targets=("params", "h_prev"), error_name={"h_prev": "h_t"}),
}
TRAINABLE = ("int64", "float16")      # parameters refuse these by design (validate.check_parameter)
for _name, _case in POISON.items():
    if _name.split(".")[0] in ("mlp", "rnn", "lstm") or _name == "optim.train":
        _case.refuses = {"params": TRAINABLE, "W": TRAINABLE, "b": TRAINABLE}
    if _name.startswith("gradcheck.") and _name != "gradcheck.compare":
        _case.refuses = {"params": ("float16",)}       # a finite-difference step vanishes in float16


@pytest.mark.parametrize("name", POISON)
@settings(derandomize=True, max_examples=POISON_EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_one_argument_poisoned(name, data):
    check_case(POISON[name], data)



# ---------------------------------------------------------------- more settings, callbacks, labels

RNG0 = np.random.default_rng
MORE_SETTINGS = [  # (call with one setting v, its name, values that must be refused)
    (lambda v: ad.chain_cost(v, "left"), "dims", [(3, 4), (3, 0, 2), (3, -1, 2), (3, 2.5, 2), (3, True, 2)]),
    (lambda v: ad.chain_cost((2, 3, 4), v), "order", ["up", None, 1]),
    (lambda v: ad.chain_multiply([np.ones((2, 2))] * 2, v), "order", ["up", None]),
    (lambda v: ad.chain_jacobian_cost(v), "widths", [[3], [3, 0], [3, 1.5], [3, -2]]),
    (lambda v: ad.rnn_gradient_cost(v, 3), "n", [0, -1, 1.5, np.nan]),
    (lambda v: ad.rnn_gradient_cost(3, v), "T", [0, 2.5]),
    (lambda v: ad.tanh_chain_weights(v, 3, 1.0, RNG0(0)), "depth", [0, -1, 2.5]),
    (lambda v: ad.tanh_chain_weights(3, v, 1.0, RNG0(0)), "width", [0, 1.5]),
    (lambda v: ad.tanh_chain_weights(3, 3, v, RNG0(0)), "gain", [0.0, -1.0, np.inf, np.nan]),
    (lambda v: ad.tanh_chain_weights(3, 3, 1.0, v), "rng", [None, 0]),
    (lambda v: ad.lanczos(lambda u: u, 3, v, v0=np.ones(3)), "k", [0, 4, 1.5]),
    (lambda v: ad.lanczos_top(lambda u: u, 3, v0=np.ones(3), max_steps=v), "max_steps", [0, 1.5]),
    (lambda v: ad.power_iteration(lambda u: u, 3, v0=np.ones(3), tol=v), "tol", [-1.0, np.nan]),
    (lambda v: ad.power_iteration(lambda u: u, v, v0=np.ones(3)), "n", [0, 2.5]),
    (lambda v: ad.power_iteration(lambda u: u, 3, v0=v), "v0", [np.zeros(3), np.ones(4), np.ones((3, 1))]),
    (lambda v: ad.HVP(G.reduce_sum(G.variable(np.ones(2), "w") ** 2.0), [], v), "mode", ["sideways", None]),
    (lambda v: ad.mlp_loss_graph(mlp.init_params([2, 2], RNG0(0)), np.ones((2, 1)), [0], activation=v),
     "activation", ["softplus", None]),
    (lambda v: ad.mlp_loss_graph(mlp.init_params([2, 2], RNG0(0)), np.ones((2, 1)), [0], weight_decay=v),
     "weight_decay", [-0.1, np.nan]),
    (lambda v: D.random_orthogonal(v, RNG0(0)), "n", [0, -1, 2.5]),
    (lambda v: D.random_orthogonal(3, v), "rng", [None, 3]),
    (lambda v: D.set_sigma_max(np.eye(2), v), "sigma", [0, -1.0, np.nan]),
    (lambda v: D.norms_against_lag(np.ones((3, 2, 2)), batch_index=v), "batch_index", [-1, 2, 0.5]),
    (lambda v: D.tanh_rnn_jacobians(np.ones((3, 2, 2)) * 0.1, np.eye(2), batch_index=v), "batch_index", [2, -1]),
    (lambda v: D.pascanu_bound(np.eye(2), [1, 2], gamma=v), "gamma", [0, -1.0, np.inf]),
    (lambda v: optim.clip_by_global_norm({"a": np.ones(2)}, v), "max_norm", [0, -1.0, np.nan, "1"]),
    (lambda v: optim.gradient_descent(lambda x: x, np.ones(2), v, 3), "lr", [0, -0.1, np.inf]),
    (lambda v: optim.gradient_descent(lambda x: x, np.ones(2), 0.1, v), "n_steps", [-1, 2.5]),
    (lambda v: optim.sgd_step(v, {"w": np.ones(2)}, 0.1), "params", [None, [1.0]]),
    (lambda v: optim.sgd_step({"w": np.ones(2)}, v, 0.1), "grads", [{}, {"v": np.ones(2)}, {"w": np.ones(3)}]),
    (lambda v: optim.newton_step(np.ones(2), np.ones(2), v), "H", [np.zeros((2, 2)), np.ones((2, 3)), np.ones(2)]),
    (lambda v: list(optim.minibatches(5, v, RNG0(0))), "batch_size", [0, 1.5]),
    (lambda v: optim.train(mlp.loss_and_grads, mlp.init_params([2, 2], RNG0(0)), np.ones((2, 4)), [0, 1, 0, 1],
                           lr=0.1, epochs=1, batch_size=2, rng=RNG0(0), print_every=v), "print_every", [-1, 0.5]),
    (lambda v: optim.train(v, mlp.init_params([2, 2], RNG0(0)), np.ones((2, 4)), [0, 1, 0, 1], lr=0.1, epochs=1,
                           batch_size=2, rng=RNG0(0)), "loss_and_grads", [None, 3]),
    (lambda v: optim.train(mlp.loss_and_grads, mlp.init_params([2, 2], RNG0(0)), np.ones((2, 4)), v, lr=0.1,
                           epochs=1, batch_size=2, rng=RNG0(0)), "y", [[0, 1], np.zeros((4, 1), int)]),
    (lambda v: gc.numerical_gradient(lambda q: 0.0, {"a": np.ones(2)}, step=v), "step", [0, -1.0, np.nan]),
    (lambda v: gc.numerical_gradient(v, {"a": np.ones(2)}), "f", [None, 1.0]),
    (lambda v: gc.compare({"a": np.ones(2)}, {"a": np.ones(2)}, threshold=v), "threshold", [0, -1e-8, np.nan]),
    (lambda v: gc.compare({"a": np.ones(2)}, {"a": np.ones(2)}, floor_rel=v), "floor_rel", [0, -1.0]),
    (lambda v: gc.compare(v, {"a": np.ones(2)}), "analytic", [None, [1.0]]),
    (lambda v: gc.check_vjp(lambda p: (p["a"], None), lambda d, c: {"a": d}, v, RNG0(0)), "params",
     [{}, None, {"a": [True]}]),
    (lambda v: data.spirals(RNG0(0), v), "n_per_class", [0, 2.5]),
    (lambda v: data.spirals(RNG0(0), 5, v), "n_classes", [1, 0, 2.5]),
    (lambda v: data.spirals(RNG0(0), noise=v), "noise", [-0.1, np.nan]),
    (lambda v: data.spirals(RNG0(0), turns=v), "turns", [0, -1.0, np.inf]),
    (lambda v: data.noisy_regression(RNG0(0), v), "n", [0, 1.5]),
    (lambda v: data.noisy_regression(RNG0(0), noise=v), "noise", [-1.0, np.inf]),
    (lambda v: data.noisy_regression(RNG0(0), low=v, high=1.0), "low", [1.0, 2.0, np.nan]),
    (lambda v: data.adding_problem(4, v, RNG0(0)), "T", [1, 0, 2.5]),
    (lambda v: data.adding_problem(4, 5, v), "rng", [None, 0]),
    (lambda v: data.delayed_recall(4, 3, RNG0(0), n_symbols=v), "n_symbols", [1, 2.5]),
    (lambda v: data.delayed_recall(4, 3, RNG0(0), amplitude=v), "amplitude", [0, -1.0, np.inf]),
    (lambda v: mlp.init_params(v, RNG0(0)), "sizes", [[3], "23", 5]),
    (lambda v: mlp.init_params([2, v], RNG0(0)), "sizes[1]", [0, 1.5]),
    (lambda v: mlp.init_params([2, 3], RNG0(0), scale=v), "scale", ["lecun", None]),
    (lambda v: mlp.l2_penalty(mlp.init_params([2, 3], RNG0(0)), v), "weight_decay", [-1.0, np.nan]),
    (lambda v: mlp.forward(v, np.ones((2, 1))), "params", [{}, {"W2": np.ones((2, 2))}, None]),
    (lambda v: mlp.forward(mlp.init_params([2, 3, 2], RNG0(0)), np.ones((2, 1)), v), "activation", ["swish", 3]),
    (lambda v: mlp.forward(mlp.init_params([2, 2], RNG0(0)), np.ones((2, 1)), output=v), "output", ["swish", None]),
    (lambda v: mlp.backward(np.ones((2, 1)), mlp.forward(mlp.init_params([2, 2], RNG0(0)), np.ones((2, 1)))[1],
                            weight_decay=v), "weight_decay", [-1.0]),
    (lambda v: rnn.init_params(2, 3, RNG0(0), n_z=v), "n_z", [0, 1.5]),
    (lambda v: rnn.init_params(2, 3, RNG0(0), spectral_radius=v), "rho", [0, -1.0]),
    (lambda v: rnn.init_linear_params(2, 3, RNG0(0), n_q=v), "n_q", [0, 2.5]),
    (lambda v: rnn.init_linear_params(2, 3, RNG0(0), n_q=2, dtype=v), "dtype", [int, "float16", "f8x"]),
    (lambda v: lstm.init_params(2, 3, RNG0(0), forget_bias=v), "forget_bias", [np.nan, "1"]),
    (lambda v: rnn.draw_xi(v, 0.5, RNG0(0)), "T", [0, 2.5]),
    (lambda v: rnn.draw_xi(5, 0.5, v), "rng", [None, 1]),
]
TRUNCATION = [  # the truncation settings of both models, through backward and loss_and_grads
    ("mode", {"mode": "sideways"}), ("k", {"mode": "truncated"}), ("k", {"mode": "truncated", "k": 0}),
    ("k", {"mode": "truncated", "k": 1.5}), ("k", {"mode": "full", "k": 2}),
    ("pi", {"mode": "truncated", "k": 2, "pi": 0.5}), ("pi", {"mode": "randomized", "pi": 0.0, "rng": RNG0(0)}),
    ("pi", {"mode": "randomized", "pi": 1.5, "rng": RNG0(0)}), ("rng", {"mode": "randomized", "pi": 0.5, "rng": 3}),
    ("xi", {"mode": "randomized", "xi": np.ones(2)}), ("xi", {"mode": "randomized", "xi": -np.ones(4)}),
    ("xi", {"mode": "randomized", "xi": np.ones(4), "pi": 0.5}),
]


@pytest.mark.parametrize("call,name,bad", MORE_SETTINGS, ids=[f"{c[1]}-{i}" for i, c in enumerate(MORE_SETTINGS)])
def test_more_settings_out_of_range_name_themselves(call, name, bad):
    for v in bad:
        with pytest.raises((ValueError, TypeError), match=f"argument '{re.escape(name)}"):   # also 'dims[1]'
            call(v)


@pytest.mark.parametrize("model", [rnn, lstm], ids=["rnn", "lstm"])
@pytest.mark.parametrize("name,setting", TRUNCATION, ids=[f"{n}-{i}" for i, (n, _) in enumerate(TRUNCATION)])
def test_truncation_settings_name_themselves(model, name, setting):
    P = model.init_params(2, 3, RNG0(0), n_z=2)
    x = RNG0(1).standard_normal((4, 2, 2))
    h, cache = model.forward(P, x)
    for call in (lambda: model.backward(np.ones_like(h), cache, **setting),
                 lambda: model.loss_and_grads(P, x, np.zeros(2, int), **setting)):
        with pytest.raises((ValueError, TypeError), match=f"argument '{name}'|'{name}'"):
            call()


CALLBACKS = [  # a user's function that returns the wrong thing: named, never a numpy traceback or a NaN answer
    (lambda f: ad.power_iteration(f, 3, v0=np.ones(3)), "matvec"),
    (lambda f: ad.lanczos(f, 3, v0=np.ones(3)), "matvec"),
    (lambda f: ad.lanczos_top(f, 3, v0=np.ones(3)), "matvec"),
    (lambda f: optim.gradient_descent(f, np.ones(3), 0.1, 2), "grad"),
]
WRONG_RESULTS = [lambda v: np.full(3, np.nan) if np.all(np.isfinite(v)) else v, lambda v: v + 1j, lambda v: v[:2],
                 lambda v: np.ones((3, 3)), lambda v: "abc", lambda v: v > 0, lambda v: None]


@pytest.mark.parametrize("call,name", CALLBACKS, ids=[f"{c[1]}-{i}" for i, c in enumerate(CALLBACKS)])
@pytest.mark.parametrize("wrong", range(len(WRONG_RESULTS)))
def test_a_callback_that_returns_nonsense_is_named(call, name, wrong):
    if name == "grad" and wrong == 0:
        return                                  # a diverging descent may reach NaN: shown on the plot (by design)
    with pytest.raises((ValueError, TypeError), match=f"argument '{name}'"):
        call(WRONG_RESULTS[wrong])


LABELLED = {  # (call with labels y for a problem of K = 3 classes and B = 4 examples, its argument name)
    "functional.onehot": lambda y: F.onehot(y, 3),
    "functional.cross_entropy": lambda y: F.cross_entropy(np.eye(3)[:, [0, 1, 2, 0]], y),
    "mlp.accuracy": lambda y: mlp.accuracy(mlp.init_params([2, 3], RNG0(0)), np.ones((2, 4)), y),
    "mlp.loss_and_grads": lambda y: mlp.loss_and_grads(mlp.init_params([2, 3], RNG0(0)), np.ones((2, 4)), y),
    "autodiff.mlp_loss_graph": lambda y: ad.mlp_loss_graph(mlp.init_params([2, 3], RNG0(0)), np.ones((2, 4)),
                                                           y)[0].value,
    "rnn.loss_and_grads": lambda y: rnn.loss_and_grads(rnn.init_params(2, 3, RNG0(0), n_z=3), np.ones((2, 2, 4)), y),
    "lstm.loss_and_grads": lambda y: lstm.loss_and_grads(lstm.init_params(2, 3, RNG0(0), n_z=3), np.ones((2, 2, 4)),
                                                         y),
}


@pytest.mark.parametrize("name", LABELLED)
@SETTINGS
@given(labels=st.lists(st.integers(-2, 4), min_size=0, max_size=6),
       form=st.sampled_from(["int64", "int32", "list", "float64", "bool", "column", "object"]))
def test_labels_are_in_range_or_refused(name, labels, form):
    """Integer class labels ``(B,)`` in ``0 … K-1``: the same answer as an int64 array, else refused naming y."""
    y = {"int64": np.array(labels, np.int64), "int32": np.array(labels, np.int32), "list": labels,
         "float64": np.array(labels, float), "bool": np.array(labels, bool), "object": np.array(labels, object),
         "column": np.array(labels, np.int64)[:, None]}[form]
    size_ok = len(labels) == 4 or (name == "functional.onehot" and (labels or form != "list"))
    good = size_ok and all(0 <= v < 3 for v in labels) and form in ("int64", "int32", "list", "float64") and \
        (labels or form != "float64")                       # 1.0, 2.0 are labels; an empty float array is not
    status, got = outcome(lambda: LABELLED[name](y))
    if not good:
        assert status == "refused", f"{form} labels {labels} accepted: {got!r}"
        assert "argument 'y'" in got, got
        return
    assert status == "ok", got
    assert_same(got, LABELLED[name](np.array(labels, np.int64)), 1e-12, name)
    if name == "functional.onehot":
        np.testing.assert_array_equal(got, np.eye(3)[labels].T)


# ---------------------------------------------------------------- invariants of the generators and counters

@SETTINGS
@given(n_per_class=st.integers(1, 20), n_classes=st.integers(2, 4), noise=st.floats(0, 1), turns=st.floats(0.1, 3),
       seed=st.integers(0, 99))
def test_spirals(n_per_class, n_classes, noise, turns, seed):
    X, y = data.spirals(RNG0(seed), n_per_class, n_classes, noise=noise, turns=turns)
    assert X.shape == (2, n_per_class * n_classes) and y.shape == (n_per_class * n_classes,)
    np.testing.assert_array_equal(np.bincount(y), [n_per_class] * n_classes)
    t = np.tile(np.linspace(0, 1, n_per_class), n_classes)          # the radius is t: noise only turns the angle
    np.testing.assert_allclose(np.hypot(*X), t, atol=1e-12)


@SETTINGS
@given(n=st.integers(1, 50), noise=st.floats(0, 1), low=st.floats(-5, 0), width=st.floats(0.1, 5),
       seed=st.integers(0, 99))
def test_noisy_regression(n, noise, low, width, seed):
    X, Y = data.noisy_regression(RNG0(seed), n, noise=noise, low=low, high=low + width)
    assert X.shape == Y.shape == (1, n) and np.all(np.diff(X) >= 0)
    assert np.all((X >= low) & (X <= low + width))
    if noise == 0:
        np.testing.assert_allclose(Y, np.sin(X) + 0.3 * X, atol=1e-12)


@SETTINGS
@given(n=st.integers(1, 10), T=st.integers(2, 12), seed=st.integers(0, 99))
def test_adding_problem(n, T, seed):
    x, y = data.adding_problem(n, T, RNG0(seed))
    assert x.shape == (T, 2, n) and y.shape == (1, n)
    marks = x[:, 1]
    assert np.all(marks.sum(axis=0) == 2) and np.all(marks[:T // 2].sum(axis=0) == 1)   # one in each half
    np.testing.assert_allclose(y[0], (x[:, 0] * marks).sum(axis=0), atol=1e-12)
    assert np.all((x[:, 0] >= 0) & (x[:, 0] < 1))


@SETTINGS
@given(n=st.integers(1, 10), lag=st.integers(1, 8), n_symbols=st.integers(2, 5), amplitude=st.floats(0.1, 5),
       seed=st.integers(0, 99))
def test_delayed_recall(n, lag, n_symbols, amplitude, seed):
    x, y = data.delayed_recall(n, lag, RNG0(seed), n_symbols=n_symbols, amplitude=amplitude)
    assert x.shape == (lag + 1, n_symbols + 1, n) and y.shape == (n,) and y.dtype.kind == "i"
    np.testing.assert_allclose(x[0, y, np.arange(n)], amplitude)       # step 1 shows the symbol to recall
    np.testing.assert_allclose(x[:, -1], np.r_[[amplitude], np.zeros(lag)][:, None] * np.ones(n))   # marker
    np.testing.assert_allclose(x[:, :-1].sum(axis=1), amplitude)          # one symbol a step


@SETTINGS
@given(widths=st.lists(st.integers(1, 4), min_size=2, max_size=4), activation=st.booleans(), seed=st.integers(0, 9))
def test_jacobian_costs_are_what_is_measured(widths, activation, seed):
    rng = RNG0(seed)
    Ws = [rng.standard_normal((b, a)) for a, b in zip(widths, widths[1:])]
    out, x, _ = ad.tanh_chain_graph(rng.standard_normal((widths[0], 1)), Ws, activation=activation)
    cost = ad.chain_jacobian_cost(widths, activation=activation)
    assert ad.jacobian_forward(out, [x]).multiply_adds == cost["forward"]
    assert ad.jacobian_reverse(out, [x]).multiply_adds == cost["reverse"]
    matrices = [rng.standard_normal((a, b)) for a, b in zip(widths, widths[1:])] + [np.ones((widths[-1], 1))]
    for order in ("left", "right"):
        product, measured = ad.chain_multiply(matrices, order)
        assert measured == ad.chain_cost(ad.chain_dims(matrices), order)
        np.testing.assert_allclose(product, np.linalg.multi_dot(matrices), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(n=st.integers(1, 3), T=st.integers(1, 3), seed=st.integers(0, 9))
def test_rnn_gradient_cost_is_what_is_measured(n, T, seed):
    rng = RNG0(seed)
    L, W_hh = ad.rnn_loss_graph(*(rng.standard_normal(s) for s in ((n, n), (T, n, 1), (n, 1), (n, 1))))
    cost = ad.rnn_gradient_cost(n, T)
    assert ad.jacobian_forward(L, [W_hh]).multiply_adds == cost["forward"]
    assert ad.jacobian_reverse(L, [W_hh]).multiply_adds == cost["reverse"]


@st.composite
def graphs(draw):
    """A random graph on one variable w: each node an op of two earlier nodes (shared subexpressions)."""
    w = G.variable(0.3, "w")
    nodes = [w]
    for _ in range(draw(st.integers(0, 7))):
        a, b = draw(st.sampled_from(nodes)), draw(st.sampled_from(nodes))
        nodes.append(draw(st.sampled_from([G.add, G.mul, G.maximum]))(a, b))
    return w, nodes


def paths_brute_force(out, w):
    """(number of paths, total edges over them) from w to out, by listing every path."""
    if out is w:
        return 1, 0
    P = L = 0
    for i in out.inputs:
        p, length = paths_brute_force(i, w)
        P, L = P + p, L + length + p
    return P, L


@SETTINGS
@given(graph=graphs())
def test_topological_order_and_operation_counts(graph):
    w, nodes = graph
    out = nodes[-1]
    order = G.topological_order(out)
    position = {n.id: i for i, n in enumerate(order)}
    assert len(position) == len(order) and order[-1] is out
    assert all(position[i.id] < position[n.id] for n in order for i in n.inputs)
    c = G.operation_counts(out, w)
    P, L = paths_brute_force(out, w)
    assert c["paths"] == P and c["naive"] == (L + P - 1 if P else 0)
    if out is not w:
        counter = {}
        G.backprop(out, wrt=[w], counter=counter)
        assert counter["mul"] == c["edges"] and counter["mul"] + counter.get("add", 0) == c["backprop"]


@SETTINGS
@given(data=st.data())
def test_an_op_of_ones_own(data):
    """``Op(name, f, grad)``: callable on arrays and on nodes, ``bprop`` gives ``G · f'``, NaN is refused by name."""
    rng = RNG0(data.draw(st.integers(0, 99)))
    cube = G.Op("cube", lambda x: x ** 3, lambda x, out, G_: G_ * 3 * x ** 2)
    x = normal(rng, dim(data, 1), dim(data, 1))
    np.testing.assert_allclose(cube(x), x ** 3)
    v = G.variable(x, "x")
    np.testing.assert_allclose(G.backprop(G.reduce_sum(cube(v)))["x"], 3 * x ** 2)
    upstream = normal(rng, *x.shape)
    np.testing.assert_allclose(cube.bprop([x], x ** 3, upstream)[0], upstream * 3 * x ** 2)
    assert cube.bprop([x], x ** 3, upstream, needs=[False]) == [None]
    root = G.Op("root", np.sqrt, lambda x, out, G_: G_ / (2 * out))
    with pytest.raises(ValueError, match="op 'root'"):
        root(G.variable(-1.0 - np.abs(x), "x"))


@SETTINGS
@given(tree=st.recursive(st.tuples(st.integers(0, 3), st.integers(0, 2)).map(lambda s: np.ones(s, bool)),
                         lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(st.text("abc", max_size=2),
                                                                                             kids, max_size=3)),
                         max_leaves=6), seed=st.integers(0, 99))
def test_random_like_keeps_the_structure(tree, seed):
    """Only the structure and shapes of ``tree`` matter (any dtype); the draws are ``rng``'s normals in order."""
    out = gc.random_like(tree, RNG0(seed))
    leaves, drawn = gc._leaves(tree), gc._leaves(out)
    assert [a.shape for a in leaves] == [b.shape for b in drawn] and all(b.dtype == np.float64 for b in drawn)
    rng = RNG0(seed)
    for b in drawn:
        np.testing.assert_array_equal(b, rng.standard_normal(b.shape))
    assert type(out) is type(tree)


@SETTINGS
@given(depth=st.integers(1, 4), width=st.integers(1, 4), gain=st.floats(0.1, 3), seed=st.integers(0, 99))
def test_tanh_chain_weights_scale_with_the_gain(depth, width, gain, seed):
    Ws = ad.tanh_chain_weights(depth, width, gain, RNG0(seed))
    ones = ad.tanh_chain_weights(depth, width, 1.0, RNG0(seed))
    assert len(Ws) == depth and all(W.shape == (width, width) for W in Ws)
    for W, W1 in zip(Ws, ones):
        np.testing.assert_allclose(W, gain * W1, rtol=1e-12)


@SETTINGS
@given(n=st.integers(1, 6), seed=st.integers(0, 99))
def test_random_orthogonal(n, seed):
    Q = D.random_orthogonal(n, RNG0(seed))
    np.testing.assert_allclose(Q.T @ Q, np.eye(n), atol=1e-12)


@SETTINGS
@given(sizes=st.lists(st.integers(1, 4), min_size=2, max_size=4), B=st.integers(1, 4),
       dtype=st.sampled_from(["float64", "float32"]), bias=st.booleans(), seed=st.integers(0, 9))
def test_mlp_init_and_cache_size(sizes, B, dtype, bias, seed):
    P = mlp.init_params(sizes, RNG0(seed), bias=bias, dtype=dtype)
    assert all(P[f"W{k}"].shape == (sizes[k], sizes[k - 1]) and P[f"W{k}"].dtype == dtype for k in range(1, len(sizes)))
    assert all(np.all(P[f"b{k}"] == 0) for k in range(1, len(sizes))) if bias else not any(k[0] == "b" for k in P)
    _, cache = mlp.forward(P, np.ones((sizes[0], B)))
    # the stored a_k of every layer and h_k of every hidden layer (h_0 = x is the caller's)
    assert mlp.cache_nbytes(cache) == np.dtype(dtype).itemsize * B * (2 * sum(sizes[1:-1]) + sizes[-1])


@pytest.mark.parametrize("model", [rnn, lstm], ids=["rnn", "lstm"])
@SETTINGS
@given(n_x=st.integers(1, 3), n_h=st.integers(1, 3), n_z=st.one_of(st.none(), st.integers(1, 3)),
       dtype=st.sampled_from(["float64", "float32"]), seed=st.integers(0, 9))
def test_sequence_model_init(model, n_x, n_h, n_z, dtype, seed):
    P = model.init_params(n_x, n_h, RNG0(seed), n_z=n_z, dtype=dtype)
    assert all(v.dtype == dtype for v in P.values())
    assert ("W_hz" in P) == (n_z is not None) and (n_z is None or P["W_hz"].shape == (n_z, n_h))
    if model is rnn:
        assert P["W_hh"].shape == (n_h, n_h) and P["W_xh"].shape == (n_h, n_x)
        rho = D.spectral_radius(rnn.init_params(n_x, n_h, RNG0(seed), spectral_radius=0.7)["W_hh"])
        assert rho == pytest.approx(0.7, rel=1e-9)
        L = rnn.init_linear_params(n_x, n_h, RNG0(seed), n_q=2, spectral_radius=1.2)
        assert D.spectral_radius(L["W_hh"]) == pytest.approx(1.2, rel=1e-9) and L["W_qh"].shape == (2, n_h)
    else:
        assert all(P[f"W_{g}"].shape == (n_h, n_h + n_x) for g in "fico") and np.all(P["b_f"] == 1.0)


@SETTINGS
@given(T=st.integers(1, 30), pi=st.floats(0.05, 1.0), seed=st.integers(0, 99))
def test_draw_xi(T, pi, seed):
    xi = rnn.draw_xi(T, pi, RNG0(seed))
    assert xi.shape == (T,) and np.all((xi == 0) | np.isclose(xi, 1 / pi))
    np.testing.assert_array_equal(xi, (RNG0(seed).random(T) < pi) / pi)


# ---------------------------------------------------------------- the inventory: no public function slips through
#
# Every public bpcore function (and method of a bpcore class) that a lesson or the README calls must have an
# entry in PROPERTY_TESTS naming the property test(s) that cover it, or sit in EXEMPT with a reason. The
# inventory is computed from the notebooks' code cells and the README, so a new function used by a lesson
# fails test_every_public_function_a_lesson_uses_has_a_property_test until it gets one.

ROOT = Path(__file__).resolve().parent.parent
EXEMPT = {  # module prefix: why it has no property test here
    "bpcore.plots.": "draws a figure; tests/test_widgets_render.py and the lessons' nbval runs exercise it",
    "bpcore.widgets.": "an explorer; its computation has tests in tests/test_widgets_*.py",
    "bpcore.diagrams.": "draws images/; tests/test_diagrams.py",
}


def _sources():
    """``(where, python code)`` of every lesson's code cells and of the README's code and inline code."""
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        yield nb.name, "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    readme = (ROOT / "README.md").read_text()
    yield "README.md", "\n".join(re.findall(r"```python\n(.*?)```", readme, re.S))
    yield "README.md (inline)", "\n".join(re.findall(r"`([^`\n]*\w\([^`\n]*)`", readme))


def _modules(tree, text):
    """Names bound to bpcore modules by the imports of ``tree``, plus the README's habit (``rnn.forward``)."""
    alias = {m: f"bpcore.{m}" for m in ("graph", "gradcheck", "functional", "mlp", "optim", "rnn", "lstm",
                                        "sequence", "diagnostics", "data", "autodiff", "validate")}
    imported = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bpcore"):
            for a in node.names:
                full = f"{node.module}.{a.name}"
                target = full if _is_module(full) else None
                if target:
                    alias[a.asname or a.name] = target
                else:
                    imported[a.asname or a.name] = full
        elif isinstance(node, ast.Import):
            alias |= {a.asname or a.name: a.name for a in node.names if a.name.startswith("bpcore")}
    return alias, imported


def _is_module(name):
    try:
        importlib.import_module(name)
        return True
    except ImportError:
        return False


def _parse(text):
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:        # README fragments: parse them one by one, skip what is not Python
        body = []
        for line in lines:
            try:
                body += ast.parse(line.strip()).body
            except SyntaxError:
                pass
        return ast.Module(body=body, type_ignores=[])


def _bpcore_classes():
    mods = [importlib.import_module(f"bpcore.{m}") for m in ("graph", "gradcheck", "autodiff")]
    return {f"{m.__name__}.{n}": c for m in mods for n, c in vars(m).items()
            if isinstance(c, type) and c.__module__ == m.__name__ and not n.startswith("_")}


def public_functions_used():
    """{'bpcore.module.name' or 'bpcore.module.Class.method': [where]} for every public callable used."""
    used = {}
    methods = {n: f"{cls}.{n}" for cls, c in _bpcore_classes().items()
               for n, v in vars(c).items() if not n.startswith("_") and callable(v)}
    for where, text in _sources():
        tree = _parse(text)
        alias, imported = _modules(tree, text)
        names = list(imported.values())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in alias:
                names.append(f"{alias[node.value.id]}.{node.attr}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in methods:
                names.append(methods[node.func.attr])
        for full in names:
            module, _, attr = full.rpartition(".")
            obj = getattr(importlib.import_module(module), attr, None) if _is_module(module) else None
            if full in methods.values() or (obj is not None and callable(obj) and not attr.startswith("_")):
                used.setdefault(full, set()).add(where)
    return used


PROPERTY_TESTS = {  # public function → the property tests that cover it (plus every POISON case, added below)
    "bpcore.functional.sigmoid": ["test_activations"],
    "bpcore.functional.sigmoid_grad": ["test_activations"],
    "bpcore.functional.cross_entropy": ["test_cross_entropy_and_its_gradient",
                                        "test_labels_are_in_range_or_refused[functional.cross_entropy]"],
    "bpcore.functional.softmax_cross_entropy_grad": ["test_cross_entropy_and_its_gradient"],
    "bpcore.functional.squared_error": ["test_squared_error"],
    "bpcore.functional.onehot": ["test_labels_are_in_range_or_refused[functional.onehot]",
                                 "test_settings_out_of_range_name_themselves"],
    "bpcore.graph.variable": ["test_graph_variable_refuses_what_is_not_a_real_number"],
    "bpcore.graph.parse": ["test_parse_never_crashes"],
    "bpcore.graph.topological_order": ["test_topological_order_and_operation_counts"],
    "bpcore.graph.operation_counts": ["test_topological_order_and_operation_counts"],
    "bpcore.graph.Op": ["test_an_op_of_ones_own"],
    "bpcore.graph.Op.bprop": ["test_an_op_of_ones_own"],
    "bpcore.autodiff.chain_cost": ["test_jacobian_costs_are_what_is_measured",
                                   "test_more_settings_out_of_range_name_themselves"],
    "bpcore.autodiff.chain_jacobian_cost": ["test_jacobian_costs_are_what_is_measured",
                                            "test_more_settings_out_of_range_name_themselves"],
    "bpcore.autodiff.rnn_gradient_cost": ["test_rnn_gradient_cost_is_what_is_measured",
                                          "test_more_settings_out_of_range_name_themselves"],
    "bpcore.autodiff.tanh_chain_weights": ["test_tanh_chain_weights_scale_with_the_gain",
                                           "test_more_settings_out_of_range_name_themselves"],
    "bpcore.autodiff.power_iteration": ["test_a_callback_that_returns_nonsense_is_named"],
    "bpcore.autodiff.lanczos": ["test_a_callback_that_returns_nonsense_is_named"],
    "bpcore.autodiff.lanczos_top": ["test_a_callback_that_returns_nonsense_is_named"],
    "bpcore.autodiff.mlp_loss_graph": ["test_labels_are_in_range_or_refused[autodiff.mlp_loss_graph]"],
    "bpcore.data.spirals": ["test_spirals", "test_more_settings_out_of_range_name_themselves"],
    "bpcore.data.noisy_regression": ["test_noisy_regression", "test_more_settings_out_of_range_name_themselves"],
    "bpcore.data.adding_problem": ["test_adding_problem", "test_more_settings_out_of_range_name_themselves"],
    "bpcore.data.delayed_recall": ["test_delayed_recall", "test_settings_out_of_range_name_themselves"],
    "bpcore.diagnostics.random_orthogonal": ["test_random_orthogonal",
                                             "test_more_settings_out_of_range_name_themselves"],
    "bpcore.mlp.init_params": ["test_mlp_init_and_cache_size", "test_models_refuse_parameters_that_cannot_train"],
    "bpcore.mlp.cache_nbytes": ["test_mlp_init_and_cache_size"],
    "bpcore.mlp.accuracy": ["test_labels_are_in_range_or_refused[mlp.accuracy]"],
    "bpcore.mlp.loss_and_grads": ["test_models_on_any_input",
                                  "test_labels_are_in_range_or_refused[mlp.loss_and_grads]"],
    "bpcore.optim.gradient_descent": ["test_a_callback_that_returns_nonsense_is_named"],
    "bpcore.optim.clip_by_global_norm": ["test_global_norm_and_clipping"],
    "bpcore.rnn.init_params": ["test_sequence_model_init[rnn]", "test_models_refuse_parameters_that_cannot_train"],
    "bpcore.rnn.init_linear_params": ["test_sequence_model_init[rnn]"],
    "bpcore.rnn.draw_xi": ["test_draw_xi", "test_settings_out_of_range_name_themselves"],
    "bpcore.rnn.backward": ["test_truncation_settings_name_themselves[rnn]"],
    "bpcore.rnn.loss_and_grads": ["test_models_on_any_input", "test_truncation_settings_name_themselves[rnn]",
                                  "test_labels_are_in_range_or_refused[rnn.loss_and_grads]"],
    "bpcore.lstm.init_params": ["test_sequence_model_init[lstm]", "test_models_refuse_parameters_that_cannot_train"],
    "bpcore.lstm.backward": ["test_truncation_settings_name_themselves[lstm]"],
    "bpcore.lstm.loss_and_grads": ["test_models_on_any_input", "test_truncation_settings_name_themselves[lstm]",
                                   "test_labels_are_in_range_or_refused[lstm.loss_and_grads]"],
}
for _fn in ("tanh", "tanh_grad", "relu", "relu_grad", "identity", "identity_grad", "softmax", "log_softmax"):
    PROPERTY_TESTS[f"bpcore.functional.{_fn}"] = ["test_activations"]      # not called by a lesson, covered too
PROPERTY_TESTS["bpcore.functional.squared_error_grad"] = ["test_squared_error"]
PROPERTY_TESTS["bpcore.optim.minibatches"] = ["test_more_settings_out_of_range_name_themselves"]
for _key in POISON:
    PROPERTY_TESTS.setdefault("bpcore." + _key.split("(")[0], []).append(f"test_one_argument_poisoned[{_key}]")


def _resolve(name):
    """The object a 'bpcore.module.name' or 'bpcore.module.Class.method' entry names, or None."""
    parts = name.split(".")
    for cut in (len(parts) - 1, len(parts) - 2):
        module = ".".join(parts[:cut])
        if _is_module(module):
            obj = importlib.import_module(module)
            for attr in parts[cut:]:
                obj = getattr(obj, attr, None)
            return obj
    return None


def test_every_public_function_a_lesson_uses_has_a_property_test():
    used = public_functions_used()
    missing = {name: sorted(where) for name, where in used.items()
               if name not in PROPERTY_TESTS and not any(name.startswith(p) for p in EXEMPT)}
    assert not missing, ("public functions used by a lesson or the README without a property test; add one and "
                         f"an entry to PROPERTY_TESTS: {missing}")
    assert len(used) > 100      # the inventory itself works: the lessons use over a hundred public functions


def test_the_table_names_real_functions_and_tests():
    params = {"test_one_argument_poisoned": POISON, "test_labels_are_in_range_or_refused": LABELLED,
              "test_sequence_model_init": {"rnn", "lstm"}, "test_truncation_settings_name_themselves": {"rnn", "lstm"}}
    for name, tests in PROPERTY_TESTS.items():
        assert callable(_resolve(name)) and not name.rsplit(".", 1)[1].startswith("_"), f"no public {name}"
        for test in tests:
            fn, _, param = test.partition("[")
            assert callable(globals().get(fn)) and fn.startswith("test_"), f"{name}: no test {fn}"
            assert not param or param[:-1] in params[fn], f"{name}: {fn} has no case {param[:-1]}"
