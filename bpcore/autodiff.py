"""Automatic differentiation beyond backprop: forward mode, Jacobians both ways, Hessian-vector
products and Krylov methods on them (seed 002 §4, and §3.1 symbol-to-symbol).

Reverse mode (backprop) pulls one cotangent ``ū = ∂z/∂u`` from an output back to every input: one pass
gives a whole row of the Jacobian. Forward mode pushes one tangent ``u̇ = ∂u/∂x · ẋ`` from the inputs to
every output: one pass gives a whole column. Both apply the same local Jacobians, in opposite orders:

    reverse:  x̄ = J_1ᵀ (J_2ᵀ (… (J_Lᵀ ȳ)))         forward:  ẏ = J_L (… (J_2 (J_1 ẋ)))

Work is measured, not estimated: seeds are wrapped in :class:`Counted`, an ndarray subclass that counts
every multiplication one of whose factors depends on the seed (``a @ b`` of shapes (p, q)(q, r) counts
p·q·r multiply–adds, ``a * b`` counts one per element). Local derivatives such as ``1 - tanh²`` do not
involve the seed and are not counted: they are computed once per point, whatever the number of passes.

Public API
----------
Forward and reverse mode on :mod:`bpcore.graph` graphs::

    jvp(outputs, {variable: ẋ}, tally=None)        # tangents of the outputs (one sweep, topological order)
    vjp(output, ȳ, wrt, tally=None)                # [x̄ for x in wrt] (one sweep, each op's own bprop)
    JVP_RULES                                      # {graph op: rule}, one per op of bpcore.graph
    jacobian_forward(out, wrt) / jacobian_reverse(out, wrt) -> Jacobian(matrix, passes, multiply_adds)
    finite_difference_jvp(out, tangents), check_jvp(out, tangents) -> GradReport

Costs, measured and derived::

    counted(x), multiply_adds(x), Counted            # the instrument
    chain_multiply(matrices, "right"|"left") -> (product, measured); chain_cost(dims, order); chain_dims
    chain_jacobian_cost(widths), tanh_chain_graph(x, Ws)          # h_l = tanh(W_l h_{l-1})
    rnn_loss_graph(W_hh, u, h0, c), rnn_gradient_cost(n, T)       # RTRL (forward) vs BPTT (reverse)
    tanh_chain_weights(depth, width, gain, rng), tanh_chain_jacobian_norms(Ws, x)

Second order and Krylov::

    mlp_loss_graph(params, x, y, activation=, weight_decay=) -> (J node, {key: variable})
    HVP(loss, params, mode="reverse-over-reverse" | "forward-over-reverse")   # callable v ↦ H v (flat)
    hessian(hvp), finite_difference_hvp(hvp, v), check_hvp(hvp, v) -> GradReport
    power_iteration(matvec, n, rng=), lanczos(matvec, n, k), lanczos_top(matvec, n, rng=) -> Eigen
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpcore.validate import check_array, check_rng, check_scalar

# ------------------------------------------------------------------ measuring multiply–adds


class Counted(np.ndarray):
    """An ndarray that tallies the multiply–adds it takes part in, in a shared one-element list ``tally``.

    Every array computed from a :class:`Counted` is again :class:`Counted` (numpy propagates subclasses)
    and shares its tally, so seeding a pass with one counts the work of the whole pass.
    """

    def __new__(cls, value, tally: list):
        obj = np.asarray(value, dtype=float).view(cls)
        obj.tally = tally
        return obj

    def __array_finalize__(self, obj):
        self.tally = getattr(obj, "tally", None)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        tally = next(x.tally for x in inputs if isinstance(x, Counted))
        raw = [np.asarray(x).view(np.ndarray) if isinstance(x, Counted) else x for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(np.asarray(o).view(np.ndarray) if isinstance(o, Counted) else o
                                  for o in kwargs["out"])
        result = getattr(ufunc, method)(*raw, **kwargs)
        if method == "__call__":
            tally[0] += _multiply_adds(ufunc, raw, result)
        if isinstance(result, np.ndarray):
            return Counted.wrap(result, tally)
        return result

    @staticmethod
    def wrap(value, tally):
        out = np.asarray(value).view(Counted)
        out.tally = tally
        return out


_MULTIPLICATIVE = {np.multiply, np.divide, np.true_divide}


def _multiply_adds(ufunc, inputs, result) -> int:
    """Multiply–adds of one ufunc call: p·q·r for a (p,q)@(q,r) matmul, one per output element for ×, ÷."""
    if ufunc is np.matmul:
        a, b = (np.asarray(x) for x in inputs)
        inner = a.shape[-1]
        return int(np.size(result) * inner)
    if ufunc in _MULTIPLICATIVE:
        return int(np.size(result))
    return 0


def counted(value, tally: list | None = None) -> Counted:
    """Wrap ``value`` as a :class:`Counted` seed with a fresh (or the given) tally."""
    return Counted(value, [0] if tally is None else tally)


def multiply_adds(x) -> int:
    """The tally carried by ``x`` (0 for a plain array)."""
    return int(x.tally[0]) if isinstance(x, Counted) else 0


# ------------------------------------------------------------------ the matrix chain A B C d (002 §4)


def _check_chain(matrices):
    if len(matrices) < 2:
        raise ValueError(f"argument 'matrices': expected at least 2 factors, got {len(matrices)}")
    out = []
    for i, m in enumerate(matrices):
        m = check_array(f"matrices[{i}]", m)
        m = m[:, None] if m.ndim == 1 else m
        if m.ndim != 2:
            raise ValueError(f"argument 'matrices[{i}]': expected a matrix or a vector, got shape {m.shape}")
        if i and out[-1].shape[1] != m.shape[0]:
            raise ValueError(f"argument 'matrices[{i}]': expected {out[-1].shape[1]} rows to follow "
                             f"matrices[{i - 1}] of shape {out[-1].shape}, got shape {m.shape}")
        out.append(m)
    return out


def chain_dims(matrices) -> tuple:
    """``(d_0, d_1, …, d_k)`` for factors ``M_i`` of shape ``(d_{i-1}, d_i)``; a vector is ``(d, 1)``."""
    ms = _check_chain(list(matrices))
    return tuple([ms[0].shape[0]] + [m.shape[1] for m in ms])


def _check_dims(dims) -> list:
    d = [int(check_scalar(f"dims[{i}]", x, low=1, integer=True)) for i, x in enumerate(dims)]
    if len(d) < 3:
        raise ValueError(f"argument 'dims': expected at least 3 positive sizes, got {tuple(d)}")
    return d


def chain_cost(dims, order: str) -> int:
    """Multiply–adds of ``M_1 M_2 … M_k`` with ``M_i`` of shape ``(d_{i-1}, d_i)``, taken in one order.

    right-to-left (the running product is ``d_{i} × d_k``):  Σ_{i=1}^{k-1} d_{i-1} d_i d_k
    left-to-right (the running product is ``d_0 × d_i``):   Σ_{i=2}^{k}   d_0 d_{i-1} d_i

    With ``d_k = 1`` (a vector ``d`` at the right end) the first is ``Σ d_{i-1} d_i``, all matrix–vector
    products; in the second every product but the last is matrix–matrix.
    """
    d = _check_dims(dims)
    k = len(d) - 1
    if order == "right":
        return sum(d[i - 1] * d[i] * d[k] for i in range(1, k))
    if order == "left":
        return sum(d[0] * d[i - 1] * d[i] for i in range(2, k + 1))
    raise ValueError(f"argument 'order': expected 'right' or 'left', got {order!r}")


def chain_multiply(matrices, order: str):
    """Multiply ``M_1 … M_k`` right-to-left or left-to-right; return ``(product, measured multiply–adds)``."""
    ms = _check_chain(list(matrices))
    if order not in ("right", "left"):
        raise ValueError(f"argument 'order': expected 'right' or 'left', got {order!r}")
    tally = [0]
    if order == "right":
        acc = counted(ms[-1], tally)
        for m in reversed(ms[:-1]):
            acc = m @ acc
    else:
        acc = counted(ms[0], tally)
        for m in ms[1:]:
            acc = acc @ m
    return np.asarray(acc).view(np.ndarray), tally[0]


# ------------------------------------------------------------------ Krylov methods on a matrix–vector product


@dataclass
class Eigen:
    """An eigenvalue estimate from matrix–vector products only."""

    value: float
    vector: np.ndarray
    products: int  # how many times the operator was applied
    residual: float  # ‖A v - λ v‖ for the returned unit vector v


def _start_vector(n, v0, rng):
    if v0 is None:
        if rng is None:
            raise ValueError("give a start vector 'v0' or a generator 'rng'")
        v0 = check_rng(rng).standard_normal(n)
    v0 = check_array("v0", v0, (n,)).astype(float)
    norm = np.linalg.norm(v0)
    if norm == 0:
        raise ValueError("argument 'v0': the start vector is zero")
    return v0 / norm


def _apply(matvec, v):
    """``matvec(v)`` as ``len(v)`` real finite numbers (a column ``(n, 1)`` is fine), or an error naming ``matvec``."""
    w = check_array("matvec", matvec(v))
    if w.size != v.size:
        raise ValueError(f"argument 'matvec': expected A v with {v.size} entries (like v), got shape {w.shape}")
    return w.reshape(v.shape).astype(np.float64, copy=False)


def power_iteration(matvec, n: int, *, v0=None, rng: np.random.Generator | None = None, tol: float = 1e-12,
                    max_iter: int = 5000) -> Eigen:
    """The eigenvalue of largest magnitude of a symmetric operator given only ``v ↦ A v``.

    ``v ← A v / ‖A v‖`` aligns ``v`` with the top eigenvector at rate ``|λ_2/λ_1|`` per step; the Rayleigh
    quotient ``λ = vᵀ A v`` converges twice as fast. Stops when the residual ``‖A v - λ v‖ ≤ tol · |λ|``.
    If ``λ < 0`` it is the most negative eigenvalue: shift (``A + s I``) to find the largest one.
    """
    check_scalar("n", n, low=1, integer=True)
    check_scalar("tol", tol, low=0)
    check_scalar("max_iter", max_iter, low=1, integer=True)
    v = _start_vector(n, v0, rng)
    lam, res = 0.0, np.inf
    for it in range(1, max_iter + 1):
        w = _apply(matvec, v)
        lam = float(v @ w)
        res = float(np.linalg.norm(w - lam * v))
        if res <= tol * abs(lam):
            return Eigen(lam, v, it, res)
        v = w / np.linalg.norm(w)
    return Eigen(lam, v, max_iter, res)


def lanczos(matvec, n: int, k: int | None = None, *, v0=None, rng: np.random.Generator | None = None):
    """``k`` steps of Lanczos on a symmetric operator given only ``v ↦ A v``.

    Builds an orthonormal basis ``Q = [q_1 … q_k]`` of the Krylov space span{v, Av, …, A^{k-1} v} in which
    ``Qᵀ A Q = T`` is tridiagonal (``α_j`` on the diagonal, ``β_j`` beside it):

        w = A q_j - β_{j-1} q_{j-1},   α_j = q_jᵀ w,   w ← w - α_j q_j,   β_j = ‖w‖,   q_{j+1} = w / β_j.

    Rounding destroys the orthogonality of ``Q`` in floating point, so ``w`` is re-orthogonalized against all
    of ``Q`` (cheap at our sizes). The eigenvalues of ``T`` (Ritz values) approximate the extreme
    eigenvalues of ``A`` first; with ``k = n`` they are all of them. Returns ``(ritz_values, ritz_vectors,
    T)``, values ascending, vectors as columns of length ``n``.
    """
    check_scalar("n", n, low=1, integer=True)
    k = n if k is None else k
    check_scalar("k", k, low=1, high=n, integer=True)
    q = _start_vector(n, v0, rng)
    Q = np.zeros((n, k))
    alpha, beta = np.zeros(k), np.zeros(k)
    q_prev, b_prev, m = np.zeros(n), 0.0, k
    for j in range(k):
        Q[:, j] = q
        w = _apply(matvec, q) - b_prev * q_prev
        alpha[j] = q @ w
        w -= alpha[j] * q
        w -= Q[:, : j + 1] @ (Q[:, : j + 1].T @ w)  # full re-orthogonalization
        beta[j] = np.linalg.norm(w)
        if beta[j] <= 1e-12 * max(1.0, abs(alpha[j])):  # invariant subspace found: T is exact
            m = j + 1
            break
        q_prev, q, b_prev = q, w / beta[j], beta[j]
    T = np.diag(alpha[:m]) + np.diag(beta[: m - 1], 1) + np.diag(beta[: m - 1], -1)
    theta, S = np.linalg.eigh(T)
    return theta, Q[:, :m] @ S, T


def lanczos_top(matvec, n: int, *, v0=None, rng: np.random.Generator | None = None, tol: float = 1e-10,
                max_steps: int | None = None) -> Eigen:
    """The largest eigenvalue by Lanczos, growing the Krylov space until its residual ``≤ tol · |λ|``.

    Each try restarts with twice the steps; ``products`` counts every application of the operator,
    including the one that measures the residual ``‖A y - θ y‖`` of the returned pair.
    """
    check_scalar("n", n, low=1, integer=True)
    check_scalar("tol", tol, low=0)
    if max_steps is not None:
        check_scalar("max_steps", max_steps, low=1, integer=True)
    v = _start_vector(n, v0, rng)
    max_steps = n if max_steps is None else min(max_steps, n)
    k, products = min(5, n), 0
    while True:
        theta, Y, _ = lanczos(matvec, n, k, v0=v)
        y = Y[:, -1]
        res = float(np.linalg.norm(_apply(matvec, y) - theta[-1] * y))
        products += Y.shape[1] + 1
        if res <= tol * abs(theta[-1]) or k >= max_steps or Y.shape[1] < k:
            return Eigen(float(theta[-1]), y, products, res)
        k = min(2 * k, max_steps)  # restart with a larger space (simple; a production code would extend it)


# ------------------------------------------------------------------ Jacobian products through a deep tanh chain


def tanh_chain_weights(depth: int, width: int, gain: float, rng: np.random.Generator) -> list:
    """``depth`` square weights ``W_l = gain · G_l / √width`` with standard-normal ``G_l``.

    At gain 1 a random layer preserves the norm of a vector on average; below 1 it shrinks it, above 1 it
    stretches it (until tanh saturates and its derivative ``1 - h²`` pulls back).
    """
    check_scalar("depth", depth, low=1, integer=True)
    check_scalar("width", width, low=1, integer=True)
    check_scalar("gain", gain, low=0, low_open=True)
    check_rng(rng)
    return [gain * rng.standard_normal((width, width)) / np.sqrt(width) for _ in range(depth)]


def tanh_chain_jacobian_norms(Ws: list, x) -> dict:
    """Spectral norms of the Jacobian products of ``h_l = tanh(W_l h_{l-1})``, ``h_0 = x``, both ways.

    Each layer's Jacobian is ``J_l = ∂h_l/∂h_{l-1} = diag(1 - h_l²) W_l``. Forward accumulation builds
    ``P_l = J_l P_{l-1}`` (``∂h_l/∂x``, from the input up); reverse accumulation builds
    ``Q_l = Q_{l+1} J_{l+1}`` (``∂h_L/∂h_l``, from the output down). Returns ``{"forward": ‖P_l‖,
    "reverse": ‖Q_{L-l}‖}`` for ``l = 1 … L`` factors, so both curves are indexed by how many Jacobians
    they have multiplied; with ``l = L`` both are the whole ``∂h_L/∂x``.
    """
    x = check_array("x", x, (None,))
    h, Js = x, []
    for i, W in enumerate(Ws):
        W = check_array(f"Ws[{i}]", W, (None, h.shape[0]))
        h = np.tanh(W @ h)
        Js.append((1.0 - h**2)[:, None] * W)
    forward, reverse = [], []
    P, Q = np.eye(x.shape[0]), np.eye(h.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):  # extreme gains in the explorer overflow: plotted as inf
        for l in range(len(Js)):
            P = Js[l] @ P
            Q = Q @ Js[len(Js) - 1 - l]
            forward.append(_spectral_norm(P))
            reverse.append(_spectral_norm(Q))
    return {"forward": np.array(forward), "reverse": np.array(reverse)}


def _spectral_norm(M) -> float:
    if not np.all(np.isfinite(M)):
        return np.inf
    return float(np.linalg.norm(M, 2))


# ------------------------------------------------------------------ forward mode: tangents through a graph
#
# A JVP rule maps the tangents of an op's inputs to the tangent of its output, ``u̇ = Σ_i ∂u/∂x_i · ẋ_i``.
# Rules receive ``(tangents, values, out)``; a tangent of None is an exact zero (a constant, or an input
# no seed reaches), so no work is done or counted for it. Linear ops need no rule of their own: their
# tangent is the op itself applied to the tangents (``d(x + y) = ẋ + ẏ``, ``d(Σx) = Σẋ``, ``d(xᵀ) = ẋᵀ``).


def _zero_if_none(t, like):
    return np.zeros_like(np.asarray(like, dtype=float)) if t is None else t


def _linear(op):
    def rule(ts, vs, out):
        if all(t is None for t in ts):
            return None
        return op.f(*[_zero_if_none(t, v) for t, v in zip(ts, vs)])
    return rule


def _linear_in_first(op):
    """``sum_like(g, x)``, ``broadcast_like(h, x)``: linear in the first input, the second gives only a shape."""
    def rule(ts, vs, out):
        return None if ts[0] is None else op.f(ts[0], vs[1])
    return rule


def _sum(*terms):
    terms = [t for t in terms if t is not None]
    if not terms:
        return None
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def _mul_rule(ts, vs, out):
    (tx, ty), (x, y) = ts, vs
    return _sum(None if tx is None else tx * y, None if ty is None else x * ty)


def _div_rule(ts, vs, out):
    (tx, ty), (_, y) = ts, vs   # d(x/y) = (ẋ - (x/y) ẏ) / y
    if tx is None and ty is None:
        return None
    num = _sum(tx, None if ty is None else -(out * ty))
    return num / y


def _matmul_rule(ts, vs, out):
    (tx, ty), (x, y) = ts, vs
    return _sum(None if tx is None else tx @ y, None if ty is None else x @ ty)


def _pow_rule(ts, vs, out):
    (tx, tp), (x, p) = ts, vs   # d(x^p) = p x^(p-1) ẋ + x^p log(x) ṗ
    return _sum(None if tx is None else tx * (p * x ** (p - 1)),
                None if tp is None else tp * (out * np.log(x)))


def _max_rule(ts, vs, out):
    (tx, ty), (x, y) = ts, vs   # the graph's tie rule: at x == y the first argument carries the derivative
    first = (x >= y).astype(float)
    return _sum(None if tx is None else tx * first, None if ty is None else ty * (1.0 - first))


def _local(derivative):
    """Elementwise ops ``u = φ(x)``: ``u̇ = φ'(x) ẋ`` with φ' from the input and the output."""
    def rule(ts, vs, out):
        return None if ts[0] is None else ts[0] * derivative(vs[0], out)
    return rule


def _jvp_rules() -> dict:
    from bpcore import graph as g
    return {
        g.add: _linear(g.add), g.sub: _linear(g.sub), g.neg: _linear(g.neg), g.transpose: _linear(g.transpose),
        g.reduce_sum: _linear(g.reduce_sum),
        g.sum_like: _linear_in_first(g.sum_like), g.broadcast_like: _linear_in_first(g.broadcast_like),
        g.mul: _mul_rule, g.div: _div_rule, g.matmul: _matmul_rule, g.power: _pow_rule, g.maximum: _max_rule,
        g.exp: _local(lambda x, out: out),
        g.log: _local(lambda x, out: 1.0 / x),
        g.tanh: _local(lambda x, out: 1.0 - out * out),
        g.sigmoid: _local(lambda x, out: out * (1.0 - out)),
        g.relu: _local(lambda x, out: (x > 0).astype(float)),
        # piecewise-constant ops: zero derivative wherever it exists
        g.ge: lambda ts, vs, out: None, g.step: lambda ts, vs, out: None,
        g.ones_like: lambda ts, vs, out: None, g.zeros_like: lambda ts, vs, out: None,
    }


JVP_RULES = _jvp_rules()


def _nodes(outputs):
    from bpcore.graph import Node
    if isinstance(outputs, Node):
        return [outputs]
    outputs = list(outputs)
    for i, o in enumerate(outputs):
        if not isinstance(o, Node):
            raise ValueError(f"argument 'outputs[{i}]': expected a graph Node, got {type(o).__name__}")
    return outputs


def _keep_tally(t, tally):
    """Graph ops return plain arrays; re-attach the tally so later products keep being counted."""
    if t is None or tally is None:
        return t
    return Counted.wrap(np.asarray(t), tally)


def _check_seed(name, node, value, tally):
    value = check_array(f"{name}[{node.name or node.label}]", value, np.shape(node.value))
    return Counted(value, tally) if tally is not None else value.astype(float)


def jvp(outputs, tangents: dict, *, tally: list | None = None):
    """Forward mode: push tangents ``{variable node: ẋ}`` through the graph; return the outputs' tangents.

    One sweep in topological order, as the forward pass itself: ``u̇ = Σ_i ∂u/∂x_i ẋ_i`` at every node,
    by :data:`JVP_RULES`. Values come from the nodes (run :func:`bpcore.graph.forward` first if you fed
    new ones). Returns one array (a single output) or a list, zeros where no seed reaches. With ``tally``
    (a one-element list) every multiply–add that touches a tangent is added to ``tally[0]``.
    """
    outs = _nodes(outputs)
    from bpcore.graph import topological_order
    order = topological_order(outs)
    if any(n.value is None for n in order):
        from bpcore.graph import forward
        forward(outs)
    tan = {}
    for node, value in tangents.items():  # a variable the outputs do not depend on just contributes nothing
        if not getattr(node, "is_variable", False):
            raise ValueError(f"argument 'tangents': keys must be variable nodes, got "
                             f"{getattr(node, 'kind', type(node).__name__)!r}")
        tan[node.id] = _check_seed("tangents", node, value, tally)
    for node in order:
        if node.op is None:
            continue
        if node.op not in JVP_RULES:
            raise NotImplementedError(f"no JVP rule for op '{node.op.name}'")
        ts = [tan.get(i.id) for i in node.inputs]
        if all(t is None for t in ts):
            continue
        t = JVP_RULES[node.op](ts, [i.value for i in node.inputs], node.value)
        if t is not None:
            tan[node.id] = _keep_tally(t, tally)
    result = [np.asarray(tan[o.id]).view(np.ndarray) if o.id in tan else np.zeros_like(o.value, dtype=float)
              for o in outs]
    return result if isinstance(outputs, (list, tuple)) else result[0]


def vjp(output, cotangent, wrt, *, tally: list | None = None) -> list:
    """Reverse mode: pull a cotangent ``ȳ`` (shape of ``output``) back to the nodes ``wrt``.

    The same sweep as :func:`bpcore.graph.backprop` (each op's own ``bprop`` in reverse topological order,
    fan-out contributions summed), repeated here so a tally can ride on the cotangent and count its
    multiply–adds; a test checks it against ``backprop``. Returns ``[x̄ for x in wrt]``.
    """
    from bpcore.graph import topological_order
    (out,) = _nodes(output)
    wrt = _nodes(wrt)
    order = topological_order(out)
    targets = {w.id for w in wrt}
    needs = {}
    for n in order:
        needs[n.id] = n.id in targets or any(needs[i.id] for i in n.inputs)
    G = check_array("cotangent", cotangent, np.shape(out.value))
    table = {out.id: Counted(G, tally) if tally is not None else G.astype(float)}
    for node in reversed(order):
        if node.op is None or node.id not in table:
            continue
        parts = node.op.bprop([i.value for i in node.inputs], node.value, table[node.id],
                              needs=[needs[i.id] for i in node.inputs])
        for inp, part in zip(node.inputs, parts):
            if part is not None:
                part = _keep_tally(part, tally)
                table[inp.id] = table[inp.id] + part if inp.id in table else part
    return [np.asarray(table[w.id]).view(np.ndarray) if w.id in table else np.zeros_like(w.value, dtype=float)
            for w in wrt]


# ------------------------------------------------------------------ full Jacobians, both ways


@dataclass
class Jacobian:
    """``matrix[i, j] = ∂y_i/∂x_j`` (outputs and inputs flattened in order), with the work it took."""

    matrix: np.ndarray
    passes: int
    multiply_adds: int


def _sizes(nodes):
    return [int(np.size(n.value)) for n in nodes]


def _evaluated(output, wrt):
    from bpcore.graph import forward
    (out,) = _nodes(output)
    if out.value is None:
        forward(out)
    return out, _nodes(wrt)


def _basis(shape):
    """The unit arrays ``e_j`` of ``shape``, one per entry, in flat order."""
    for j in range(int(np.prod(shape, dtype=int))):
        e = np.zeros(shape)
        e.flat[j] = 1.0
        yield e


def jacobian_forward(output, wrt) -> Jacobian:
    """The Jacobian by forward mode: one JVP per input entry ``e_j`` gives column ``j``."""
    out, wrt = _evaluated(output, wrt)
    tally = [0]
    cols = [np.ravel(jvp(out, {w: e}, tally=tally)) for w in wrt for e in _basis(np.shape(w.value))]
    return Jacobian(np.stack(cols, axis=1), len(cols), tally[0])


def jacobian_reverse(output, wrt) -> Jacobian:
    """The Jacobian by reverse mode: one VJP per output entry ``e_i`` gives row ``i``."""
    out, wrt = _evaluated(output, wrt)
    tally = [0]
    rows = [np.concatenate([np.ravel(g) for g in vjp(out, e, wrt, tally=tally)]) for e in _basis(np.shape(out.value))]
    return Jacobian(np.stack(rows, axis=0), len(rows), tally[0])


def tanh_chain_graph(x, Ws, *, activation: bool = True):
    """``h_l = tanh(W_l h_{l-1})`` (or ``W_l h_{l-1}`` with ``activation=False``), ``h_0 = x``, as a graph.

    ``x`` is a column ``(n_0, 1)``; returns ``(h_L node, x node, [W_l nodes])`` with ``x`` and the ``W_l``
    as variables.
    """
    from bpcore import graph as g
    x = g.variable(check_array("x", x, (None, 1)), "x")
    h, nodes = x, []
    for l, W in enumerate(Ws, start=1):
        W = g.variable(check_array(f"Ws[{l - 1}]", W, (None, h.value.shape[0])), f"W{l}")
        nodes.append(W)
        h = g.tanh(W @ h) if activation else W @ h
    return h, x, nodes


def chain_jacobian_cost(widths, *, activation: bool = True) -> dict:
    """Multiply–adds of the full Jacobian ``∂h_L/∂x`` of a chain with layer widths ``n_0 … n_L``.

    One pass in either direction multiplies once by each ``W_l`` (``n_l n_{l-1}``) and, with tanh, once by
    each diagonal ``1 - h_l²`` (``n_l``): ``P = Σ_l (n_l n_{l-1} + n_l)``. Forward mode needs one pass per
    input, reverse mode one per output: ``forward = n_0 P``, ``reverse = n_L P``.
    """
    n = [int(check_scalar(f"widths[{i}]", w, low=1, integer=True)) for i, w in enumerate(widths)]
    if len(n) < 2:
        raise ValueError(f"argument 'widths': expected at least [n_0, n_1], got {n}")
    per_pass = sum(n[l] * n[l - 1] + (n[l] if activation else 0) for l in range(1, len(n)))
    return {"per_pass": per_pass, "forward": n[0] * per_pass, "reverse": n[-1] * per_pass}


# ------------------------------------------------------------------ forward mode in a recurrent net (RTRL)


def rnn_loss_graph(W_hh, u, h0, c):
    """``h_t = tanh(W_hh h_{t-1} + u_t)`` for ``t = 1 … T`` and ``L = cᵀ h_T``, as a graph.

    ``u`` is ``(T, n, 1)`` (the inputs already projected, ``u_t = W_xh x_t``), ``h0`` and ``c`` are
    ``(n, 1)``. Returns ``(L node, W_hh node)``. Forward mode with one tangent per entry of ``W_hh`` is
    real-time recurrent learning: the tangents ``∂h_t/∂W_hh`` travel forward with the state.
    """
    from bpcore import graph as g
    dims = {}
    W_hh = g.variable(check_array("W_hh", W_hh, ("n", "n"), dims), "W_hh")
    u = check_array("u", u, (None, "n", 1), dims)
    h = g.constant(check_array("h0", h0, ("n", 1), dims))
    for t in range(u.shape[0]):
        h = g.tanh(W_hh @ h + g.constant(u[t]))
    return g.reduce_sum(g.constant(check_array("c", c, ("n", 1), dims)) * h), W_hh


def rnn_gradient_cost(n: int, T: int) -> dict:
    """Multiply–adds of ``∂L/∂W_hh`` for :func:`rnn_loss_graph`, forward mode (RTRL) and reverse (BPTT).

    Forward mode, one pass per entry of ``W_hh`` (n² passes). In a pass, step 1 costs ``Ẇ h_0`` (n²) and
    the tanh factor (n); every later step also carries ``W_hh ḣ_{t-1}`` (n² more); the readout ``c ⊙ ḣ_T``
    costs n. So ``n² [(n² + n) + (T-1)(2n² + n) + n]`` — about ``2 T n⁴``: order n⁴ per time step.
    Reverse mode, one pass: ``c ⊙ ḡ`` (n), per step the tanh factor (n) and ``ḡ h_{t-1}ᵀ`` (n²), and for
    ``t ≥ 2`` ``W_hhᵀ ḡ`` (n²): ``n + T(n + n²) + (T-1) n²`` — about ``2 T n²``.
    """
    check_scalar("n", n, low=1, integer=True)
    check_scalar("T", T, low=1, integer=True)
    forward = n * n * ((n * n + n) + (T - 1) * (2 * n * n + n) + n)
    reverse = n + T * (n + n * n) + (T - 1) * n * n
    return {"forward": forward, "reverse": reverse}


# ------------------------------------------------------------------ a small network's loss as a graph


def mlp_loss_graph(params: dict, x, y, *, activation: str = "tanh", weight_decay: float = 0.0):
    """The loss of :mod:`bpcore.mlp`'s network built as a graph: ``(J node, {key: variable node})``.

    ``a_k = W_k h_{k-1} + b_k``, ``h_k = f(a_k)`` for hidden layers, logits ``z = a_l``, and the mean
    cross-entropy written with graph ops only, ``J = (1/B) Σ_b [log Σ_k e^{z_kb} - z_{y_b b}]
    + λ Σ_k ‖W_k‖²``, where ``Σ_k e^{z_kb}`` is ``1ᵀ exp(z)`` (a matmul by a row of ones). Written this
    way backprop differentiates through exp and log separately (it cannot find the shortcut
    ``softmax(z) - onehot(y)``), and ``build_grad`` can differentiate the result once more.
    """
    from bpcore import graph as g
    from bpcore.functional import check_labels, onehot
    from bpcore.mlp import n_layers
    acts = {"tanh": g.tanh, "sigmoid": g.sigmoid, "relu": g.relu}
    if activation not in acts:
        raise ValueError(f"argument 'activation': expected one of {list(acts)}, got {activation!r}")
    check_scalar("weight_decay", weight_decay, low=0)
    l = n_layers(params)
    x = check_array("x", x, (params["W1"].shape[1], None))
    variables = {k: g.variable(check_array(f"params['{k}']", v), k) for k, v in params.items()}
    h = g.constant(x)
    for k in range(1, l + 1):
        a = variables[f"W{k}"] @ h
        a = a + variables[f"b{k}"] if f"b{k}" in variables else a
        h = acts[activation](a) if k < l else a
    K, B = h.value.shape
    Y = g.constant(onehot(check_labels(y, K, B), K))
    J = (g.reduce_sum(g.log(g.constant(np.ones((1, K))) @ g.exp(h))) - g.reduce_sum(Y * h)) / float(B)
    if weight_decay:
        J = J + weight_decay * sum((g.reduce_sum(variables[f"W{k}"] ** 2.0) for k in range(2, l + 1)),
                                   g.reduce_sum(variables["W1"] ** 2.0))
    return J, variables


# ------------------------------------------------------------------ Hessian-vector products


def _flat(arrays) -> np.ndarray:
    return np.concatenate([np.ravel(a) for a in arrays])


def _split(v, nodes) -> list:
    out, start = [], 0
    for n in nodes:
        size = int(np.size(n.value))
        out.append(v[start:start + size].reshape(np.shape(n.value)))
        start += size
    return out


class HVP:
    """``v ↦ H v`` for a scalar graph ``loss`` and parameter nodes ``params``, without forming ``H``.

    ``mode="reverse-over-reverse"``: ``H v = ∇_θ [(∇_θ J)ᵀ v]`` (002 §4). ``build_grad`` adds the gradient
    nodes ``g = ∇_θ J`` to the graph, we add ``s = Σ g ⊙ v`` with ``v`` a new leaf (not differentiated: it
    does not depend on θ), and ``build_grad`` again gives nodes for ``∇_θ s = H v``. Each call feeds a new
    ``v`` and re-evaluates the graph.

    ``mode="forward-over-reverse"``: ``H v`` is the directional derivative of the gradient along ``v``,
    ``d/dε ∇J(θ + ε v)``, so one forward-mode sweep (:func:`jvp`) with tangent ``v`` on ``θ`` through the
    gradient nodes gives it. Same cost order as one gradient; no second graph is built.

    ``v`` and the result are flat vectors (parameters in the order given); ``calls`` counts products.
    """

    MODES = ("reverse-over-reverse", "forward-over-reverse")

    def __init__(self, loss, params, mode: str = "reverse-over-reverse"):
        from bpcore import graph as g
        if mode not in self.MODES:
            raise ValueError(f"argument 'mode': expected one of {self.MODES}, got {mode!r}")
        (self.loss,) = _nodes(loss)
        if np.size(self.loss.value) != 1:
            raise ValueError(f"argument 'loss': expected a scalar node, got shape {np.shape(self.loss.value)}")
        self.params = _nodes(list(params.values()) if isinstance(params, dict) else params)
        self.mode, self.calls = mode, 0
        self.n = sum(_sizes(self.params))
        table = g.build_grad(self.loss, self.params)
        self.grads = [table[p] for p in self.params]
        if mode == "reverse-over-reverse":
            self.v = [g.variable(np.zeros(np.shape(p.value)), f"v[{p.name}]") for p in self.params]
            s = g.reduce_sum(self.grads[0] * self.v[0])
            for gi, vi in zip(self.grads[1:], self.v[1:]):
                s = s + g.reduce_sum(gi * vi)
            table2 = g.build_grad(s, self.params)
            self.hv = [table2[p] for p in self.params]

    def gradient(self) -> np.ndarray:
        """``∇_θ J`` at the current values, flat."""
        from bpcore.graph import forward
        return _flat(forward(self.grads))

    def __call__(self, v) -> np.ndarray:
        from bpcore.graph import forward
        v = check_array("v", v, (self.n,))
        self.calls += 1
        if self.mode == "reverse-over-reverse":
            return _flat(forward(self.hv, feed=dict(zip(self.v, _split(v, self.params)))))
        forward(self.grads)
        return _flat(jvp(self.grads, dict(zip(self.params, _split(v, self.params)))))


def hessian(hvp: HVP) -> np.ndarray:
    """The dense Hessian, one product per column ``H e_j`` (n products; for checking, small n only)."""
    return np.stack([hvp(e) for e in np.eye(hvp.n)], axis=1)


def finite_difference_hvp(hvp: HVP, v, *, step: float = 1e-4) -> np.ndarray:
    """``H v`` from gradients alone: fourth-order centred differences of ``∇J(θ + ε v)`` in ``ε``.

    ``[8 (g(θ+hv) - g(θ-hv)) - (g(θ+2hv) - g(θ-2hv))] / (12 h)``; θ is restored afterwards.
    """
    from bpcore.graph import forward
    v = check_array("v", v, (hvp.n,)).astype(np.float64)      # ε·v in float16 would be rounded
    theta = [np.array(p.value, copy=True) for p in hvp.params]

    def grad_at(eps):
        forward(hvp.grads, feed={p: t + eps * d for p, t, d in zip(hvp.params, theta, _split(v, hvp.params))})
        return _flat([gi.value for gi in hvp.grads])

    try:
        return (8 * (grad_at(step) - grad_at(-step)) - (grad_at(2 * step) - grad_at(-2 * step))) / (12 * step)
    finally:
        forward(hvp.grads, feed=dict(zip(hvp.params, theta)))


# ------------------------------------------------------------------ checks against finite differences


def finite_difference_jvp(output, tangents: dict, *, step: float = 1e-4) -> np.ndarray:
    """``d/dε output(x + ε ẋ)`` at ε = 0 by fourth-order centred differences; the values are restored."""
    from bpcore.graph import forward
    (out,) = _nodes(output)
    if out.value is None:
        forward(out)
    base = {n: np.array(n.value, copy=True) for n in tangents}
    dirs = {n: check_array(f"tangents[{n.name or n.label}]", t, np.shape(n.value)).astype(np.float64)  # ε·ẋ in
            for n, t in tangents.items()}                                                   # float16 is rounded

    def at(eps):
        return np.array(forward(out, feed={n: base[n] + eps * dirs[n] for n in base}), dtype=float)

    try:
        return (8 * (at(step) - at(-step)) - (at(2 * step) - at(-2 * step))) / (12 * step)
    finally:
        forward(out, feed=base)


def check_jvp(output, tangents: dict, *, threshold: float = 1e-7, step: float = 1e-4):
    """Compare :func:`jvp` with :func:`finite_difference_jvp`; a :class:`bpcore.gradcheck.GradReport`."""
    from bpcore.gradcheck import compare
    (out,) = _nodes(output)
    name = f"d{out.label}"
    return compare({name: jvp(out, tangents)}, {name: finite_difference_jvp(out, tangents, step=step)},
                   threshold=threshold)


def check_hvp(hvp: HVP, v, *, threshold: float = 1e-7, step: float = 1e-4):
    """Compare ``hvp(v)`` with :func:`finite_difference_hvp`; a :class:`bpcore.gradcheck.GradReport`."""
    from bpcore.gradcheck import compare
    name = f"Hv ({hvp.mode})"
    return compare({name: hvp(v)}, {name: finite_difference_hvp(hvp, v, step=step)}, threshold=threshold)
