"""bpcore.graph: the engine of seed 002 §2–§3 against hand-derived values and finite differences."""

import numpy as np
import pytest

from bpcore import graph as G
from bpcore.gradcheck import check_gradients, check_vjp

SEEDS = [0, 1, 2, 3]


# ---------------------------------------------------------------- the two worked examples
def test_add_then_multiply_example():
    x, y, z = G.variable(-2.0, "x"), G.variable(5.0, "y"), G.variable(-4.0, "z")
    f = (x + y) * z
    assert float(f.value) == -12.0
    g = G.backprop(f)
    assert [float(g[v]) for v in (x, y, z)] == [-4.0, -4.0, 3.0]


def test_max_gate_example_from_expression():
    out, v = G.parse("2*(x*y + max(z, w))", dict(x=3, y=-4, z=2, w=-1))
    assert float(out.value) == -20.0
    g = G.backprop(out)
    assert [float(g[n]) for n in ("x", "y", "z", "w")] == [-8.0, 6.0, 2.0, 0.0]


def test_max_tie_goes_to_first_argument():
    x, y = G.variable(1.5, "x"), G.variable(1.5, "y")
    g = G.backprop(G.maximum(x, y))
    assert (float(g[x]), float(g[y])) == (1.0, 0.0), "tie rule: ∂max/∂x = 1 if x >= y"
    g = G.backprop(G.maximum(y, x))
    assert (float(g[y]), float(g[x])) == (1.0, 0.0)


# ---------------------------------------------------------------- every op against finite differences
def _positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


UNARY = {
    "exp": (G.exp, lambda r, s: r.standard_normal(s)),
    "log": (G.log, _positive),
    "tanh": (G.tanh, lambda r, s: r.standard_normal(s)),
    "sigmoid": (G.sigmoid, lambda r, s: 3 * r.standard_normal(s)),
    "relu": (G.relu, lambda r, s: r.standard_normal(s)),
    "neg": (G.neg, lambda r, s: r.standard_normal(s)),
    "transpose": (G.transpose, lambda r, s: r.standard_normal(s)),
    "sum": (G.reduce_sum, lambda r, s: r.standard_normal(s)),
}
BINARY = {
    "add": (G.add, lambda r, s: r.standard_normal(s), lambda r, s: r.standard_normal(s)),
    "sub": (G.sub, lambda r, s: r.standard_normal(s), lambda r, s: r.standard_normal(s)),
    "mul": (G.mul, lambda r, s: r.standard_normal(s), lambda r, s: r.standard_normal(s)),
    "div": (G.div, lambda r, s: r.standard_normal(s), lambda r, s: r.choice([-1, 1], s) * _positive(r, s)),
    "max": (G.maximum, lambda r, s: r.standard_normal(s), lambda r, s: r.standard_normal(s)),
    "pow": (G.power, _positive, lambda r, s: r.uniform(-2, 3, s)),
}
# (first shape, second shape): equal shapes and every kind of broadcasting
BROADCASTS = [lambda m, n: ((m, n), (m, n)), lambda m, n: ((m, n), (1, n)), lambda m, n: ((m, n), (m, 1)),
              lambda m, n: ((m, n), ()), lambda m, n: ((), (m, n)), lambda m, n: ((2, m, n), (n,))]


def _check_op(op, makers, shapes, rng):
    params = {f"a{i}": make(rng, s) for i, (make, s) in enumerate(zip(makers, shapes))}

    def fwd(p):
        nodes = [G.variable(p[k], k) for k in sorted(p)]
        out = op(*nodes)
        return out.value, (out, nodes)

    def bwd(dout, cache):
        out, nodes = cache
        table = G.backprop(out, wrt=nodes, G=dout)
        return {n.name: table[n] for n in nodes}

    return check_vjp(fwd, bwd, params, rng, threshold=1e-8)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_op_gradcheck(name, seed):
    rng = np.random.default_rng(seed)
    op, make = UNARY[name]
    shape = tuple(int(k) for k in rng.integers(1, 5, size=rng.integers(0, 3)))
    report = _check_op(op, [make], [shape], rng)
    assert report.ok, f"{name} backward is wrong at shape {shape}:\n{report}"


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_op_gradcheck_with_broadcasting(name, seed):
    rng = np.random.default_rng(seed)
    op, mx, my = BINARY[name]
    m, n = (int(k) for k in rng.integers(2, 5, size=2))
    for shapes in BROADCASTS:
        report = _check_op(op, [mx, my], shapes(m, n), rng)
        assert report.ok, f"{name} backward is wrong for shapes {shapes(m, n)}:\n{report}"


@pytest.mark.parametrize("seed", SEEDS)
def test_matmul_gradcheck(seed):
    rng = np.random.default_rng(seed)
    m, k, n = (int(v) for v in rng.integers(1, 5, size=3))
    mk = lambda r, s: r.standard_normal(s)
    report = _check_op(G.matmul, [mk, mk], [(m, k), (k, n)], rng)
    assert report.ok, f"matmul backward is wrong for ({m},{k}) @ ({k},{n}):\n{report}"


@pytest.mark.parametrize("seed", SEEDS)
def test_logistic_regression_graph_gradcheck(seed):
    """ŷ = σ(xᵀw + b) with cross-entropy: a graph mixing matmul, transpose, broadcasting and log."""
    rng = np.random.default_rng(seed)
    d, B = 3, 5
    data_x, label = rng.standard_normal((d, B)), rng.integers(0, 2, (1, B)).astype(float)
    params = {"w": rng.standard_normal((d, 1)), "b": rng.standard_normal(())}

    def loss(p):
        w, b = G.variable(p["w"], "w"), G.variable(p["b"], "b")
        y_hat = G.sigmoid(G.constant(data_x).T @ w + b)  # (B, 1)
        L = -G.reduce_sum(G.constant(label.T) * G.log(y_hat) + (1 - G.constant(label.T)) * G.log(1 - y_hat))
        return L, (w, b)

    L, (w, b) = loss(params)
    table = G.backprop(L)
    report = check_gradients(lambda p: loss(p)[0].value, params, {"w": table[w], "b": table[b]})
    assert report.ok, f"logistic regression graph:\n{report}"


# ---------------------------------------------------------------- grad_table semantics
def test_backprop_twice_gives_identical_gradients():
    rng = np.random.default_rng(0)
    x = G.variable(rng.standard_normal((3, 2)), "x")
    out = G.reduce_sum(G.tanh(x) * x + x)
    first, second = G.backprop(out), G.backprop(out)
    np.testing.assert_array_equal(first[x], second[x])


def test_fan_out_sums_contributions():
    x = G.variable(3.0, "x")
    out = x * x + G.exp(x) + x  # x feeds three ops, one of them twice
    g = G.backprop(out)
    assert np.isclose(float(g[x]), 2 * 3.0 + np.exp(3.0) + 1)


def test_wrt_not_reached_gets_zero():
    x, y = G.variable(np.ones((2, 2)), "x"), G.variable(2.0, "y")
    g = G.backprop(G.reduce_sum(x), wrt=[x, y])
    assert float(g[y]) == 0.0 and g[x].shape == (2, 2)


def test_forward_feed_reevaluates_in_topological_order():
    x, y, z = G.variable(-2.0, "x"), G.variable(5.0, "y"), G.variable(-4.0, "z")
    f = (x + y) * z
    assert float(G.forward(f, {"x": 1.0, z: 2.0})) == 12.0
    assert float(G.backprop(f)[z]) == 6.0
    order = G.topological_order(f)
    pos = {n.id: k for k, n in enumerate(order)}
    assert all(pos[i.id] < pos[n.id] for n in order for i in n.inputs)


def test_deep_chain_does_not_hit_recursion_limit():
    w = G.variable(0.5, "w")
    h = w
    for _ in range(3000):
        h = G.tanh(h)
    assert G.backprop(h)[w].shape == ()


# ---------------------------------------------------------------- symbol-to-symbol: second derivatives
def test_second_derivative_of_cube():
    x = G.variable(1.3, "x")
    d1 = G.build_grad(x ** 3, [x])[x]
    d2 = G.build_grad(d1, [x])[x]
    assert np.isclose(float(d1.value), 3 * 1.3**2) and np.isclose(float(d2.value), 6 * 1.3)
    G.forward(d2, {x: -0.7})  # the gradient graph is a graph: feed new values and re-run it
    assert np.isclose(float(d2.value), 6 * -0.7)


@pytest.mark.parametrize("x0", [-1.2, 0.3, 2.0])
def test_second_derivatives_of_tanh_and_sigmoid(x0):
    x = G.variable(x0, "x")
    t, s = np.tanh(x0), 1 / (1 + np.exp(-x0))
    for op, want in ((G.tanh, -2 * t * (1 - t**2)), (G.sigmoid, s * (1 - s) * (1 - 2 * s))):
        d2 = G.build_grad(G.build_grad(op(x), [x])[x], [x])[x]
        assert np.isclose(float(d2.value), want, rtol=1e-12), op.name


def test_mixed_partial():
    x, y = G.variable(0.8, "x"), G.variable(-1.5, "y")
    f = x**2 * y**3 + G.exp(x * y)
    dfdx = G.build_grad(f, [x, y])[x]
    d2 = G.build_grad(dfdx, [y])[y]
    want = 6 * 0.8 * 1.5**2 + np.exp(-1.2) * (1 + 0.8 * -1.5)
    assert np.isclose(float(d2.value), want, rtol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_build_grad_gradient_matches_finite_differences_of_gradient(seed):
    """Hessian-vector product through build_grad twice, against differences of the first gradient."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 5))
    params = {"x": rng.standard_normal((n, 1))}
    A, v = rng.standard_normal((n, n)), rng.standard_normal((n, 1))

    def gradient_node(p):
        x = G.variable(p["x"], "x")
        f = G.reduce_sum(G.tanh(G.constant(A) @ x) * G.sigmoid(x) + G.maximum(x, 0.1) ** 2)
        return x, G.build_grad(f, [x])[x]

    x, g = gradient_node(params)
    hv = G.build_grad(G.reduce_sum(g * G.constant(v)), [x])[x]
    report = check_gradients(lambda p: float(np.sum(gradient_node(p)[1].value * v)), params, {"x": hv.value})
    assert report.ok, f"second derivative through build_grad:\n{report}"


def test_build_grad_agrees_with_backprop():
    rng = np.random.default_rng(5)
    W, x = G.variable(rng.standard_normal((3, 4)), "W"), G.variable(rng.standard_normal((4, 2)), "x")
    out = G.reduce_sum(G.relu(W @ x) / (1 + G.exp(-(W @ x))))
    num, sym = G.backprop(out), G.build_grad(out)
    for v in (W, x):
        np.testing.assert_allclose(sym[v].value, num[v], rtol=1e-13)


# ---------------------------------------------------------------- operation counts
def _chain(n):
    w = G.variable(0.3, "w")
    h = w
    for _ in range(n):
        h = G.tanh(h)
    return w, h


def _diamond_ladder(n):
    """x_{k+1} = exp(x_k) + tanh(x_k): two branches that merge at every level, 2^n paths."""
    w = G.variable(0.1, "w")
    h = w
    for _ in range(n):
        h = G.sigmoid(h) + G.tanh(h)
    return w, h


def _squaring(n):
    w = G.variable(0.9, "w")
    h = w
    for _ in range(n):
        h = h * h
    return w, h


@pytest.mark.parametrize("n", [1, 2, 5, 10])
def test_operation_count_formulas(n):
    c = G.operation_counts(*reversed(_chain(n)))
    assert c == {"paths": 1, "edges": n, "naive": n, "backprop": n}
    c = G.operation_counts(*reversed(_diamond_ladder(n)))
    assert c["paths"] == 2**n and c["naive"] == 2 * n * 2**n + 2**n - 1 and c["backprop"] == 5 * n
    c = G.operation_counts(*reversed(_squaring(n)))
    assert c["paths"] == 2**n and c["naive"] == n * 2**n + 2**n - 1 and c["backprop"] == 3 * n


@pytest.mark.parametrize("build", [_chain, _diamond_ladder, _squaring])
def test_backprop_performs_the_counted_operations(build):
    w, h = build(6)
    counter = {}
    G.backprop(h, wrt=[w], counter=counter)
    c = G.operation_counts(h, w)
    assert counter["mul"] == c["edges"] and counter["mul"] + counter.get("add", 0) == c["backprop"]


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("text, message", [
    ("x + q", "unknown name 'q'"),
    ("sin(x)", "unknown function 'sin'"),
    ("x % y", "operator %"),
    ("x // y", "operator //"),
    ("x % y", "operator %"),
    ("x @ y", "must be 2-d"),   # @ is parsed (Node has it); scalars are not matrices
    ("np.exp(x)", "only plain function names"),
    ("x.real", "attribute access"),
    ("x[0]", "is not allowed"),
    ("2(x*y)", "write products with"),
    ("2 x", "not valid syntax"),
    ("exp + x", "'exp' is a function"),
    ("max(x)", "max takes 2 argument"),
    ("exp(x, y)", "exp takes 1 argument"),
    ("'a' + x", "is not a number"),
    ("__import__('os')", "unknown function '__import__'"),
    ("x if y else 1", "is not allowed"),
    ("", "type an expression"),
])
def test_parse_rejects_anything_outside_the_allowed_operations(text, message):
    with pytest.raises(ValueError, match=message):
        G.parse(text, {"x": 1.0, "y": 2.0})


def test_parse_supports_all_allowed_forms():
    out, v = G.parse("-x ** 2 / y + sigmoid(relu(x)) - log(exp(tanh(y))) + sum(x * 1.5)", {"x": 0.5, "y": 2.0})
    want = -0.25 / 2 + 1 / (1 + np.exp(-0.5)) - np.tanh(2.0) + 0.75
    assert np.isclose(float(out.value), want) and list(v) == ["x", "y"]


def test_matmul_shape_mismatch_is_a_clear_error():
    a, b = G.variable(np.ones((2, 3)), "a"), G.variable(np.ones((4, 1)), "b")
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 1\) do not align"):
        a @ b
    with pytest.raises(ValueError, match="must be 2-d"):
        a @ G.variable(np.ones(3), "v")


def test_shapes_that_do_not_broadcast_name_the_op():
    with pytest.raises(ValueError, match=r"op 'add' on inputs of shape \(3, 2\), \(4, 2\)"):
        G.variable(np.ones((3, 2)), "a") + G.variable(np.ones((4, 2)), "b")


def test_nan_input_is_rejected():
    with pytest.raises(ValueError, match="NaN or inf"):
        G.variable(np.array([1.0, np.nan]), "x")
    x = G.variable(1.0, "x")
    f = G.exp(x)
    with pytest.raises(ValueError, match="NaN or inf"):
        G.forward(f, {"x": np.inf})
    with pytest.raises(ValueError, match="NaN or inf"):
        G.parse("x + 1", {"x": float("nan")})


def test_nan_produced_by_an_op_names_the_op():
    with pytest.raises(ValueError, match="op 'log'"):
        G.log(G.variable(-1.0, "x"))
    with pytest.raises(ValueError, match="op 'exp'"):
        G.exp(G.variable(1000.0, "x"))


def test_non_scalar_output_needs_upstream_gradient():
    x = G.variable(np.ones((2, 2)), "x")
    with pytest.raises(ValueError, match="needs an upstream gradient"):
        G.backprop(G.tanh(x))
    with pytest.raises(ValueError, match="argument 'G'"):
        G.backprop(G.tanh(x), G=np.ones((3, 2)))


def test_feed_unknown_variable():
    x = G.variable(1.0, "x")
    with pytest.raises(ValueError, match="not a variable of this graph"):
        G.forward(G.exp(x), {"y": 1.0})


def test_graph_built_before_values_are_known():
    x = G.variable(None, "x")
    f = G.tanh(x * x) + x
    assert f.value is None
    assert np.isclose(float(G.forward(f, {"x": 0.5})), np.tanh(0.25) + 0.5)
    assert np.isclose(float(G.backprop(f)[x]), 2 * 0.5 * (1 - np.tanh(0.25) ** 2) + 1)
    with pytest.raises(ValueError, match="variable 'y' has no value"):
        G.backprop(G.variable(None, "y") * 2)


def test_one_element_constants_have_a_label():
    from bpcore.graph import constant, variable
    c = constant(np.ones((1, 1)) * 2.5)
    assert c.label == "2.5"
    assert "2.5" in repr(variable(np.ones(1)) * c)
