"""What the grader runs inside the student's kernel: watch graded functions, match known mistakes.

Before a test cell, :func:`watch` wraps the exercise's functions so the first few calls (inputs and
outputs, deep-copied) are recorded while the lesson's tests call them. When the tests fail,
:func:`match_mistakes` re-runs those same calls through variants of the reference solution that make a
known mistake (kept in :mod:`bpcore.assignments.mistakes`); a variant that reproduces the student's
outputs, where the reference does not, names the mistake. Nothing here is used by the lessons.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json

import numpy as np

MARK = "@@bpcore-grader@@"  # prefix of the one line of JSON this module prints for the grader
MAX_CALLS = 6
_watches: dict = {}


class _Watch:
    def __init__(self, fn):
        self.fn, self.calls, self.active = fn, [], True

    def __call__(self, *args, **kwargs):
        if not (self.active and len(self.calls) < MAX_CALLS):
            return self.fn(*args, **kwargs)
        try:
            saved = copy.deepcopy((args, kwargs))
        except Exception:  # an argument that cannot be copied: just don't record this call
            saved = None
        out = self.fn(*args, **kwargs)
        if saved is not None:
            with contextlib.suppress(Exception):
                self.calls.append((saved, copy.deepcopy(out)))
        return out


def watch(ns: dict, names) -> None:
    """Wrap the callables ``names`` of the namespace ``ns`` (the notebook's globals) to record calls."""
    unwatch(ns)
    for name in names:
        fn = ns.get(name)
        if callable(fn) and not isinstance(fn, _Watch):
            w = _Watch(fn)
            _watches[name] = w
            ns[name] = w


def unwatch(ns: dict) -> None:
    for name, w in list(_watches.items()):
        if ns.get(name) is w:
            ns[name] = w.fn
        w.active = False


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


def _build(ns: dict, source: str, name: str):
    scope = dict(ns)
    for n, w in _watches.items():  # variants call the student's own helpers, unrecorded
        if scope.get(n) is w:
            scope[n] = w.fn
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


def match_mistakes(ns: dict, reference: str, variants: list) -> list:
    """Print (for the grader) and return the names of the known mistakes the student's outputs match.

    ``reference``: the lesson's solution cell; ``variants``: ``[(name, function, source), ...]``, each
    source the solution cell with one mistake written in. A mistake matches when its variant reproduces
    every recorded call of ``function`` and the reference does not.
    """
    for w in _watches.values():
        w.active = False
    found = []
    for name, function, source in variants:
        w = _watches.get(function)
        if w is None or not w.calls:
            continue
        if _reproduces(_build(ns, source, function), w.calls) and not _reproduces(
                _build(ns, reference, function), w.calls):
            found.append(name)
    print(MARK + json.dumps(found))
    return found
