"""What the grader's trusted kernel runs: proxies to the student's functions, and known-mistake matching.

The trusted kernel executes the instructor lesson itself, so the lesson's state and reference solutions
are there. Before an exercise's test cell, :func:`bind` replaces the exercise's functions by proxies:
calling one sends the arguments to the student's kernel (:func:`bpcore.assignments.wire.serve`), runs
the student's function there and returns what it returned, read with the safe codec. The tests, their
asserts and the comparison with the references all run here, where the student's code cannot reach.
The first few calls of each proxy (arguments and the student's results) are recorded; when the tests
fail, :func:`match_mistakes` re-runs them through variants of the reference solution that make a known
mistake (:mod:`bpcore.assignments.mistakes`) — a variant that reproduces the student's outputs, where
the reference does not, names the mistake. Nothing here is used by the lessons.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import time

import numpy as np

from . import channel, wire

MAX_CALLS = 6


class GraderStop(BaseException):  # noqa: N818 - not an Exception: a test's `except Exception` cannot swallow it
    """The student's kernel cannot go on: every later call fails the same way."""


class GraderTimeout(GraderStop):
    pass


class StudentKernelDied(GraderStop):
    pass


class OutputFlood(GraderStop):
    pass


class StudentError(RuntimeError):
    """The student's function raised an exception that is not a plain builtin one."""


class _Session:
    def __init__(self, connection_file: str, pid: int | None):
        from jupyter_client import BlockingKernelClient

        self.client = BlockingKernelClient(context=channel.context())
        self.client.load_connection_file(connection_file)
        self.client.start_channels()
        self.pid = pid
        self.deadline = time.monotonic() + 60
        self.limit = 60.0
        self.stop: GraderStop | None = None
        self.refs: dict = {}
        self.calls: dict = {}
        self.where: dict = {}   # function -> where the student's code raised (last error)
        self.max_output = 8 << 20

    def alive(self) -> bool:
        if self.pid is None:
            return True
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except FileNotFoundError:
            return False
        except OSError:
            try:
                os.kill(self.pid, 0)
                return True
            except OSError:
                return False

    def call(self, name: str, args: tuple, kwargs: dict):
        if self.stop is not None:
            raise type(self.stop)(*self.stop.args)
        record = None
        if len(self.calls.setdefault(name, [])) < MAX_CALLS:
            with contextlib.suppress(Exception):
                record = copy.deepcopy((args, kwargs))
        callbacks: list = []
        payload = wire.encode([list(args), kwargs], callbacks=callbacks, proxies=set(self.refs))
        sent_nodes = _nodes_in((args, kwargs))
        code = f"_bpcore_wire.serve(globals(), {name!r}, {payload!r})"
        left = self.deadline - time.monotonic()
        out = channel.run(self.client, code, max(left, 0.01), allow_stdin=True, alive=self.alive,
                          on_stdin=lambda prompt: _answer(prompt, callbacks), keep=wire.MIME,
                          max_output=self.max_output, store_history=False)
        if out.status in ("timeout", "dead", "flood", "abort"):
            self.stop = {"timeout": GraderTimeout(f"{self.limit:g} s per cell"),
                         "flood": OutputFlood(f"more than {self.max_output >> 20} MB of output in one call"),
                         }.get(out.status, StudentKernelDied("the student's kernel died"))
            raise type(self.stop)(*self.stop.args)
        reply = out.data[-1] if out.data else None
        if out.status != "ok" or not isinstance(reply, dict):
            raise StudentError(f"calling {name} did not return: {out.ename}: {out.evalue}"[:wire.MAX_TEXT]
                               if out.status != "ok" else f"calling {name} returned nothing the grader can read")
        status = reply.get("status")
        if status == "missing":
            raise NameError(f"name '{name}' is not defined")
        if status == "error":
            self.where[name] = str(reply.get("where", ""))[:wire.MAX_TEXT]
            raise _student_exception(str(reply.get("ename", "")), str(reply.get("evalue", ""))[:wire.MAX_TEXT])
        try:
            value = wire.decode(reply.get("value"), nodes=sent_nodes)
            if isinstance(reply.get("args"), str):
                after = wire.decode(reply["args"], nodes=sent_nodes)
                _write_back([list(args), kwargs], after)
        except wire.WireError as e:
            raise TypeError(f"{name} returned a value the grader cannot read: {e}") from None
        if record is not None:
            with contextlib.suppress(Exception):
                self.calls[name].append((record, copy.deepcopy(value)))
        return value


def _nodes_in(x) -> dict:
    """id -> node for every bpcore.graph node in the arguments (and their ancestors)."""
    found, stack = {}, [x]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif wire._is_node(v) and v.id not in found:
            found[v.id] = v
            stack.extend(v.inputs)
    return found


def _answer(prompt: str, callbacks: list) -> str:
    """A call back from the student's code into a callable the grader passed (e.g. the f of a test)."""
    if not prompt.startswith(wire.CALLBACK):
        return ""
    try:
        handle, args, kwargs = wire.decode(prompt[len(wire.CALLBACK):])
        value = callbacks[int(handle)](*args, **kwargs)
        return json.dumps({"value": wire.encode(value)})
    except Exception as e:
        return json.dumps({"error": {"ename": type(e).__name__, "evalue": str(e)[:wire.MAX_TEXT]}})


def _student_exception(ename: str, evalue: str) -> BaseException:
    exc = wire._exception(ename, evalue)
    return StudentError(f"{ename}: {evalue}") if type(exc) is RuntimeError and ename != "RuntimeError" else exc


def _write_back(orig, new) -> None:
    """Apply what the student's function did to its arguments (in place) to the grader's arguments."""
    if isinstance(orig, np.ndarray) and isinstance(new, np.ndarray):
        if orig.shape == new.shape and orig.flags.writeable and not np.array_equal(orig, new):
            with contextlib.suppress(Exception):
                np.copyto(orig, new, casting="unsafe")
    elif isinstance(orig, dict) and isinstance(new, dict):
        for k in list(orig):
            if k not in new:
                del orig[k]
        for k, v in new.items():
            if k in orig and isinstance(orig[k], (np.ndarray, dict, list)) and type(orig[k]) is type(v) and \
                    (not isinstance(v, np.ndarray) or v.shape == orig[k].shape):
                _write_back(orig[k], v)
            elif k not in orig or not _equal(orig[k], v):
                orig[k] = v
    elif isinstance(orig, list) and isinstance(new, list):
        if len(orig) != len(new):
            orig[:] = new
            return
        for i, (a, b) in enumerate(zip(orig, new)):
            if isinstance(a, (np.ndarray, dict, list)) and type(a) is type(b):
                _write_back(a, b)
            elif not _equal(a, b):
                orig[i] = b


def _equal(a, b) -> bool:
    try:
        return bool(a is b or (type(a) is type(b) and not isinstance(a, np.ndarray) and a == b))
    except Exception:
        return False


class _Proxy:
    def __init__(self, session: _Session, name: str):
        self._bpcore_proxy, self._session = name, session
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        return self._session.call(self._bpcore_proxy, args, kwargs)

    def __deepcopy__(self, memo):
        return self

    def __repr__(self):
        return f"<the student's {self._bpcore_proxy}>"


SESSION: _Session | None = None


def connect(connection_file: str, pid: int | None) -> None:
    global SESSION
    SESSION = _Session(connection_file, pid)


def bind(ns: dict, names, timeout: float) -> None:
    """Replace ``names`` in the lesson's namespace by proxies to the student's functions."""
    s = SESSION
    unbind(ns)
    s.deadline, s.limit = time.monotonic() + timeout, timeout
    s.calls, s.where = {}, {}
    for name in names:
        s.refs[name] = ns.get(name)
        ns[name] = _Proxy(s, name)


def unbind(ns: dict) -> None:
    """Put the reference functions back (later lesson cells use them)."""
    s = SESSION
    for name, ref in s.refs.items():
        if isinstance(ns.get(name), _Proxy):
            ns[name] = ref
    s.refs = {}


def status() -> str:
    """JSON for the grader: whether the student's kernel was stopped, and where its code raised."""
    s = SESSION
    return json.dumps({"stop": type(s.stop).__name__ if s.stop else "", "where": s.where})


def resume() -> None:
    """After the grader interrupted the student's kernel and it answered again: calls may go on."""
    SESSION.stop = None


# --- known mistakes -------------------------------------------------------------------------------------

def _leaves(x, out):
    if isinstance(x, dict):
        for k in sorted(x, key=str):
            _leaves(x[k], out)
    elif isinstance(x, (list, tuple)):
        for t in x:
            _leaves(t, out)
    elif isinstance(x, (np.ndarray, float, int, np.floating, np.integer)) and not isinstance(x, bool):
        out.append(np.asarray(x, dtype=np.float64))
    return out


def _same(a, b) -> bool:
    la, lb = _leaves(a, []), _leaves(b, [])
    if not la or len(la) != len(lb):
        return False
    for x, y in zip(la, lb):
        if x.shape != y.shape:
            return False
        scale = max(float(np.max(np.abs(y), initial=0.0)), 1e-300)
        if not np.all(np.isfinite(x)) or np.max(np.abs(x - y), initial=0.0) > 1e-7 * scale:
            return False
    return True


def _build(ns: dict, refs: dict, source: str, name: str):
    scope = dict(ns)
    scope.update({n: r for n, r in refs.items() if r is not None})  # variants call the reference helpers
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            exec(compile(source, "<reference variant>", "exec"), scope)
    except Exception:
        return None
    fn = scope.get(name)
    return fn if callable(fn) else None


def _reproduces(fn, calls) -> bool:
    if fn is None or not calls:
        return False
    for (args, kwargs), out in calls:
        try:
            a, k = copy.deepcopy((args, kwargs))
            with np.errstate(all="ignore"), contextlib.redirect_stdout(io.StringIO()):
                got = fn(*a, **k)
        except Exception:
            return False
        if not _same(got, out):
            return False
    return True


def match_mistakes(ns: dict, refs_names, reference: str, variants: list) -> str:
    """JSON list of the known mistakes the student's recorded outputs match.

    ``reference``: the lesson's solution cell; ``variants``: ``[(name, function, source), ...]``, each
    source the solution cell with one mistake written in. A mistake matches when its variant reproduces
    every recorded call of ``function`` and the reference does not.
    """
    s = SESSION
    refs = {n: ns.get(n) for n in refs_names}
    found = []
    for name, function, source in variants:
        calls = s.calls.get(function)
        if calls and _reproduces(_build(ns, refs, source, function), calls) and not _reproduces(
                _build(ns, refs, reference, function), calls):
            found.append(name)
    return json.dumps(found)
