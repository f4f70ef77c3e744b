"""A computational-graph engine on numpy tensors: forward in topological order, backprop, build_grad.

Seed 002 §2–§3 (Goodfellow et al., *Deep Learning* 6.5). A graph is made of :class:`Node` objects:
a *variable* (a leaf holding a value), a *constant*, or the result of an :class:`Op` applied to input
nodes. Every op carries its forward ``f`` and, right beside it, one local backward rule per input;
``op.bprop`` applies them. Because the rules are written with the ops themselves (``G * y``,
``sum_like(G, x)``, ``G @ y.T`` …), the *same* rule runs on numbers (symbol-to-number, :func:`backprop`)
and on nodes (symbol-to-symbol, :func:`build_grad`, which adds gradient nodes to the graph so they can
be differentiated again).

Public API
----------
Building graphs::

    x = variable(-2.0, "x"); y = variable(5.0, "y"); z = variable(-4.0, "z")
    q = x + y          # Node; operators + - * / ** @, unary -, .T
    f = q * z          # nodes are evaluated as soon as their inputs have values (f.value == -12)
    c = constant(2.0)  # a leaf that never receives a gradient

``variable(value, name=None) -> Node`` (value checked: numeric, finite), ``constant(value) -> Node``.
Node attributes: ``value`` (ndarray or None), ``op`` (None for leaves), ``inputs`` (tuple of nodes),
``name``, ``label`` (what a drawing shows), ``is_variable``, ``is_constant``.

Ops (each an :class:`Op` instance, callable on nodes *or* on plain arrays)::

    add sub mul div matmul power neg transpose      # also reachable through operators
    maximum exp log tanh sigmoid relu reduce_sum    # the expression names are max and sum
    sum_like broadcast_like ge step ones_like zeros_like   # helpers used inside backward rules

``Op(name, f, *grads, symbol=None, skip=None)``: ``f(*values) -> array``; ``grads[i](*inputs, out, G)``
returns the contribution to input i's gradient given the upstream gradient ``G`` (or None for an input
that receives no gradient). ``op.bprop(inputs, out, G, needs=None) -> list``.

Running::

    forward(outputs, feed=None)           # re-evaluate in topological order; feed = {node or name: value}
    topological_order(outputs) -> list    # inputs before the nodes that use them
    backprop(out, wrt=None, G=None, counter=None) -> GradTable   # symbol-to-number: {node: ndarray}
    build_grad(out, wrt=None, G=None) -> GradTable                # symbol-to-symbol: {node: Node}
    parse(text, values) -> (out, variables)   # a student's expression, parsed with ast (never eval);
                                          # at most MAX_EXPRESSION_LENGTH characters and MAX_NODES nodes
    operation_counts(out, w) -> dict      # naive chain-rule expansion vs backprop, see below

``GradTable`` is a dict keyed by node that also accepts a variable's name (``grads["x"]``).
``backprop`` builds a fresh table on every call, so running it twice gives identical gradients
(nothing accumulates across calls); a node used by several consumers (fan-out) gets the sum of their
contributions. ``wrt`` defaults to every variable the output depends on; a ``wrt`` node the output
does not depend on gets a zero gradient. A non-scalar output needs an explicit upstream ``G``.

Conventions and rules
---------------------
* Binary ops broadcast like numpy; their backward sums the gradient back to each input's shape
  (``sum_like(G, x)``).
* ``matmul`` takes 2-d arrays (vectors are columns); mismatched inner sizes raise ``ValueError``.
* ``maximum`` routes the gradient to the larger input with the tie rule
  ``∂max(x, y)/∂x = 1 if x >= y else 0`` and ``∂max(x, y)/∂y = 1 if y > x else 0``: at a tie the whole
  gradient goes to the first argument, never split and never lost. ``relu`` uses derivative 0 at 0.
* NaN or inf as an input value, or produced by an op (``log`` of a negative number, an ``exp`` that
  overflows), raises ``ValueError`` naming the op.
* ``build_grad`` specializes to the shapes of the current values: it leaves out ``sum_like`` /
  ``broadcast_like`` nodes where shapes already agree. Feeding values of other shapes needs a new
  ``build_grad``.

Operation counts (seed 002 §3, complexity): for a scalar output z and input w,
naive chain-rule expansion sums one product of local derivatives per path from w to z; a path of L
edges costs L multiplications (starting from ∂z/∂z = 1) and adding P path products costs P − 1
additions, so ``naive = Σ_paths L + P − 1``. Backprop multiplies once per edge and adds once per extra
consumer of a node: ``backprop = E + Σ_v (c_v − 1)``, linear in the size of the graph, while the number
of paths P can grow exponentially with depth when subexpressions are shared.
"""

from __future__ import annotations

import ast
import itertools

import numpy as np

from bpcore.validate import check_array

__all__ = [
    "Node", "Op", "GradTable", "variable", "constant", "forward", "topological_order", "backprop",
    "build_grad", "parse", "operation_counts", "FUNCTIONS",
    "add", "sub", "mul", "div", "matmul", "power", "neg", "transpose", "maximum", "exp", "log", "tanh",
    "sigmoid", "relu", "reduce_sum", "sum_like", "broadcast_like", "ge", "step", "ones_like", "zeros_like",
]

_ids = itertools.count()


class Node:
    """A symbol of the graph: a leaf (variable or constant) or ``op(*inputs)``; ``value`` once evaluated."""

    __array_ufunc__ = None  # ndarray (op) Node defers to Node's reflected operators

    def __init__(self, op=None, inputs=(), *, value=None, name=None, kind="op"):
        self.op, self.inputs, self.name, self.kind = op, tuple(inputs), name, kind
        self.id = next(_ids)
        self.value = value
        if op is not None and all(i.value is not None for i in self.inputs):
            self.value = _run(op, [i.value for i in self.inputs])

    is_variable = property(lambda self: self.kind == "variable")
    is_constant = property(lambda self: self.kind == "constant")

    @property
    def label(self) -> str:
        if self.op is not None:
            return self.op.symbol
        if self.name is not None:
            return self.name
        if np.size(self.value) == 1:  # 0-d or a one-element array such as ones(1)
            return f"{float(np.asarray(self.value).reshape(())):g}"
        return f"const{np.shape(self.value)}"

    def __repr__(self):
        shown = "None" if self.value is None else np.array2string(np.asarray(self.value), precision=4)
        return f"Node({self.label}, value={shown})"

    __add__ = lambda a, b: add(a, b)
    __radd__ = lambda a, b: add(b, a)
    __sub__ = lambda a, b: sub(a, b)
    __rsub__ = lambda a, b: sub(b, a)
    __mul__ = lambda a, b: mul(a, b)
    __rmul__ = lambda a, b: mul(b, a)
    __truediv__ = lambda a, b: div(a, b)
    __rtruediv__ = lambda a, b: div(b, a)
    __pow__ = lambda a, b: power(a, b)
    __rpow__ = lambda a, b: power(b, a)
    __matmul__ = lambda a, b: matmul(a, b)
    __rmatmul__ = lambda a, b: matmul(b, a)
    __neg__ = lambda a: neg(a)
    T = property(lambda a: transpose(a))


def _as_value(name, value):
    arr = check_array(name, value)
    return arr if np.issubdtype(arr.dtype, np.floating) else arr.astype(np.float64)


def variable(value, name: str | None = None) -> Node:
    """A leaf whose gradient backprop computes; ``value`` must be numeric and finite (or None: set later)."""
    value = None if value is None else _as_value(name or "value", value)
    return Node(value=value, name=name, kind="variable")


def constant(value) -> Node:
    """A leaf that never receives a gradient (a number in an expression, an exponent, a one-hot label)."""
    return Node(value=_as_value("constant", value), kind="constant")


def _run(op, values):
    """``op.f`` on values, with non-finite results turned into a clear error instead of a silent NaN."""
    shapes = ", ".join(str(np.shape(v)) for v in values)
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(op.f(*values))
    except ValueError as e:  # e.g. shapes that do not broadcast: say which op, and the shapes it got
        raise ValueError(f"op '{op.name}' on inputs of shape {shapes}: {e}") from None
    if np.issubdtype(out.dtype, np.inexact) and not np.all(np.isfinite(out)):
        raise ValueError(f"op '{op.name}' produced NaN or inf from inputs of shape {shapes} "
                         f"(e.g. log of a number <= 0, or exp overflowing)")
    return out


class Op:
    """An operation: forward ``f`` and one local backward rule per input, ``grads[i](*inputs, out, G)``.

    Calling the op on nodes adds a node to the graph; calling it on arrays just computes ``f``.
    ``skip(*values)`` (optional) says when the op is the identity on its first input, so none is built.
    """

    def __init__(self, name, f, *grads, symbol=None, skip=None):
        self.name, self.f, self.grads = name, f, grads
        self.symbol, self.skip = symbol or name, skip

    def __call__(self, *args):
        if not any(isinstance(a, Node) for a in args):
            return _run(self, [a if isinstance(a, np.ndarray) else np.asarray(a, np.float64) for a in args])
        nodes = [a if isinstance(a, Node) else constant(a) for a in args]
        if self.skip is not None and all(n.value is not None for n in nodes) and \
                self.skip(*[n.value for n in nodes]):
            return nodes[0]
        return Node(self, nodes)

    def bprop(self, inputs, out, G, needs=None):
        """Contributions ``G · ∂out/∂inputs[i]`` (numbers or nodes, like the arguments); None where not needed."""
        return [None if rule is None or (needs is not None and not needs[i]) else rule(*inputs, out, G)
                for i, rule in enumerate(self.grads)]

    def __repr__(self):
        return f"Op({self.name})"


def _sum_to(g, shape):
    """Sum ``g`` over the axes that broadcasting added or stretched, so the result has ``shape``."""
    g = np.asarray(g)
    if g.shape == tuple(shape):
        return g
    g = g.sum(axis=tuple(range(g.ndim - len(shape)))) if g.ndim > len(shape) else g
    stretched = tuple(a for a, n in enumerate(shape) if n == 1 and g.shape[a] != 1)
    return g.sum(axis=stretched, keepdims=True) if stretched else g


def _matmul(x, y):
    if np.ndim(x) != 2 or np.ndim(y) != 2:
        raise ValueError(f"matmul: both operands must be 2-d (vectors as columns), got shapes "
                         f"{np.shape(x)} and {np.shape(y)}")
    if x.shape[1] != y.shape[0]:
        raise ValueError(f"matmul: shapes {x.shape} and {y.shape} do not align "
                         f"(inner sizes {x.shape[1]} != {y.shape[0]})")
    return x @ y


_same_shape = lambda a, b: np.shape(a) == np.shape(b)
# Shape helpers: the backward of broadcasting is a sum, and the backward of a sum is a broadcast.
sum_like = Op("sum_like", lambda g, x: _sum_to(g, np.shape(x)),
              lambda g, x, out, G: broadcast_like(G, g), None, symbol="sum_to", skip=_same_shape)
broadcast_like = Op("broadcast_like", lambda h, x: np.broadcast_to(h, np.shape(x)).copy(),
                    lambda h, x, out, G: sum_like(G, h), None, symbol="broadcast", skip=_same_shape)
# Masks and seeds: piecewise-constant, so no gradient flows through them.
ge = Op("ge", lambda x, y: (x >= y).astype(np.result_type(x, y)), None, None, symbol=">=")
step = Op("step", lambda x: (x > 0).astype(x.dtype), None, symbol="step")
ones_like = Op("ones_like", lambda x: np.ones_like(x), None, symbol="1")
zeros_like = Op("zeros_like", lambda x: np.zeros_like(x), None, symbol="0")

# The ops: forward, then the local backward of each input, each given (*inputs, out, G).
add = Op("add", lambda x, y: x + y,
         lambda x, y, out, G: sum_like(G, x),
         lambda x, y, out, G: sum_like(G, y), symbol="+")
sub = Op("sub", lambda x, y: x - y,
         lambda x, y, out, G: sum_like(G, x),
         lambda x, y, out, G: sum_like(-G, y), symbol="-")
mul = Op("mul", lambda x, y: x * y,
         lambda x, y, out, G: sum_like(G * y, x),   # the multiply gate swaps its inputs
         lambda x, y, out, G: sum_like(G * x, y), symbol="×")
div = Op("div", lambda x, y: x / y,
         lambda x, y, out, G: sum_like(G / y, x),
         lambda x, y, out, G: sum_like(-G * out / y, y), symbol="÷")
matmul = Op("matmul", _matmul,
            lambda x, y, out, G: G @ y.T,
            lambda x, y, out, G: x.T @ G, symbol="@")
power = Op("pow", lambda x, p: x ** p,
           lambda x, p, out, G: sum_like(G * p * x ** (p - 1), x),
           lambda x, p, out, G: sum_like(G * out * log(x), p), symbol="^")
neg = Op("neg", lambda x: -x, lambda x, out, G: -G, symbol="−")
transpose = Op("transpose", lambda x: np.swapaxes(x, -1, -2) if np.ndim(x) >= 2 else x,
               lambda x, out, G: G.T, symbol="T")
maximum = Op("max", np.maximum,   # tie rule: the first argument wins when x >= y
             lambda x, y, out, G: sum_like(G * ge(x, y), x),
             lambda x, y, out, G: sum_like(G * (1 - ge(x, y)), y), symbol="max")
exp = Op("exp", np.exp, lambda x, out, G: G * out)
log = Op("log", lambda x: np.log(x) if np.all(x > 0) else np.full_like(x, np.nan),
         lambda x, out, G: G / x)
tanh = Op("tanh", np.tanh, lambda x, out, G: G * (1 - out * out))
sigmoid = Op("sigmoid", lambda x: 0.5 * (1 + np.tanh(0.5 * x)),  # this form never overflows
             lambda x, out, G: G * out * (1 - out), symbol="σ")
relu = Op("relu", lambda x: np.maximum(x, 0), lambda x, out, G: G * step(x))
reduce_sum = Op("sum", lambda x: np.sum(x), lambda x, out, G: broadcast_like(G, x), symbol="Σ")


def topological_order(outputs) -> list:
    """Every node the ``outputs`` depend on, each after all of its inputs (iterative DFS, any depth)."""
    outputs = [outputs] if isinstance(outputs, Node) else list(outputs)
    order, seen, stack = [], set(), [(n, False) for n in reversed(outputs)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif node.id not in seen:
            seen.add(node.id)
            stack.append((node, True))
            stack.extend((i, False) for i in reversed(node.inputs) if i.id not in seen)
    return order


def forward(outputs, feed: dict | None = None):
    """Set the ``feed`` values ({variable node or name: value}), evaluate in topological order.

    Returns the value of ``outputs`` (a node) or a list of values (a list of nodes).
    """
    order = topological_order(outputs)
    by_name = {n.name: n for n in order if n.is_variable and n.name is not None}
    for key, value in (feed or {}).items():
        node = by_name.get(key) if isinstance(key, str) else key
        if node is None or not node.is_variable:
            raise ValueError(f"feed: '{key}' is not a variable of this graph; variables are {sorted(by_name)}")
        node.value = _as_value(f"feed['{node.name}']", value)
    for node in order:
        if node.op is not None:
            node.value = _run(node.op, [i.value for i in node.inputs])
        elif node.value is None:
            raise ValueError(f"variable '{node.name}' has no value: give it one in feed")
    return outputs.value if isinstance(outputs, Node) else [o.value for o in outputs]


class GradTable(dict):
    """``{node: gradient}``; a variable's name also works as a key (``grads["x"]``)."""

    def __getitem__(self, key):
        if isinstance(key, str):
            matches = [n for n in self if n.name == key and n.is_variable]
            if len(matches) != 1:
                raise KeyError(f"{len(matches)} variables named '{key}' in this table")
            key = matches[0]
        return dict.__getitem__(self, key)

    def by_name(self) -> dict:
        """``{name: gradient}`` for the named variables."""
        return {n.name: g for n, g in self.items() if n.is_variable and n.name is not None}


def _prepare(out, wrt, G, symbolic):
    if not isinstance(out, Node):
        raise ValueError(f"argument 'out': expected a Node, got {type(out).__name__}")
    order = topological_order(out)
    if out.value is None:
        forward(out)
    if wrt is None:
        wrt = [n for n in order if n.is_variable]
    wrt = [wrt] if isinstance(wrt, Node) else list(wrt)
    targets = {w.id for w in wrt}
    needs = {}
    for n in order:  # a node needs a gradient if it is a target or lies on a path from one to out
        needs[n.id] = n.id in targets or any(needs[i.id] for i in n.inputs)
    if G is None:
        if np.size(out.value) != 1:
            raise ValueError(f"backprop from a non-scalar output of shape {np.shape(out.value)} needs "
                             "an upstream gradient G of that shape")
        G = ones_like(out) if symbolic else np.ones_like(out.value)
    elif not (symbolic and isinstance(G, Node)):           # numbers, for either kind: checked here, by name
        G = _as_value("G", check_array("G", G, np.shape(out.value)))
    return order, wrt, needs, G


def _backward(order, needs, table, symbolic, counter):
    """Visit nodes from the output back; each op's bprop adds its contributions to the inputs' entries."""
    for node in reversed(order):
        if node.op is None or node not in table:
            continue
        args = node.inputs if symbolic else [i.value for i in node.inputs]
        out = node if symbolic else node.value
        parts = node.op.bprop(args, out, table[node], needs=[needs[i.id] for i in node.inputs])
        for inp, part in zip(node.inputs, parts):
            if part is None:
                continue
            if counter is not None:
                counter["mul"] = counter.get("mul", 0) + 1
            if inp in table:  # fan-out: a node used several times sums the contributions
                table[inp] = table[inp] + part
                if counter is not None:
                    counter["add"] = counter.get("add", 0) + 1
            else:
                table[inp] = part
    return table


def backprop(out: Node, wrt=None, G=None, counter: dict | None = None) -> GradTable:
    """Symbol-to-number backprop: a fresh ``grad_table`` {node: ∂out/∂node as an array}.

    Visits the nodes in reverse topological order; each node's gradient is complete when visited
    because every consumer comes later in the forward order. Only nodes on a path from ``wrt`` to
    ``out`` are processed. ``counter`` (a dict) receives the number of local-derivative
    multiplications ("mul", one per edge) and fan-out additions ("add").
    """
    order, wrt, needs, G = _prepare(out, wrt, G, symbolic=False)
    table = _backward(order, needs, GradTable({out: G}), False, counter)
    for w in wrt:
        if w not in table:
            table[w] = np.zeros_like(w.value)
    return table


def build_grad(out: Node, wrt=None, G=None) -> GradTable:
    """Symbol-to-symbol backprop: {node: a *node* computing ∂out/∂node}, added to the same graph.

    The returned gradient nodes are ordinary nodes (already evaluated), so they can be fed new values
    with :func:`forward` and differentiated again (``build_grad(reduce_sum(g), x)`` gives second
    derivatives).
    """
    order, wrt, needs, G = _prepare(out, wrt, G, symbolic=True)
    if not isinstance(G, Node):
        G = constant(G)
    table = _backward(order, needs, GradTable({out: G}), True, None)
    for w in wrt:
        if w not in table:
            table[w] = zeros_like(w)
    return table


# ---------------------------------------------------------------- expressions typed by a student
FUNCTIONS = {"max": maximum, "exp": exp, "log": log, "tanh": tanh, "sigmoid": sigmoid, "relu": relu,
             "sum": reduce_sum}
_BINOPS = {ast.Add: add, ast.Sub: sub, ast.Mult: mul, ast.Div: div, ast.Pow: power, ast.MatMult: matmul}
_OPNAMES = {ast.FloorDiv: "//", ast.Mod: "%", ast.BitAnd: "&", ast.BitOr: "|",
            ast.BitXor: "^ (use ** for powers)", ast.LShift: "<<", ast.RShift: ">>"}
MAX_EXPRESSION_LENGTH = 500   # characters
MAX_NODES = 40                # numbers, names and operations: a graph that can still be read (and drawn quickly)


def parse(text: str, values: dict):
    """Build a graph from an expression such as ``"2 * (x*y + max(z, w))"``, parsed with ``ast``.

    Allowed: numbers, variable names given in ``values``, ``+ - * / ** @``, unary ``-``, and calls of
    max, exp, log, tanh, sigmoid, relu, sum. Anything else raises ``ValueError`` saying what and where,
    and so does an expression longer than ``MAX_EXPRESSION_LENGTH`` characters or with more than
    ``MAX_NODES`` numbers, names and operations (counted before any graph is built, so refusing costs nothing).
    Returns ``(out, variables)`` with ``variables`` = {name: variable node} in order of appearance.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("expression: type an expression, e.g. (x + y) * z")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ValueError(f"expression: too long ({len(text)} characters, at most {MAX_EXPRESSION_LENGTH})")
    if not isinstance(values, dict):
        raise ValueError(f"argument 'values': expected a dict {{name: number}}, got {type(values).__name__}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise ValueError(f"expression: not valid syntax at column {e.offset}: {e.msg} "
                         "(write products with *, e.g. 2*(x*y))") from None
    except (RecursionError, MemoryError):
        raise ValueError("expression: nested too deeply") from None
    size = sum(isinstance(n, ast.expr) for n in ast.walk(tree))     # numbers, names, operations, calls
    if size > MAX_NODES:
        raise ValueError(f"expression: too large ({size} nodes, at most {MAX_NODES}); "
                         "a graph this size cannot be read")
    variables = {}

    def build(n):
        segment = ast.get_source_segment(text.strip(), n) or ""
        where = f"'{segment if len(segment) <= 40 else segment[:37] + '...'}'"
        if isinstance(n, ast.Constant):
            if isinstance(n.value, bool) or not isinstance(n.value, (int, float)):
                raise ValueError(f"expression: {where} is not a number")
            too_large = abs(n.value) > 1e308 if isinstance(n.value, int) else not np.isfinite(n.value)
            if too_large:                            # an int beyond float range would raise OverflowError
                raise ValueError(f"expression: the number {where} is too large (at most about 1e308)")
            return constant(float(n.value))
        if isinstance(n, ast.Name):
            if n.id in FUNCTIONS:
                raise ValueError(f"expression: '{n.id}' is a function; call it, e.g. {n.id}(x)")
            if n.id not in values:
                raise ValueError(f"expression: unknown name '{n.id}'; give it a value "
                                 f"(known: {', '.join(sorted(values)) or 'none'})")
            if n.id not in variables:
                variables[n.id] = variable(values[n.id], n.id)
            return variables[n.id]
        if isinstance(n, ast.BinOp):
            op = _BINOPS.get(type(n.op))
            if op is None:
                raise ValueError(f"expression: operator {_OPNAMES.get(type(n.op), type(n.op).__name__)} "
                                 f"in {where} is not allowed; use + - * / **")
            return op(build(n.left), build(n.right))
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)):
            inner = build(n.operand)
            return neg(inner) if isinstance(n.op, ast.USub) else inner
        if isinstance(n, ast.Call):
            if isinstance(n.func, ast.Constant):
                raise ValueError(f"expression: {where}: write products with *, e.g. 2*(x*y)")
            if not isinstance(n.func, ast.Name):
                raise ValueError(f"expression: {where}: only plain function names can be called "
                                 f"({', '.join(FUNCTIONS)})")
            if n.func.id not in FUNCTIONS:
                raise ValueError(f"expression: unknown function '{n.func.id}'; allowed: {', '.join(FUNCTIONS)}")
            op = FUNCTIONS[n.func.id]
            if n.keywords or len(n.args) != len(op.grads):
                raise ValueError(f"expression: {n.func.id} takes {len(op.grads)} argument(s), in {where}")
            return op(*[build(a) for a in n.args])
        if isinstance(n, ast.Attribute):
            raise ValueError(f"expression: attribute access {where} is not allowed")
        raise ValueError(f"expression: {where} ({type(n).__name__}) is not allowed; use numbers, names, "
                         f"+ - * / ** and {', '.join(FUNCTIONS)}")

    return build(tree.body), variables


# ---------------------------------------------------------------- operation counts
def operation_counts(out: Node, w: Node) -> dict:
    """Cost of ∂out/∂w by naive chain-rule expansion (one product per path) and by backprop.

    Returns {"paths": P, "edges": E, "naive": Σ_paths L + P − 1, "backprop": E + Σ_v (c_v − 1)},
    counted on the edges that lie on some path from ``w`` to ``out`` (an input used twice by one op
    is two edges). Path counts are found by dynamic programming, never by listing the paths.
    """
    order = topological_order(out)
    paths = {n.id: 0 for n in order}   # number of paths from w to n
    length = {n.id: 0 for n in order}  # total edges over those paths
    paths[w.id] = 1
    for n in order:
        for i in n.inputs:
            if paths[i.id]:
                paths[n.id] += paths[i.id]
                length[n.id] += length[i.id] + paths[i.id]
    edges, consumers = 0, {}
    for n in order:  # every node here reaches out, so an edge is on a w-to-out path iff w reaches its tail
        for i in n.inputs:
            if paths[i.id]:
                edges += 1
                consumers[i.id] = consumers.get(i.id, 0) + 1
    P, total = paths[out.id], length[out.id]
    return {"paths": P, "edges": edges, "naive": total + P - 1 if P else 0,
            "backprop": edges + sum(c - 1 for c in consumers.values())}
