"""What crosses between the grader and a student's kernel: a safe codec, and the student-side server.

The grader's trusted kernel runs the lesson's tests; every call of a graded function is sent to the
student's (sandboxed) kernel, run there by :func:`serve`, and the result comes back through this codec.
It carries only data: None, bool, int, float, str, list, tuple, dict, numpy arrays and scalars (``.npy``
bytes read with ``allow_pickle=False``; numeric or bool dtypes only, no subclasses), graph nodes of
:mod:`bpcore.graph` (as ids of nodes the grader sent), and callables sent by the grader (the student's
code calls them back through the kernel's stdin channel). Nothing is unpickled, no object is built from
a name the student chooses, and sizes are capped, so a hostile value cannot run code in the grader.

This file is copied into each submission's sandbox: it holds no test, solution or mistake.
"""

from __future__ import annotations

import base64
import io
import json
import traceback

import numpy as np

MIME = "application/x-bpcore-grader+json"   # display_data type of a call's reply
CALLBACK = "@@bpcore-callback@@"              # prompt prefix of a call back into the grader
MAX_BYTES = 32 << 20                          # of one encoded value
MAX_DEPTH = 64
MAX_ITEMS = 200_000
MAX_TEXT = 4000                               # characters of an error message kept


class WireError(ValueError):
    """A value that cannot cross (an unsupported type, too big, malformed)."""


def _is_node(obj) -> bool:
    t = type(obj)
    return t.__name__ == "Node" and t.__module__ == "bpcore.graph"


class _Encoder:
    def __init__(self, callbacks=None, proxies=()):
        self.callbacks, self.proxies = callbacks, proxies  # callbacks: list to append callables to
        self.nodes: dict = {}
        self.items = 0

    def __call__(self, x, depth=0):
        self.items += 1
        if depth > MAX_DEPTH or self.items > MAX_ITEMS:
            raise WireError("the value is nested too deeply or has too many items")
        if x is None or isinstance(x, (bool, str)):
            return x
        if isinstance(x, int):
            if abs(x) > 1 << 256:
                raise WireError("an integer too large to send")
            return int(x)
        if isinstance(x, float):
            return float(x)
        if isinstance(x, np.generic):
            return {"S": self._array(np.asarray(x))}
        if isinstance(x, np.ndarray):
            return {"A": self._array(x)}
        if isinstance(x, (list, tuple)):
            return {"L" if isinstance(x, list) else "T": [self(v, depth + 1) for v in x]}
        if isinstance(x, dict):
            return {"D": [[self(k, depth + 1), self(v, depth + 1)] for k, v in x.items()]}
        if _is_node(x):
            self._graph(x)
            return {"N": x.id}
        if self.proxies and getattr(x, "_bpcore_proxy", None) in self.proxies:
            return {"P": x._bpcore_proxy}
        if callable(x) and self.callbacks is not None:
            self.callbacks.append(x)
            return {"F": len(self.callbacks) - 1}
        raise WireError(f"a value of type {type(x).__name__} cannot be sent to or from the grader")

    def _array(self, a):
        a = np.asarray(a)
        if a.dtype.kind not in "biufc":
            raise WireError(f"an array of dtype {a.dtype} (only numbers and booleans are read)")
        if a.nbytes > MAX_BYTES:
            raise WireError(f"an array of {a.nbytes} bytes (at most {MAX_BYTES})")
        buf = io.BytesIO()
        np.save(buf, np.array(a, order="C", copy=None).view(np.ndarray), allow_pickle=False)  # keeps 0-d arrays 0-d
        return base64.b64encode(buf.getvalue()).decode("ascii")

    def _graph(self, out):
        stack = [out]
        while stack:
            n = stack.pop()
            if n.id in self.nodes:
                continue
            op = None if n.op is None else n.op.name
            value = None if n.value is None else self._array(n.value)
            self.nodes[n.id] = [op, [i.id for i in n.inputs], value, n.name, n.kind]
            stack.extend(n.inputs)


def encode(x, callbacks=None, proxies=()) -> str:
    """``x`` as JSON text; callables go into ``callbacks`` (grader side) when it is a list."""
    enc = _Encoder(callbacks, proxies)
    tree = enc(x)
    text = json.dumps({"v": tree, "g": enc.nodes} if enc.nodes else {"v": tree})
    if len(text) > 2 * MAX_BYTES:
        raise WireError("the value is too large to send")
    return text


class _Decoder:
    def __init__(self, nodes=None, on_callback=None, on_proxy=None, graph=None):
        self.known = nodes          # grader side: id -> the node it sent (returned nodes must be these)
        self.on_callback, self.on_proxy = on_callback, on_proxy
        self.graph = graph or {}    # student side: the graph table sent along
        self.built: dict = {}
        self.items = 0

    def __call__(self, t, depth=0):
        self.items += 1
        if depth > MAX_DEPTH or self.items > MAX_ITEMS:
            raise WireError("the value is nested too deeply or has too many items")
        if t is None or isinstance(t, (bool, str, float)):
            return t
        if isinstance(t, int):
            return int(t)
        if not isinstance(t, dict) or len(t) != 1:
            raise WireError("malformed value")
        (tag, v), = t.items()
        if tag in ("L", "T") and isinstance(v, list):
            items = [self(x, depth + 1) for x in v]
            return items if tag == "L" else tuple(items)
        if tag == "D" and isinstance(v, list):
            out = {}
            for pair in v:
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise WireError("malformed dict")
                k = self(pair[0], depth + 1)
                try:
                    out[k] = self(pair[1], depth + 1)
                except TypeError:
                    raise WireError("an unhashable dict key") from None
            return out
        if tag in ("A", "S") and isinstance(v, str):
            a = _read_array(v)
            return a[()] if tag == "S" else a
        if tag == "N" and isinstance(v, int):
            return self._node(v)
        if tag == "F" and isinstance(v, int) and self.on_callback is not None:
            return self.on_callback(v)
        if tag == "P" and isinstance(v, str) and self.on_proxy is not None:
            return self.on_proxy(v)
        raise WireError(f"a value tagged {tag!r} is not accepted here")

    def _node(self, i):
        if self.known is not None:
            if i not in self.known:
                raise WireError("a graph node the grader did not send (return the nodes you were given)")
            return self.known[i]
        return self._build(i)

    def _build(self, root):
        """Student side: rebuild the nodes the grader sent (ids kept, ops looked up in bpcore.graph)."""
        from bpcore import graph as G

        ops = {op.name: op for op in vars(G).values() if isinstance(op, G.Op)}
        todo = [root]
        while todo:
            i = todo[-1]
            if i in self.built:
                todo.pop()
                continue
            op, inputs, value, name, kind = self.graph[str(i)]
            missing = [j for j in inputs if j not in self.built]
            if missing:
                todo.extend(missing)
                continue
            todo.pop()
            n = G.Node.__new__(G.Node)
            n.op = None if op is None else ops.get(op, G.Op(op, _unknown_op))
            n.inputs = tuple(self.built[j] for j in inputs)
            n.name, n.kind, n.id = name, kind, i
            n.value = None if value is None else _read_array(value)
            self.built[i] = n
        return self.built[root]


def _unknown_op(*_):
    raise ValueError("this op is not part of bpcore.graph")


def _read_array(text: str) -> np.ndarray:
    if len(text) > 2 * MAX_BYTES:
        raise WireError("an array too large")
    try:
        a = np.load(io.BytesIO(base64.b64decode(text, validate=True)), allow_pickle=False)
    except Exception as e:
        raise WireError(f"an unreadable array ({type(e).__name__})") from None
    if type(a) is not np.ndarray or a.dtype.kind not in "biufc" or a.dtype.fields is not None:
        raise WireError("an array that is not plain numbers")
    return a


def decode(text: str, nodes=None, on_callback=None, on_proxy=None):
    """The value of ``text`` (from :func:`encode`); raises :class:`WireError` for anything else."""
    if not isinstance(text, str) or len(text) > 2 * MAX_BYTES:
        raise WireError("a reply too large or not text")
    try:
        data = json.loads(text)
    except ValueError:
        raise WireError("a reply that is not JSON") from None
    if not isinstance(data, dict) or "v" not in data:
        raise WireError("malformed reply")
    graph = data.get("g") or {}
    return _Decoder(nodes, on_callback, on_proxy, graph if isinstance(graph, dict) else {})(data["v"])


# --- the student side -------------------------------------------------------------------------------------

def _short(text) -> str:
    text = str(text)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + " …"


def _where(tb) -> str:
    """The student's own frame where an exception surfaced (the last one outside numpy and this file)."""
    frames = [f for f in traceback.extract_tb(tb)
              if f.filename != __file__ and "site-packages" not in f.filename and "/lib/python" not in f.filename]
    if not frames:
        return ""
    f = frames[-1]
    return f"{f.name}, line {f.lineno}: {(f.line or '').strip()}"


def _publish(reply: dict) -> None:
    from IPython.display import publish_display_data

    publish_display_data({MIME: reply})


def _callback(handle: int):
    def call(*args, **kwargs):
        from IPython import get_ipython

        answer = get_ipython().kernel.raw_input(CALLBACK + encode([handle, list(args), kwargs]))
        reply = json.loads(answer)
        if reply.get("error"):
            raise _exception(reply["error"]["ename"], reply["error"]["evalue"])
        return decode(reply["value"])

    return call


_RAISABLE = {e.__name__: e for e in (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError,
                                     ArithmeticError, FloatingPointError, OverflowError, AssertionError,
                                     NotImplementedError, NameError, AttributeError, RuntimeError,
                                     RecursionError, MemoryError, LookupError, StopIteration, OSError,
                                     PermissionError, FileNotFoundError, TimeoutError)}


def _exception(ename: str, evalue: str) -> BaseException:
    cls = _RAISABLE.get(ename)
    return cls(evalue) if cls else RuntimeError(f"{ename}: {evalue}")


def serve(ns: dict, name: str, payload: str) -> None:
    """Run ``ns[name](*args, **kwargs)`` for the grader and publish the result (and the arguments after
    the call, so the grader sees a function that modified its input)."""
    try:
        args, kwargs = decode(payload, on_callback=_callback, on_proxy=lambda n: ns.get(n))
        fn = ns.get(name)
        if not callable(fn):
            _publish({"status": "missing", "name": name})
            return
    except Exception as e:
        _publish({"status": "error", "ename": "TypeError", "evalue": _short(f"the arguments: {e}"), "where": ""})
        return
    try:
        out = fn(*args, **kwargs)
    except BaseException as e:  # noqa: B036 - the grader reports whatever the student's code raised
        try:
            msg = _short(e)
        except BaseException:  # noqa: B036
            msg = "(the exception could not be printed)"
        where = _short(_where(e.__traceback__))
        _publish({"status": "error", "ename": type(e).__name__, "evalue": msg, "where": where})
        return
    try:
        reply = {"status": "ok", "value": encode(out)}
        try:
            reply["args"] = encode([list(args), kwargs])
        except Exception:
            pass
    except Exception as e:
        reply = {"status": "error", "ename": "TypeError",
                 "evalue": _short(f"{name} returned a value the grader cannot read: {e}"), "where": ""}
    _publish(reply)
