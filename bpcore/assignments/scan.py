"""Read a submission's code for signs of tampering (they cannot change the grade, the teacher is told).

Only the student's own code is read: a cell identical to one of the lesson's is the lesson's. Each
finding is ``{"kind", "cell", "line", "detail"}``; the kinds are in :data:`KINDS`. A submission whose
graded function only calls bpcore's own version of it is reported as ``calls-bpcore``.
"""

from __future__ import annotations

import ast
import re

KINDS = {
    "ipython-internals": "touches IPython's machinery (input transformers, exception hooks, history, events)",
    "patches-library": "assigns to an attribute of a module (e.g. np.allclose = ...) or redefines a lesson helper",
    "processes-signals": "kills, signals, forks or starts processes, or exits Python",
    "writes-files": "writes, deletes or moves files",
    "reads-course-files": "names the lessons, the grader or files outside its own folder",
    "network": "opens network connections",
    "dynamic-code": "runs code built at run time (exec, eval, compile, __import__, ctypes)",
    "shell": "runs shell commands (! lines, %%bash, %sx)",
    "calls-bpcore": "the graded function only calls bpcore's own implementation of the exercise",
}

IPYTHON = {"get_ipython", "input_transformers_cleanup", "input_transformers_post", "ast_transformers",
           "set_custom_exc", "_showtraceback", "showtraceback", "showsyntaxerror", "InteractiveShell", "_ih",
           "_oh", "_dh", "In", "Out", "settrace", "setprofile", "excepthook", "displayhook", "sys.modules",
           "__builtins__"}
PROCESS = {"kill", "killpg", "fork", "forkpty", "system", "popen", "spawn", "_exit", "exit", "abort", "setsid",
           "execv", "execve", "execl", "execvp", "signal", "alarm", "pthread_kill", "Popen", "run", "call",
           "check_call", "check_output", "Process", "getppid"}
PROCESS_MODULES = {"os", "signal", "subprocess", "multiprocessing", "sys", "pty", "psutil"}
FILES = {"remove", "unlink", "rmdir", "rmtree", "rename", "replace", "write_text", "write_bytes", "chmod",
         "truncate", "copy", "copyfile", "move", "makedirs", "mkdir", "symlink", "touch"}
NETWORK = {"socket", "urllib", "requests", "http", "httpx", "ftplib", "smtplib", "urlopen", "zmq"}
DYNAMIC = {"exec", "eval", "compile", "__import__", "setattr", "globals", "breakpoint"}  # builtins
COURSE = re.compile(r"\.ipynb|notebooks|assignments|mistakes\.py|grade\.py|^/[a-z]|\.\./", re.I)
HELPERS = {"check_vjp", "check_gradients", "compare", "allclose", "isclose", "assert_allclose", "array_equal"}

# exercise -> (module, function) of bpcore that already does what the exercise asks
BPCORE_EQUIVALENT = {
    "2.2": ("bpcore.graph", "topological_order"), "2.3": ("bpcore.graph", "backprop"),
    "3.1": ("bpcore.mlp", "dense_backward"), "5.1": ("bpcore.autodiff", "jvp"), "5.2": ("bpcore.autodiff", "vjp"),
    "5.3": ("bpcore.autodiff", "HVP"), "6.1": ("bpcore.rnn", "step_backward"), "6.2": ("bpcore.rnn", "backward"),
    "7.3": ("bpcore.rnn", "linear_backward"), "8.1": ("bpcore.lstm", "step_backward"),
    "9.2": ("bpcore.optim", "clip_by_global_norm"),
}


def _clean(source: str) -> tuple[str, list[int]]:
    """The cell as Python (magic and shell lines blanked), and the numbers of its shell lines."""
    lines, shell = [], []
    for n, line in enumerate(source.split("\n"), 1):
        s = line.lstrip()
        if s.startswith(("!", "%%bash", "%%sh", "%%script", "%sx", "%system", "%%writefile")):
            shell.append(n)
        lines.append("" if s.startswith(("%", "!")) else line)
    return "\n".join(lines), shell


def _name(node) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):
        return _name(node.func) + "()"
    return "?"


def _modules(tree) -> dict:
    """alias -> module for every import in ``tree``."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out[(a.asname or a.name).split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def _findings(tree, modules: dict, cell: int):
    def add(kind, node, detail):
        yield {"kind": kind, "cell": cell, "line": getattr(node, "lineno", 0), "detail": detail[:200]}

    for node in ast.walk(tree):
        if isinstance(node, (ast.Attribute, ast.Name)):
            name = node.attr if isinstance(node, ast.Attribute) else node.id
            full = _name(node)
            if name in IPYTHON or full in IPYTHON:
                yield from add("ipython-internals", node, full)
            base = full.split(".")[0]
            mod = modules.get(base, "")
            if isinstance(node, ast.Attribute) and name in PROCESS and mod.split(".")[0] in PROCESS_MODULES:
                yield from add("processes-signals", node, full)
            if isinstance(node, ast.Attribute) and name in FILES and mod.split(".")[0] in ("os", "shutil", "pathlib"):
                yield from add("writes-files", node, full)
            if mod.split(".")[0] in NETWORK or (isinstance(node, ast.Name) and name in NETWORK and name in modules):
                yield from add("network", node, full)
            if isinstance(node, ast.Name) and name in DYNAMIC and name not in modules:
                yield from add("dynamic-code", node, full)
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)) and base in modules:
                yield from add("patches-library", node, f"assigns {full}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if getattr(node, "module", None) else [])
            for n in names:
                top = n.split(".")[0]
                if top in PROCESS_MODULES - {"os", "sys"}:
                    yield from add("processes-signals", node, f"import {n}")
                if top in NETWORK:
                    yield from add("network", node, f"import {n}")
                if top in ("ctypes", "importlib", "builtins") or n.startswith(("bpcore.assignments", "IPython.core")) \
                        or n == "IPython":
                    yield from add("dynamic-code" if top in ("ctypes", "importlib") else "ipython-internals",
                                   node, f"import {n}")
        elif isinstance(node, ast.Call) and _name(node.func) == "open":
            mode = next((a.value for a in node.args[1:2] if isinstance(a, ast.Constant)), None)
            mode = next((k.value.value for k in node.keywords if k.arg == "mode" and isinstance(k.value, ast.Constant)),
                        mode)
            if isinstance(mode, str) and any(c in mode for c in "wax+"):
                yield from add("writes-files", node, f"open(..., {mode!r})")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and COURSE.search(node.value):
            yield from add("reads-course-files", node, repr(node.value)[:80])
        elif isinstance(node, (ast.FunctionDef, ast.Assign)):
            targets = [node.name] if isinstance(node, ast.FunctionDef) else [
                t.id for t in node.targets if isinstance(t, ast.Name)]
            for t in targets:
                if t in HELPERS or (t in modules and modules[t].startswith(("bpcore.", "numpy."))):
                    yield from add("patches-library", node, f"redefines {t}")


def scan(nb, lesson_nb, graded: dict) -> list[dict]:
    """Findings in the student's own cells of ``nb``; ``graded``: exercise id -> (solution cell, functions)."""
    given = {c.source.strip() for c in lesson_nb.cells if c.cell_type == "code"}
    lesson_modules = {}
    for c in lesson_nb.cells:
        if c.cell_type == "code":
            try:
                lesson_modules.update(_modules(ast.parse(_clean(c.source)[0])))
            except SyntaxError:
                pass
    trees, modules = {}, dict(lesson_modules)
    for i, c in enumerate(nb.cells):
        if c.cell_type != "code" or c.source.strip() in given:
            continue
        code, shell = _clean(c.source)
        trees[i] = (code, shell)
        try:
            modules.update(_modules(ast.parse(code)))
        except SyntaxError:
            pass
    found = []
    for i, (code, shell) in trees.items():
        found += [{"kind": "shell", "cell": i, "line": n, "detail": nb.cells[i].source.split("\n")[n - 1].strip()[:200]}
                  for n in shell]
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        found += list(_findings(tree, modules, i))
    found += _calls_bpcore(nb, graded, modules)
    unique = []
    for f in found:
        if f not in unique:
            unique.append(f)
    return unique


def _calls_bpcore(nb, graded: dict, modules: dict) -> list[dict]:
    out = []
    for ex_id, (cell, functions) in graded.items():
        if ex_id not in BPCORE_EQUIVALENT or cell is None:
            continue
        module, fn = BPCORE_EQUIVALENT[ex_id]
        try:
            tree = ast.parse(_clean(nb.cells[cell].source)[0])
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.FunctionDef) and node.name in functions):
                continue
            for sub in ast.walk(node):
                full = _name(sub) if isinstance(sub, (ast.Attribute, ast.Name)) else ""
                hit = full and _resolve(full, modules) == f"{module}.{fn}"
                if hit:
                    out.append({"kind": "calls-bpcore", "cell": cell, "line": sub.lineno,
                                "detail": f"exercise {ex_id}: {node.name} calls {module}.{fn}"})
                    break
    return out


def _resolve(full: str, modules: dict) -> str:
    """``rnn.step_backward`` -> ``bpcore.rnn.step_backward`` through the notebook's imports."""
    head, _, rest = full.partition(".")
    return ".".join(p for p in (modules.get(head, head), rest) if p)
