"""The autograder: the student's code runs sandboxed, the lesson's tests run where it cannot reach.

For one submission:

1. read it and tell which lesson it is (the student version's metadata, else the ``# Exercise N.k``
   cells, else the file name ``NN_…``); read its code for signs of tampering (:mod:`.scan`);
2. start two kernels: the student's, in a bubblewrap sandbox (:mod:`.sandbox`) with its own copy of
   the notebook, and the grader's trusted one, which executes the instructor lesson itself;
3. run the student's cells in the student's kernel; at each ``# Tests for exercise N.k`` cell, run the
   lesson's full test cell (visible + hidden asserts) in the trusted kernel, where the exercise's
   functions are proxies to the student's (:mod:`.trusted`, :mod:`.wire`): the student's kernel only
   computes what the tests ask of its functions, and never sees a test, a solution or a mistake. A
   test cell the student deleted scores 0 for its exercise, with a message saying so;
4. score each exercise all or nothing (as nbgrader does): the trusted test cell's ``execute_reply``
   says ok. Feedback is the failing assert's message — for a gradient check, the report table with which
   parameter fails, its relative error, where, and a hint (``bpcore.gradcheck``) — plus the known
   mistake the student's outputs match (``bpcore.assignments.mistakes``), found in the trusted kernel.

Time limits hold per cell and per notebook; a kernel that does not stop when interrupted, dies, or
floods its output is killed and what has not run scores 0, with the reason. Nothing a submission does
crashes the grader or reaches another submission: an unreadable file or an unknown lesson is a report
with an error and score 0.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from . import (
    BEGIN_SOLUTION,
    NOTEBOOKS,
    channel,
    find_exercises,
    first_line,
    lesson_number,
    lessons,
    read_meta,
    sandbox,
    scan,
)
from .mistakes import for_lesson, variant_source

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
STOPS = {"GraderTimeout", "StudentKernelDied", "OutputFlood"}
TRUSTED_CELL = 900       # seconds one cell of the instructor lesson may take in the trusted kernel
MAX_NOTEBOOK = 64 << 20  # bytes of a submitted file
MAX_OUTPUT = 8 << 20  # bytes one student cell may print (nothing is kept; beyond it the kernel is stopped)
SUSPECT = {"kernel-died", "output-flood", "killed-after-timeout", "memory-limit"}  # sandbox events that flag


def identify(nb, path: Path, lessons_dir: Path = NOTEBOOKS) -> Path | None:
    """The instructor notebook a submission belongs to, or None."""
    available = {p.stem: p for p in lessons(lessons_dir)}
    stem = read_meta(nb).get("lesson")
    if stem in available:
        return available[stem]
    numbers = {int(ex_id.split(".")[0]) for ex_id, ex in find_exercises(nb).items()
               if ex.solution is not None or ex.tests is not None or ex.header is not None}
    if len(numbers) != 1:
        numbers = {lesson_number(path)} - {None}
    by_number = {lesson_number(p): p for p in available.values()}
    return by_number.get(numbers.pop()) if len(numbers) == 1 else None


def _failing_line(error: dict, source: str) -> str:
    """The line of the test cell where the error surfaced (the first 'Cell In[..], line L' frame)."""
    for chunk in error["traceback"]:
        if m := re.search(r"Cell In\[\d+\], line (\d+)", chunk):
            lines = source.split("\n")
            n = int(m[1])
            if 1 <= n <= len(lines):
                return lines[n - 1].strip()
            break
    return ""


SHAPES = re.compile(r"shape \(([\d, ]*)\),? expected \(([\d, ]*)\)")


def _shape_hint(message: str) -> str:
    """A test said 'X has shape (a, b), expected (c, d)': name the usual slip (bpcore.gradcheck.shape_hint)."""
    from bpcore.gradcheck import shape_hint

    m = SHAPES.search(message)
    if not m or "— " in message[m.end():m.end() + 3]:
        return ""
    got, expected = (tuple(int(v) for v in g.replace(" ", "").split(",") if v) for g in m.groups())
    hint = shape_hint(got, expected)
    return f"\nhint: {hint.lstrip(' —')}" if hint else ""


def _feedback(ex, error: dict, source: str) -> tuple[str, str]:
    """(status, feedback) for a failed test cell."""
    ename, evalue = error["ename"], error["evalue"].strip()
    fn = ex.function or "your function"
    if ename == "NotImplementedError":
        return "not attempted", f"{fn} still raises NotImplementedError: the exercise was not done"
    if ename == "GraderTimeout":
        return "timeout", f"the tests did not finish within the time limit ({evalue}): an endless loop?"
    if ename == "NameError" and any(f"'{f}'" in evalue for f in ex.functions):
        return "missing", (f"{evalue}: the solution cell '# Exercise {ex.id}' is missing, renamed its "
                           "function, or did not run")
    line = _failing_line(error, source)
    hidden = "### BEGIN HIDDEN TESTS" in source and line and source.find(line) > source.find("### BEGIN HIDDEN TESTS")
    which = "a hidden test" if hidden else "a visible test"
    if ename in ("AssertionError", "GradcheckError"):
        msg = evalue or f"assert failed: {line}"
        return "failed", f"{which} failed: {msg}" + _shape_hint(msg)
    where = error.get("where", "")
    return "error", f"{which} raised {ename}: {evalue}" + (f"\nraised at {where}" if where else "") + (
        f"\ntest line: {line}" if line else "")


class _Kernel:
    """A kernel we started, a client to it, its stderr's file, and how to stop it."""

    def __init__(self, km, client, log: Path):
        self.km, self.client, self.log = km, client, log

    def last_words(self) -> str:
        """The end of what the kernel wrote to stderr (why it died at start, say)."""
        try:
            tail = self.log.read_bytes()[-600:].decode(errors="replace").strip()
        except OSError:
            tail = ""
        lines = [ln for ln in tail.splitlines() if ln.strip()]
        return lines[-1] if lines else "nothing on stderr"

    def alive(self) -> bool:
        try:
            return bool(self.km.is_alive())
        except Exception:
            return False

    def run(self, code: str, timeout: float, **kw) -> channel.Outcome:
        return channel.run(self.client, code, max(timeout, 0.1), alive=self.alive, **kw)

    def pid(self) -> int | None:
        proc = getattr(getattr(self.km, "provisioner", None), "process", None)
        return getattr(proc, "pid", None)

    def responds(self) -> bool:
        """After a time limit: interrupt, then does a trivial cell run? If not, the kernel is killed."""
        try:
            self.km.interrupt_kernel()
        except Exception:
            pass
        if self.alive() and self.run("pass", 5).status == "ok":
            return True
        self.kill()
        return False

    def kill(self) -> None:
        try:
            self.client.stop_channels()
        except Exception:
            pass
        try:
            self.km.shutdown_kernel(now=True)
        except Exception:
            pass


def _start(km, env: dict, cwd: Path, log: Path) -> _Kernel:
    """Launch a kernel (not waiting for it: the two kernels of a submission start side by side)."""
    with open(log, "wb") as err:  # outside the sandbox's folder; the file size limit caps the student's
        km.start_kernel(env=env, cwd=str(cwd), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    client = km.client()
    client.context = channel.context()
    client.start_channels()
    return _Kernel(km, client, log)


def _manager(sockets: Path, connection_file: Path, kernel_name: str = "python3", **kw):
    """A kernel manager on ipc sockets in a folder of ours, not on tcp ports: many kernels starting at once
    (a class graded with --jobs, nbval beside it) can race for the same free port, and the loser dies."""
    from jupyter_client import KernelManager

    km = KernelManager(kernel_name=kernel_name, transport="ipc", ip=str(sockets),
                       connection_file=str(connection_file), **kw)
    km.write_connection_file()
    return km


def _student_kernel(work: Path, sandboxed: bool, limits: sandbox.Limits) -> _Kernel:
    from jupyter_client.kernelspec import KernelSpecManager

    home = work / "home"
    env = sandbox.environment(home)
    if not sandboxed:
        return _start(_manager(home / "k", home / "kernel.json"), env, home, work / "student.stderr")
    uid = sandbox.sandbox_uid()
    name = sandbox.kernelspec(work / "spec", home, limits, uid)
    km = _manager(home / "k", home / "kernel.json", name,
                  kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(work / "spec")]))
    sandbox.hand_over(home, uid)
    return _start(km, env, home, work / "student.stderr")


def _trusted_kernel(cwd: Path, work: Path) -> _Kernel:
    env = dict(os.environ, PYTHONHASHSEED="0")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    return _start(_manager(work / "t", work / "trusted.json"), env, cwd, work / "trusted.stderr")


def graded_functions(ex) -> list[str]:
    """The functions of an exercise's solution cell that hold a solution region (the student's work)."""
    solved, current = [], None
    for line in ex.solution_source.split("\n"):
        if m := re.match(r"def\s+([A-Za-z_]\w*)", line):
            current = m[1]
        elif line.strip().startswith(BEGIN_SOLUTION) and current and current not in solved:
            solved.append(current)
    return solved or ex.functions[:1]


OPAQUE = {"exec", "eval", "globals", "get_ipython", "locals", "vars", "__import__", "setattr"}


def _cell_names(source: str, modules: set) -> tuple[set, set, bool]:
    """(names a lesson cell binds or mutates, names it reads, whether it cannot be analysed)."""
    try:
        tree = ast.parse(scan._clean(source)[0])
    except SyntaxError:
        return set(), set(), True
    binds, reads, opaque = set(), set(), False

    def root(node):
        while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
            node = node.func if isinstance(node, ast.Call) else node.value
        return node.id if isinstance(node, ast.Name) else None

    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (binds if isinstance(node.ctx, (ast.Store, ast.Del)) else reads).add(node.id)
            opaque |= node.id in OPAQUE
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            binds.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                opaque |= a.name == "*"
                binds.add((a.asname or a.name).split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            binds.update(node.names)
        elif isinstance(node, ast.AugAssign) and (name := root(node.target)):
            reads.add(name)
        if isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, (ast.Store, ast.Del)) or (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            name = root(node.value if not isinstance(node, ast.Call) else node.func.value)
            if name and name not in modules:  # x.attr = .., x[k] = .., x.method(..): x may change
                binds.add(name)
    return binds, reads, opaque


def needed_cells(ref, ref_ex: dict) -> set[int]:
    """The instructor cells the trusted kernel must run for the tests: every solution and test cell, and
    (walking back) every cell that binds or may mutate a name they, or a cell already kept, read.
    Demonstrations nothing reads (plots, widgets, long trainings) are skipped."""
    code = {i: c.source for i, c in enumerate(ref.cells) if c.cell_type == "code"}
    modules = set()
    for src in code.values():
        try:
            modules.update(scan._modules(ast.parse(scan._clean(src)[0])))
        except SyntaxError:
            pass
    always = {i for ex in ref_ex.values() for i in (ex.solution, ex.tests) if i is not None}
    last = max((ex.tests for ex in ref_ex.values()), default=-1)
    keep, wanted = set(), set()
    for i in sorted((i for i in code if i <= last), reverse=True):
        binds, reads, opaque = _cell_names(code[i], modules)
        if i in always or opaque or binds & wanted:
            keep.add(i)
            wanted |= reads
    return keep


def _expression(out: channel.Outcome, key: str):
    """A string-valued user expression of a trusted kernel's reply."""
    value = out.user_expressions.get(key, {})
    try:
        return ast.literal_eval(value["data"]["text/plain"])
    except Exception:
        return None


def _new_report(path) -> dict:
    return {"submission": str(path), "lesson": None, "score": 0.0, "max_score": 0.0, "exercises": [],
            "notebook_errors": [], "error": None, "seconds": 0.0, "suspected_tampering": False, "flags": [],
            "sandbox": {}}


def _flag(report: dict, kind: str, detail: str, cell=None) -> None:
    report["flags"].append({"kind": kind, "cell": cell, "line": 0, "detail": detail[:300]})


def grade(path, lessons_dir: Path = NOTEBOOKS, *, timeout: float = 60, total: float = 600,
          sandboxed: bool | None = None, limits: sandbox.Limits | None = None) -> dict:
    """Grade one submission; return its report (a JSON-ready dict). Never raises for a bad submission.

    ``sandboxed``: None uses bubblewrap when it works here; False runs the student's kernel as a plain
    separate process (the report says so).
    """
    path, start = Path(path), time.monotonic()
    report = _new_report(path)
    try:
        if path.stat().st_size > MAX_NOTEBOOK:
            raise ValueError(f"the file is larger than {MAX_NOTEBOOK >> 20} MB")
        nb = nbformat.read(path, as_version=4)
    except Exception as e:
        report["error"] = f"cannot read the notebook: {type(e).__name__}: {e}"
        return report
    lesson = identify(nb, path, lessons_dir)
    if lesson is None:
        report["error"] = ("cannot tell which lesson this is: no assignment metadata, no '# Exercise N.k' cells "
                           f"of a lesson in {lessons_dir}, and no lesson number in the file name")
        return report
    report["lesson"] = lesson.stem
    ref = nbformat.read(lesson, as_version=4)
    ref_ex = {k: e for k, e in find_exercises(ref).items() if e.tests is not None}
    report["max_score"] = sum(e.points for e in ref_ex.values())
    results = {k: {"id": k, "title": e.title, "function": e.function, "points": e.points, "score": 0.0,
                   "status": "not run", "feedback": "", "error": "", "mistakes": []} for k, e in ref_ex.items()}
    student_ex = find_exercises(nb)
    tests_at = {ex.tests: k for k, ex in student_ex.items() if k in ref_ex and ex.tests is not None}
    for k in ref_ex:
        if k not in tests_at.values():
            results[k].update(status="missing tests", feedback=(
                f"the test cell '# Tests for exercise {k}' was deleted or its first line changed: 0 points. "
                "Put the cell back as it is in the assignment and submit again."))
    report["flags"] = scan.scan(nb, ref, {k: (ex.solution, graded_functions(ref_ex[k]) if k in ref_ex else [])
                                          for k, ex in student_ex.items()})
    use_bwrap = sandbox.bwrap() is not None if sandboxed is None else bool(sandboxed and sandbox.bwrap())
    report["sandbox"] = {"sandboxed": use_bwrap, "tool": sandbox.version() if use_bwrap else "none",
                         "events": []}
    work = Path(tempfile.mkdtemp(prefix="bpg-"))
    try:
        _Grading(report, results, nb, ref, ref_ex, tests_at, lesson, work, use_bwrap,
                 limits or sandbox.Limits(cpu=int(total) + 60), timeout, start + total).run()
    except Exception as e:  # the grader's own failure: this submission's report says so, the others go on
        report["error"] = f"grading stopped: {type(e).__name__}: {e}"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for res in results.values():
        if res["status"] == "not run" and not res["feedback"]:
            res["feedback"] = "not graded: " + (report["error"] or "the notebook stopped before this exercise's tests")
    report["exercises"] = list(results.values())
    report["score"] = sum(r["score"] for r in results.values())
    report["suspected_tampering"] = bool(report["flags"]) or bool(set(report["sandbox"].get("events", [])) & SUSPECT)
    report["seconds"] = round(time.monotonic() - start, 1)
    return report


class _Grading:
    """One submission being graded: the two kernels and where each stands."""

    def __init__(self, report, results, nb, ref, ref_ex, tests_at, lesson, work, use_bwrap, limits, timeout,
                 deadline):
        self.report, self.results, self.nb, self.ref, self.ref_ex = report, results, nb, ref, ref_ex
        self.tests_at, self.lesson, self.work, self.use_bwrap = tests_at, lesson, work, use_bwrap
        self.limits, self.timeout, self.deadline = limits, timeout, deadline
        self.student = self.trusted = None
        self.cursor = 0          # next instructor cell the trusted kernel runs
        self.keep = needed_cells(ref, ref_ex)
        self.dead = ""           # why the student's kernel cannot go on

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def budget(self) -> float:
        return max(1.0, min(self.timeout, self.left()))

    def run(self) -> None:
        home = self.work / "home"
        sandbox.prepare_home(home)
        shutil.copy(self.report["submission"], home / "submission.ipynb")
        shutil.copy(Path(__file__).with_name("wire.py"), home / "_bpcore_wire.py")
        try:
            student = functools.partial(_student_kernel, self.work, self.use_bwrap, self.limits)
            trusted = functools.partial(_trusted_kernel, self.lesson.parent, self.work)
            self.student = student()
            self.trusted = trusted()
            self.student = self._ready(self.student, student, "student's")
            self.trusted = self._ready(self.trusted, trusted, "trusted")
            boot = self.student.run(f"import sys\nsys.path.insert(0, {str(home)!r})\nimport _bpcore_wire", 60)
            if boot.status != "ok":
                raise RuntimeError(f"the student's kernel did not start: {boot.status} {boot.ename} {boot.evalue}")
            cf = self.student.km.connection_file
            link = self.trusted.run(f"import bpcore.assignments.trusted as _bpcore_trusted\n"
                                    f"_bpcore_trusted.connect({cf!r}, {self.student.pid()!r})", 60)
            if link.status != "ok":
                raise RuntimeError(f"the trusted kernel did not start: {link.ename}: {link.evalue}")
            self._cells()
        finally:
            for k in (self.student, self.trusted):
                if k is not None:
                    k.kill()
        if self.dead:
            self.report["error"] = self.dead
            for res in self.results.values():
                if res["status"] == "not run":
                    res["feedback"] = f"not graded: {self.dead}"

    @staticmethod
    def _ready(kernel: _Kernel, restart, which: str) -> _Kernel:
        """Wait for a kernel's first reply. One that dies before it is started once more: no line of the
        submission has run yet, so the death is the machine's doing (a loaded CI box), not the student's."""
        try:
            kernel.client.wait_for_ready(timeout=240)  # a loaded machine can take this long
            return kernel
        except RuntimeError as first:
            why = f"{first} ({kernel.last_words()})"
            kernel.kill()
        again = restart()
        try:
            again.client.wait_for_ready(timeout=240)
        except RuntimeError as second:
            again.kill()
            raise RuntimeError(f"the {which} kernel did not start, twice: {why}; then {second} "
                               f"({again.last_words()})") from None
        return again

    def _cells(self) -> None:
        last = max(self.tests_at, default=-1)
        for i, cell in enumerate(self.nb.cells):
            if cell.cell_type != "code" or i > last or self.dead:
                continue
            if self.left() <= 1:
                self._stop("the time limit for the whole notebook was reached", "total-timeout")
                break
            k = self.tests_at.get(i)
            if k is None:
                self._student_cell(i, cell)
            else:
                self._tests(k)

    def _event(self, event: str) -> None:
        if event not in self.report["sandbox"]["events"]:
            self.report["sandbox"]["events"].append(event)

    def _stop(self, why: str, event: str) -> None:
        self.dead = why
        self._event(event)
        if self.student is not None:
            self.student.kill()

    def _student_cell(self, i: int, cell) -> None:
        budget = self.budget()
        out = self.student.run(cell.source, budget, max_output=MAX_OUTPUT)
        if out.ename == "MemoryError":
            self._event("memory-limit")
        if out.status == "error":
            self.report["notebook_errors"].append(
                {"cell": i, "first_line": first_line(cell), "error": f"{out.ename}: {out.evalue}"[:2000]})
        elif out.status == "timeout":
            self.report["notebook_errors"].append(
                {"cell": i, "first_line": first_line(cell), "error": f"GraderTimeout: ran longer than {budget:.0f} s"})
            if not self.student.responds():
                self._stop("the kernel did not stop after the time limit and was shut down", "killed-after-timeout")
        elif out.status == "flood":
            self._stop("the notebook printed more output than the grader accepts (a flood) and was stopped",
                       "output-flood")
        elif out.status != "ok":
            self._stop("the kernel died (the notebook exited Python, was killed, or ran out of memory)",
                       "kernel-died")

    def _trusted_cell(self, source: str, timeout: float, **kw) -> channel.Outcome:
        out = self.trusted.run(source, timeout, **kw)
        if out.status in ("timeout", "flood"):
            self.trusted.responds()
        if not self.trusted.alive():
            raise RuntimeError("the trusted kernel died")
        return out

    def _catch_up(self, upto: int) -> None:
        """Run the instructor lesson in the trusted kernel up to (not including) cell ``upto``."""
        started = time.monotonic()
        while self.cursor < upto:
            cell = self.ref.cells[self.cursor]
            self.cursor += 1
            if cell.cell_type == "code" and self.cursor - 1 in self.keep:
                out = self._trusted_cell(cell.source, TRUSTED_CELL)
                if out.status != "ok":
                    self.report.setdefault("lesson_errors", []).append(
                        {"cell": self.cursor - 1, "error": f"{out.ename}: {out.evalue}"[:500]})
        self.deadline += time.monotonic() - started  # the lesson's own time is not taken from the student's

    def _tests(self, k: str) -> None:
        ex, res = self.ref_ex[k], self.results[k]
        self._catch_up(ex.tests)
        self.cursor = max(self.cursor, ex.tests + 1)
        names = graded_functions(ex)
        budget = self.budget()
        self._trusted_cell(f"_bpcore_trusted.bind(globals(), {names!r}, {budget!r})", 30)
        out = self._trusted_cell(ex.tests_source, budget + 20, max_output=32 << 20)
        state = _expression(self._trusted_cell("", 30, user_expressions={"s": "_bpcore_trusted.status()"}), "s")
        state = json.loads(state) if state else {"stop": "", "where": {}}
        self._trusted_cell("_bpcore_trusted.unbind(globals())", 30)
        if out.status == "ok":
            res.update(score=ex.points, status="passed", feedback="all tests passed")
            return
        error = {"ename": out.ename, "evalue": ANSI.sub("", out.evalue),
                 "traceback": [ANSI.sub("", t) for t in out.traceback],
                 "where": next((w for f in names if (w := state["where"].get(f))), "")}
        if out.status == "timeout":
            error.update(ename="GraderTimeout", evalue=f"{budget:.0f} s")
        if error["ename"] == "MemoryError":
            self._event("memory-limit")
        res["status"], res["feedback"] = _feedback(ex, error, ex.tests_source)
        res["error"] = f"{error['ename']}: {error['evalue']}"[:2000]
        stop = error["ename"] if error["ename"] in STOPS else state.get("stop", "")
        if stop:
            self._after_stop(stop)
        if self.dead and stop != "GraderTimeout":
            res.update(status="not run", feedback=f"not graded: {self.dead}", error=res["error"])
        if self.dead:
            return
        if res["status"] in ("failed", "error"):
            self._mistakes(k, ex, res, names)

    def _after_stop(self, why: str) -> None:
        if why == "StudentKernelDied":
            self._stop("the kernel died (the notebook exited Python, was killed, or ran out of memory)",
                       "kernel-died")
        elif why == "OutputFlood":
            self._stop("the notebook printed more output than the grader accepts (a flood) and was stopped",
                       "output-flood")
        elif self.student.responds():
            self._trusted_cell("_bpcore_trusted.resume()", 30)
        else:
            self._stop("the kernel did not stop after the time limit and was shut down", "killed-after-timeout")

    def _mistakes(self, k, ex, res, names) -> None:
        variants = []
        for m in (m for m in for_lesson(lesson_number(self.lesson)) if m.exercise == k):
            try:
                variants.append((m.name, m.function or ex.function, variant_source(m, ex.solution_source), m.hint))
            except ValueError:
                continue  # a stale entry: tests/test_assignments.py reports it
        if not variants:
            return
        code = "_m = _bpcore_trusted.match_mistakes(globals(), {!r}, {!r}, {!r})".format(
            names, ex.solution_source, [v[:3] for v in variants])
        found = _expression(self._trusted_cell(code, max(self.budget(), 30), user_expressions={"m": "_m"}), "m")
        res["mistakes"] = json.loads(found) if found else []
        hints = {v[0]: v[3] for v in variants}
        res["feedback"] += "".join(f"\nlikely mistake ({n}): {hints[n]}" for n in res["mistakes"] if n in hints)


def submissions(target) -> list[Path]:
    target = Path(target)
    if target.is_dir():
        return sorted((p for p in target.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts), key=str)
    return [target]


def _failed(path, why: str) -> dict:
    report = _new_report(path)
    report["error"] = f"grader failed: {why}"
    return report


def _worker_main(item_file: str, out_file: str) -> None:
    """``python -c ...``: grade one item (JSON) into ``out_file`` (the report, written atomically)."""
    item = json.loads(Path(item_file).read_text())
    item["lessons_dir"] = Path(item["lessons_dir"])
    report = grade(**item)
    tmp = Path(out_file + ".part")
    tmp.write_text(json.dumps(report))
    os.replace(tmp, out_file)


def _in_worker(item: dict, scratch: Path, n: int) -> dict:
    """Grade ``item`` in a fresh process: whatever happens to it, only this submission's report suffers."""
    item_file, out_file = scratch / f"{n}.item.json", scratch / f"{n}.report.json"
    item_file.write_text(json.dumps({**item, "path": str(item["path"]), "lessons_dir": str(item["lessons_dir"])}))
    code = "import sys; from bpcore.assignments.grade import _worker_main; _worker_main(sys.argv[1], sys.argv[2])"
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")  # several kernels at once on few cores: one BLAS thread each
    proc = subprocess.Popen([sys.executable, "-c", code, str(item_file), str(out_file)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=2 * float(item.get("total", 600)) + 300)  # + the lesson's own time
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()
        return _failed(item["path"], "the grading process did not finish in time and was stopped")
    try:
        return json.loads(out_file.read_text())
    except (OSError, ValueError):
        tail = (err or b"").decode(errors="replace").strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        return _failed(item["path"], f"the grading process ended without a report ({tail[0][:300]})")


def grade_many(items: list[dict], jobs: int = 1, on_report=None) -> list[dict]:
    """Grade ``items`` (each a dict of :func:`grade` arguments: path, lessons_dir, timeout, total, ...),
    ``jobs`` at a time, each in its own process; reports come back in the order given (``on_report`` is
    called as each finishes)."""
    if jobs <= 1 or len(items) <= 1:
        out = []
        for item in items:
            try:
                out.append(grade(**item))
            except Exception as e:  # a bug of the grader itself: still one report per submission
                out.append(_failed(item["path"], f"{type(e).__name__}: {e}"))
            if on_report:
                on_report(out[-1])
        return out
    from concurrent.futures import ThreadPoolExecutor, as_completed

    scratch = Path(tempfile.mkdtemp(prefix="bpg-jobs-"))
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_in_worker, item, scratch, n): n for n, item in enumerate(items)}
            out: list = [None] * len(items)
            for f in as_completed(futures):
                n = futures[f]
                try:
                    out[n] = f.result()
                except Exception as e:
                    out[n] = _failed(items[n]["path"], f"{type(e).__name__}: {e}")
                if on_report:
                    on_report(out[n])
            return out
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def grade_all(paths, lessons_dir: Path = NOTEBOOKS, *, timeout: float = 60, total: float = 600,
              jobs: int = 1, on_report=None, sandboxed: bool | None = None) -> list[dict]:
    """Grade many submissions against the lessons in ``lessons_dir``, ``jobs`` at a time."""
    items = [dict(path=p, lessons_dir=lessons_dir, timeout=timeout, total=total, sandboxed=sandboxed) for p in paths]
    return grade_many(items, jobs, on_report)


def format_report(r: dict) -> str:
    """The text a teacher (or student) reads: a line per exercise, feedback indented under it."""
    name = Path(r["submission"]).name
    head = f"{name} — lesson {r['lesson'] or '?'}: {r['score']:g} / {r['max_score']:g} points"
    lines = [head, "=" * len(head)]
    if r.get("error"):
        lines.append(f"grading problem: {r['error']}")
    if r.get("sandbox") and not r["sandbox"].get("sandboxed"):
        lines.append("WARNING: NOT SANDBOXED (--sandbox off, or no working bubblewrap): the student's code ran as a "
                     "plain process with your permissions")
    for e in r["exercises"]:
        lines.append(f"Exercise {e['id']:<6} {e['function'] or e['title']:<28} {e['score']:>4g} / {e['points']:<4g} "
                     f"{e['status']}")
        if e["status"] != "passed":
            lines += ["    " + ln for ln in e["feedback"].split("\n")]
    if r["notebook_errors"]:
        lines.append("Other cells that raised an error in your notebook:")
        lines += [f"    cell {x['cell']} ({x['first_line'][:40]}): {x['error'][:200]}" for x in r["notebook_errors"]]
    if r.get("flags"):
        lines.append("SUSPECTED TAMPERING (for the teacher; the grade does not depend on it):")
        lines += [f"    {f['kind']}: cell {f['cell']}, line {f['line']}: {f['detail'][:120]}" for f in r["flags"][:20]]
    return "\n".join(lines)


def write_json(path: Path, reports: list[dict], shard: str | None = None) -> None:
    """The whole report, written once and atomically (a reader never sees half a file)."""
    from . import dumps_report

    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    text = dumps_report(reports)
    if shard:
        text = json.dumps({"shard": shard, **json.loads(text)}, indent=2, ensure_ascii=False)
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)
