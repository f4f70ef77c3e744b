"""Forward mode, Jacobians both ways and Hessian-vector products of bpcore.autodiff (seed 002 §4).

Every JVP and HVP is checked against finite differences at relative error ≤ 1e-7 (float64); measured
multiply–add counts of both modes equal the formulas lesson 05 derives.
"""

import numpy as np
import pytest

from bpcore import graph as g
from bpcore import mlp
from bpcore.autodiff import (
    HVP,
    JVP_RULES,
    chain_cost,
    chain_jacobian_cost,
    check_hvp,
    check_jvp,
    hessian,
    jacobian_forward,
    jacobian_reverse,
    jvp,
    lanczos_top,
    mlp_loss_graph,
    power_iteration,
    rnn_gradient_cost,
    rnn_loss_graph,
    tanh_chain_graph,
    tanh_chain_jacobian_norms,
    tanh_chain_weights,
    vjp,
)
from bpcore.optim import gradient_descent

THRESHOLD = 1e-7
SEEDS = range(3)


def shape(rng):
    return (int(rng.integers(1, 5)), int(rng.integers(1, 5)))


def away_from(rng, shp, low=0.2):
    """Values with |v| ≥ low: no kink of relu, step or max sits inside a finite-difference stencil."""
    return rng.choice([-1.0, 1.0], size=shp) * rng.uniform(low, 2.0, size=shp)


def case(op_name, rng):
    """(output node, variables) for one op at a random point and shape."""
    m, n = shape(rng)
    var = lambda v, name: g.variable(v, name)
    x = var(rng.standard_normal((m, n)), "x")
    if op_name in ("add", "sub", "mul", "max"):
        y = var(rng.standard_normal((1, n)), "y")  # a broadcast input: its tangent is stretched
        if op_name == "max":
            x.value = away_from(rng, (m, n))
            y.value = x.value[:1] - rng.choice([-1, 1], size=(1, n)) * rng.uniform(0.2, 1.0, size=(1, n))
            x.value[1:] = y.value + away_from(rng, (m - 1, n)) if m > 1 else x.value[1:]
        return {"add": g.add, "sub": g.sub, "mul": g.mul, "max": g.maximum}[op_name](x, y), [x, y]
    if op_name == "div":
        y = var(rng.uniform(0.5, 2.0, (m, n)), "y")
        return x / y, [x, y]
    if op_name == "matmul":
        y = var(rng.standard_normal((n, int(rng.integers(1, 5)))), "y")
        return x @ y, [x, y]
    if op_name == "pow":
        x.value = rng.uniform(0.5, 2.0, (m, n))
        p = var(rng.uniform(-2.0, 3.0, (1, n)), "p")
        return g.power(x, p), [x, p]
    if op_name == "log":
        x.value = rng.uniform(0.3, 3.0, (m, n))
    if op_name in ("relu", "step"):
        x.value = away_from(rng, (m, n))
    if op_name == "ge":
        y = var(x.value + away_from(rng, (m, n)), "y")
        return g.ge(x, y), [x, y]
    if op_name == "sum_like":
        h = var(rng.standard_normal((1, n)), "h")
        return g.sum_like(x, h), [x, h]
    if op_name == "broadcast_like":
        h = var(rng.standard_normal((1, n)), "h")
        return g.broadcast_like(h, x), [h, x]
    unary = {"neg": g.neg, "transpose": g.transpose, "exp": g.exp, "log": g.log, "tanh": g.tanh,
             "sigmoid": g.sigmoid, "relu": g.relu, "sum": g.reduce_sum, "step": g.step,
             "ones_like": g.ones_like, "zeros_like": g.zeros_like}
    return unary[op_name](x), [x]


GRAPH_OPS = sorted({op.name for op in vars(g).values() if isinstance(op, g.Op)})


def test_every_graph_op_has_a_jvp_rule():
    ops = [op for op in vars(g).values() if isinstance(op, g.Op)]
    missing = [op.name for op in ops if op not in JVP_RULES]
    assert not missing, f"bpcore.graph ops without a JVP rule: {missing}"
    assert len(GRAPH_OPS) >= 21


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("op_name", GRAPH_OPS)
def test_jvp_of_each_op_matches_finite_differences(op_name, seed):
    rng = np.random.default_rng(1000 * seed + GRAPH_OPS.index(op_name))
    out, inputs = case(op_name, rng)
    tangents = {v: rng.standard_normal(v.value.shape) for v in inputs}
    report = check_jvp(out, tangents, threshold=THRESHOLD)
    assert report.ok, f"JVP of '{op_name}' is wrong:\n{report}"
    assert not any(r.kinks for r in report.rows), "a kink inside the stencil: the test point is badly chosen"


@pytest.mark.parametrize("seed", SEEDS)
def test_jvp_through_a_network_loss_and_its_gradient_graph(seed):
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(1, 4)), int(rng.integers(2, 5)), int(rng.integers(2, 4))]
    params = mlp.init_params(sizes, rng)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}
    x, y = rng.standard_normal((sizes[0], 5)), rng.integers(0, sizes[-1], 5)
    J, variables = mlp_loss_graph(params, x, y, activation="sigmoid", weight_decay=0.01)
    tangents = {v: rng.standard_normal(v.value.shape) for v in variables.values()}
    report = check_jvp(J, tangents, threshold=THRESHOLD)
    assert report.ok, f"JVP of the loss is wrong:\n{report}"
    # forward mode agrees with reverse mode: J̇ = ∇Jᵀ θ̇
    grads = g.backprop(J, list(variables.values()))
    dJ = sum(float(np.sum(grads[v] * t)) for v, t in tangents.items())
    assert abs(float(jvp(J, tangents)) - dJ) <= 1e-12 * max(1.0, abs(dJ))
    # and through the gradient nodes that build_grad added (the graph forward-over-reverse walks)
    gW1 = g.build_grad(J, list(variables.values()))[variables["W1"]]
    report = check_jvp(gW1, tangents, threshold=THRESHOLD)
    assert report.ok, f"JVP of the gradient graph is wrong:\n{report}"


def test_jvp_validates_and_is_exactly_zero_where_no_seed_reaches():
    rng = np.random.default_rng(0)
    x, y = g.variable(rng.standard_normal((2, 1)), "x"), g.variable(rng.standard_normal((2, 1)), "y")
    out = g.tanh(x) + 0 * y
    np.testing.assert_array_equal(jvp(g.exp(y), {x: np.ones((2, 1))}), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="shape"):
        jvp(out, {x: np.ones((3, 1))})
    with pytest.raises(ValueError, match="NaN"):
        jvp(out, {x: np.array([[np.nan], [0.0]])})
    with pytest.raises(ValueError, match="variable nodes"):
        jvp(out, {g.constant(np.ones(1)): np.ones(1)})
    with pytest.raises(ValueError, match="cotangent"):
        vjp(out, np.ones((3, 1)), [x])


@pytest.mark.parametrize("seed", SEEDS)
def test_vjp_equals_graph_backprop(seed):
    rng = np.random.default_rng(seed)
    params = mlp.init_params([3, 4, 2], rng)
    J, variables = mlp_loss_graph(params, rng.standard_normal((3, 6)), rng.integers(0, 2, 6), activation="tanh")
    nodes = list(variables.values())
    ours = vjp(J, np.ones(()), nodes)
    table = g.backprop(J, nodes)
    for node, mine in zip(nodes, ours):
        np.testing.assert_allclose(mine, table[node], rtol=1e-13, atol=1e-15)


def chain(widths, rng, activation=True):
    Ws = [rng.standard_normal((widths[l], widths[l - 1])) / np.sqrt(widths[l - 1]) for l in range(1, len(widths))]
    out, x, _ = tanh_chain_graph(rng.standard_normal((widths[0], 1)), Ws, activation=activation)
    return out, x


@pytest.mark.parametrize("seed", range(5))
def test_jacobian_costs_of_both_modes_equal_the_formulas(seed):
    rng = np.random.default_rng(seed)
    widths = [int(w) for w in rng.integers(1, 7, size=int(rng.integers(2, 6)))]
    out, x = chain(widths, rng)
    fwd, rev = jacobian_forward(out, [x]), jacobian_reverse(out, [x])
    np.testing.assert_allclose(fwd.matrix, rev.matrix, rtol=1e-12, atol=1e-14)
    # one pass = Σ_l (n_l n_{l-1} + n_l): a matrix–vector product with W_l and a diagonal tanh'
    per_pass = sum(widths[l] * widths[l - 1] + widths[l] for l in range(1, len(widths)))
    cost = chain_jacobian_cost(widths)
    assert cost["per_pass"] == per_pass
    assert (fwd.passes, fwd.multiply_adds) == (widths[0], widths[0] * per_pass) == (widths[0], cost["forward"])
    assert (rev.passes, rev.multiply_adds) == (widths[-1], widths[-1] * per_pass) == (widths[-1], cost["reverse"])


@pytest.mark.parametrize("seed", range(4))
def test_linear_chain_jacobian_costs_are_the_matrix_chain_costs(seed):
    # J = M_L … M_1: forward mode computes M_L (… (M_1 I)) right to left, reverse mode (I M_L) … M_1
    # left to right; measured counts equal chain_cost of those two chains.
    rng = np.random.default_rng(seed)
    widths = [int(w) for w in rng.integers(1, 8, size=int(rng.integers(3, 6)))]
    out, x = chain(widths, rng, activation=False)
    dims = list(reversed(widths))  # M_l is (n_l × n_{l-1}): the chain M_L … M_1 has dims n_L, …, n_0
    assert jacobian_forward(out, [x]).multiply_adds == chain_cost(dims + [widths[0]], "right")
    assert jacobian_reverse(out, [x]).multiply_adds == chain_cost([widths[-1]] + dims, "left")
    assert chain_jacobian_cost(widths, activation=False)["forward"] == chain_cost(dims + [widths[0]], "right")


@pytest.mark.parametrize("n, T", [(1, 1), (2, 3), (3, 5), (4, 2)])
def test_rtrl_is_forward_mode_and_costs_order_n4_per_step(n, T):
    rng = np.random.default_rng(n * 10 + T)
    L, W_hh = rnn_loss_graph(0.5 * rng.standard_normal((n, n)), rng.standard_normal((T, n, 1)),
                             rng.standard_normal((n, 1)), rng.standard_normal((n, 1)))
    fwd, rev = jacobian_forward(L, [W_hh]), jacobian_reverse(L, [W_hh])
    np.testing.assert_allclose(fwd.matrix, rev.matrix, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(rev.matrix.reshape(n, n), g.backprop(L, [W_hh])[W_hh], rtol=1e-13, atol=1e-15)
    cost = rnn_gradient_cost(n, T)
    assert (fwd.passes, rev.passes) == (n * n, 1)
    assert (fwd.multiply_adds, rev.multiply_adds) == (cost["forward"], cost["reverse"])


def test_forward_mode_wins_with_few_inputs_and_many_outputs():
    rng = np.random.default_rng(0)
    wide_out, x = chain([2, 16, 16, 32], rng)
    assert jacobian_forward(wide_out, [x]).multiply_adds < jacobian_reverse(wide_out, [x]).multiply_adds
    narrow_out, x = chain([32, 16, 16, 2], rng)
    assert jacobian_forward(narrow_out, [x]).multiply_adds > jacobian_reverse(narrow_out, [x]).multiply_adds


def small_network_loss(seed, activation="tanh", sizes=None, trained=False):
    rng = np.random.default_rng(seed)
    sizes = sizes or [2, int(rng.integers(3, 6)), 3]
    params = mlp.init_params(sizes, rng)
    x, y = rng.standard_normal((sizes[0], 12)), rng.integers(0, sizes[-1], 12)
    if trained:  # near a minimum the Hessian's large eigenvalues are positive
        for _ in range(300):
            _, grads = mlp.loss_and_grads(params, x, y, activation=activation, weight_decay=1e-3)
            params = {k: params[k] - 0.5 * grads[k] for k in params}
    return mlp_loss_graph(params, x, y, activation=activation, weight_decay=1e-3), rng


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mode", HVP.MODES)
@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_hvp_matches_finite_differences(mode, activation, seed):
    (J, variables), rng = small_network_loss(seed, activation)
    hvp = HVP(J, variables, mode)
    for _ in range(2):
        report = check_hvp(hvp, rng.standard_normal(hvp.n), threshold=THRESHOLD)
        assert report.ok, f"Hessian-vector product ({mode}) is wrong:\n{report}"


def test_hvp_modes_agree_and_give_a_known_quadratic_hessian():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((5, 5))
    x = g.variable(rng.standard_normal((5, 1)), "x")
    f = 0.5 * (x.T @ g.constant(A) @ x)
    for mode in HVP.MODES:
        H = hessian(HVP(f, [x], mode))
        np.testing.assert_allclose(H, (A + A.T) / 2, rtol=1e-13, atol=1e-14)
    (J, variables), _ = small_network_loss(3)
    v = rng.standard_normal(HVP(J, variables).n)
    np.testing.assert_allclose(HVP(J, variables, HVP.MODES[0])(v), HVP(J, variables, HVP.MODES[1])(v),
                               rtol=1e-10, atol=1e-13)


def test_hvp_validates():
    (J, variables), _ = small_network_loss(0)
    hvp = HVP(J, variables)
    with pytest.raises(ValueError, match="'v'"):
        hvp(np.ones(hvp.n + 1))
    with pytest.raises(ValueError, match="mode"):
        HVP(J, variables, "sideways")
    with pytest.raises(ValueError, match="scalar"):
        HVP(variables["W1"] * 2.0, variables)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mode", HVP.MODES)
def test_krylov_top_eigenvalue_of_a_network_hessian_matches_dense(mode, seed):
    (J, variables), rng = small_network_loss(seed, trained=True)
    hvp = HVP(J, variables, mode)
    H = hessian(hvp)
    assert np.max(np.abs(H - H.T)) <= 1e-12 * np.max(np.abs(H))
    dense = np.linalg.eigvalsh((H + H.T) / 2)
    assert dense[-1] > abs(dense[0]), "near a minimum the top eigenvalue dominates"
    pw = power_iteration(hvp, hvp.n, rng=rng)
    lz = lanczos_top(hvp, hvp.n, rng=rng)
    for name, est in (("power iteration", pw), ("Lanczos", lz)):
        assert abs(est.value - dense[-1]) <= 1e-6 * dense[-1], (name, est.value, dense[-1])
    assert lz.products < pw.products


def test_gradient_descent_on_the_local_quadratic_diverges_beyond_two_over_lambda_max():
    (J, variables), rng = small_network_loss(1, trained=True)
    hvp = HVP(J, variables)
    lam = lanczos_top(hvp, hvp.n, rng=rng).value
    d0 = rng.standard_normal(hvp.n)
    norms = {c: np.linalg.norm(gradient_descent(hvp, d0, c * 2.0 / lam, 60)[-1]) for c in (0.9, 1.1)}
    assert norms[0.9] < np.linalg.norm(d0) < norms[1.1]


@pytest.mark.parametrize("seed", SEEDS)
def test_jacobian_product_norms_match_the_engine_and_vanish_or_explode_with_gain(seed):
    rng = np.random.default_rng(seed)
    depth, width = 6, 5
    Ws = tanh_chain_weights(depth, width, 1.3, rng)
    x = rng.standard_normal(width)
    norms = tanh_chain_jacobian_norms(Ws, x)
    assert norms["forward"][-1] == pytest.approx(norms["reverse"][-1], rel=1e-12)  # both are ∂h_L/∂x
    for l in (1, 3, depth):  # ‖∂h_l/∂x‖ from the explicit products equals forward mode through the graph
        out, xn, _ = tanh_chain_graph(x[:, None], Ws[:l])
        J = jacobian_forward(out, [xn]).matrix
        assert norms["forward"][l - 1] == pytest.approx(np.linalg.norm(J, 2), rel=1e-10)
    out, xn, Wn = tanh_chain_graph(x[:, None], Ws)
    h2 = Wn[1].value @ np.tanh(Wn[0].value @ x[:, None])  # ∂h_L/∂h_2 by reverse mode from h_L
    Q = jacobian_reverse(*tanh_chain_graph(np.tanh(h2), Ws[2:])[:2]).matrix
    assert norms["reverse"][depth - 3] == pytest.approx(np.linalg.norm(Q, 2), rel=1e-10)
    small = tanh_chain_jacobian_norms(tanh_chain_weights(40, 16, 0.5, rng), rng.standard_normal(16))
    large = tanh_chain_jacobian_norms(tanh_chain_weights(40, 16, 3.0, rng), rng.standard_normal(16))
    for way in ("forward", "reverse"):
        assert small[way][-1] < 1e-8 and large[way][-1] > 1e2, way  # saturating tanh slows the growth


def test_formula_helpers_validate():
    with pytest.raises(ValueError, match="widths"):
        chain_jacobian_cost([3])
    with pytest.raises(ValueError, match=r"widths\[1\]"):
        chain_jacobian_cost([3, 0])
    with pytest.raises(ValueError, match="'T'"):
        rnn_gradient_cost(3, 0)
    with pytest.raises(ValueError, match="gain"):
        tanh_chain_weights(3, 3, 0.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"Ws\[1\]"):
        tanh_chain_jacobian_norms([np.eye(3), np.eye(4)], np.ones(3))
    with pytest.raises(ValueError, match="W_hh"):
        rnn_loss_graph(np.eye(3)[:2], np.ones((2, 3, 1)), np.ones((3, 1)), np.ones((3, 1)))
    params = mlp.init_params([2, 3, 2], np.random.default_rng(0))
    with pytest.raises(ValueError, match="activation"):
        mlp_loss_graph(params, np.ones((2, 4)), np.zeros(4, int), activation="softsign")
    with pytest.raises(ValueError, match="'x'"):
        mlp_loss_graph(params, np.ones((3, 4)), np.zeros(4, int))


def test_jacobian_product_norms_overflow_shows_as_inf_not_an_error():
    rng = np.random.default_rng(0)
    Ws = tanh_chain_weights(120, 4, 1e4, rng)  # at x = 0 every tanh' is 1: the product is W_L … W_1
    norms = tanh_chain_jacobian_norms(Ws, np.zeros(4))
    assert np.isinf(norms["forward"][-1]) and np.isinf(norms["reverse"][-1])
    assert np.all(np.isfinite(norms["forward"][:10]))
