"""The autograder: run a student's notebook in a fresh kernel with the lesson's full tests in place.

For one submission:

1. read it and tell which lesson it is (the student version's metadata, else the ``# Exercise N.k``
   cells, else the file name ``NN_…``);
2. put the lesson's full test cell (visible + hidden asserts, from the instructor version in
   ``notebooks/``) in place of each ``# Tests for exercise N.k`` cell — a test cell the student deleted
   scores 0 for its exercise, with a message saying so;
3. run every cell in a fresh python3 kernel, continuing past errors, with a time limit per cell and
   for the whole notebook; a cell that runs too long is interrupted (the kernel is killed if it does
   not stop) and whatever has not run scores 0;
4. score each exercise all or nothing (as nbgrader does): its test cell ran without error. Feedback
   is the failing assert's message — for a gradient check, the report table with which parameter fails,
   its relative error, where, and a hint (``bpcore.gradcheck``) — plus the known mistake the student's
   outputs match (``bpcore.assignments.mistakes``).

Nothing raised by a submission crashes the grader: an unreadable file or an unknown lesson is a report
with an error and score 0.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

from . import NOTEBOOKS, find_exercises, first_line, lesson_number, lessons, read_meta
from .kernel import MARK
from .mistakes import for_lesson, variant_source

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
KERNEL = "bpcore.assignments.kernel"


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


def _error_of(cell) -> dict | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            tb = [ANSI.sub("", line) for line in out.get("traceback", [])]
            return {"ename": out.get("ename", ""), "evalue": ANSI.sub("", out.get("evalue", "")), "traceback": tb}
    return None


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


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


def _where_in_student_code(error: dict) -> str:
    """The student's own frame where an exception was raised (the last cell frame), for non-asserts."""
    frames = [c for c in error["traceback"] if re.search(r"Cell In\[\d+\], line \d+", c)]
    if len(frames) < 2:
        return ""
    last = frames[-1].strip().split("\n")
    arrow = next((ln.strip() for ln in last if ln.lstrip().startswith("---->")), "")
    head = re.sub(r"Cell In\[\d+\], ", "", last[0])
    return f"{head}: {arrow.lstrip('->').strip()}" if arrow else head


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
    where = _where_in_student_code(error)
    return "error", f"{which} raised {ename}: {evalue}" + (f"\nraised at {where}" if where else "") + (
        f"\ntest line: {line}" if line else "")


class _Runner:
    """One kernel, cells run one by one with a per-cell and a total time limit."""

    def __init__(self, nb, cwd: Path, timeout: float, total: float):
        from nbclient import NotebookClient

        self.nb, self.timeout, self.deadline = nb, timeout, time.monotonic() + total
        self.client = NotebookClient(
            nb, timeout=timeout, kernel_name="python3", allow_errors=True, record_timing=False,
            interrupt_on_timeout=True, resources={"metadata": {"path": str(cwd)}},
            error_on_timeout={"ename": "GraderTimeout", "evalue": f"{timeout:g} s per cell",
                              "traceback": [f"GraderTimeout: the cell ran longer than {timeout:g} s"]})
        self.dead, self.last_reply = "", None
        self.client.on_cell_executed = self._on_executed

    def _on_executed(self, cell, cell_index, execute_reply):
        self.last_reply = (execute_reply or {}).get("content", {})

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def run(self, cell, index: int) -> None:
        """Execute ``cell`` (outputs stored on it); sets ``self.dead`` when the kernel cannot go on."""
        from nbclient.exceptions import DeadKernelError

        if self.dead:
            return
        left = self.remaining()
        if left <= 1:
            self.dead = "the time limit for the whole notebook was reached"
            return
        budget = max(1.0, min(self.timeout, left))
        self.client.timeout = budget
        self.client.error_on_timeout = {**self.client.error_on_timeout, "evalue": f"{budget:.0f} s"}
        self.last_reply = None
        try:
            self.client.execute_cell(cell, index)
            err = _error_of(cell)
            timed_out = (self.last_reply or {}).get("ename") == "GraderTimeout"
            if timed_out or (err and err["ename"] == "KeyboardInterrupt"):
                # the kernel was interrupted at the time limit: say so instead of KeyboardInterrupt
                cell.outputs = [o for o in cell.outputs if o.get("output_type") != "error"] + [
                    nbformat.v4.new_output("error", ename="GraderTimeout", evalue=f"{budget:.0f} s",
                                           traceback=[f"the cell ran longer than {budget:.0f} s"])]
        except DeadKernelError:
            self.dead = "the kernel died (the notebook exited Python or ran out of memory)"
            return
        except Exception as e:  # nbclient gave up on the cell: report it as the cell's error
            cell.outputs = [nbformat.v4.new_output("error", ename=type(e).__name__, evalue=str(e), traceback=[])]
        err = _error_of(cell)
        if err and err["ename"] == "GraderTimeout" and not self._responds():
            self.dead = "the kernel did not stop after the time limit and was shut down"

    def _responds(self) -> bool:
        """After an interrupt: does the kernel run a trivial cell? If not, it is shut down at exit."""
        self.client.timeout, self.last_reply = 5, None
        try:
            self.client.execute_cell(new_code_cell("pass"), 0)
        except Exception:
            pass
        if (self.last_reply or {}).get("status") == "ok":
            return True
        self.client.shutdown_kernel = "immediate"
        return False


def grade(path, lessons_dir: Path = NOTEBOOKS, *, timeout: float = 60, total: float = 600,
          cwd: Path | None = None) -> dict:
    """Grade one submission; return its report (a JSON-ready dict). Never raises for a bad submission."""
    path = Path(path)
    start = time.monotonic()
    report = {"submission": str(path), "lesson": None, "score": 0.0, "max_score": 0.0, "exercises": [],
              "notebook_errors": [], "error": None, "seconds": 0.0}
    try:
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
    mistakes = [m for m in for_lesson(lesson_number(lesson)) if m.exercise in ref_ex]

    # the lesson's full test cells replace the student's; missing ones score 0
    graded = {}
    for k, ex in find_exercises(nb).items():
        if k in ref_ex and ex.tests is not None:
            nb.cells[ex.tests].source = ref_ex[k].tests_source
            graded[ex.tests] = k
    for k in ref_ex:
        if k not in graded.values():
            results[k].update(status="missing tests", feedback=(
                f"the test cell '# Tests for exercise {k}' was deleted or its first line changed: 0 points. "
                "Put the cell back as it is in the assignment and submit again."))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None

    try:
        runner = _Runner(nb, cwd or lessons_dir, timeout, total)
        with _hash_seed(), runner.client.setup_kernel():
            runner.run(new_code_cell(f"import {KERNEL} as _bpcore_grader"), 0)
            for i, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                k = graded.get(i)
                if k is not None:
                    runner.run(new_code_cell(f"_bpcore_grader.watch(globals(), {ref_ex[k].functions!r})"), i)
                runner.run(cell, i)
                err = _error_of(cell)
                if k is None:
                    if err:
                        report["notebook_errors"].append(
                            {"cell": i, "first_line": first_line(cell), "error": f"{err['ename']}: {err['evalue']}"})
                    if runner.dead:
                        break
                    continue
                res, ex = results[k], ref_ex[k]
                if err is None and runner.dead:
                    break  # the kernel died in the tests: not passed; the feedback below says why
                if err is None:
                    res.update(score=ex.points, status="passed", feedback="all tests passed")
                else:
                    res["status"], res["feedback"] = _feedback(ex, err, ex.tests_source)
                    res["error"] = f"{err['ename']}: {err['evalue']}"
                    if runner.dead:
                        break
                    mine = [m for m in mistakes if m.exercise == k]
                    if mine and res["status"] in ("failed", "error"):
                        res["mistakes"] = _match(runner, mine, ex, i)
                        if res["mistakes"]:
                            hints = {m.name: m.hint for m in mine}
                            res["feedback"] += "".join(f"\nlikely mistake ({n}): {hints[n]}" for n in res["mistakes"])
                runner.run(new_code_cell("_bpcore_grader.unwatch(globals())"), i)
            if runner.dead:
                report["error"] = runner.dead
                for res in results.values():
                    if res["status"] == "not run":
                        res["feedback"] = f"not graded: {runner.dead}"
    except Exception as e:  # the kernel would not start, or nbclient failed outside a cell
        report["error"] = f"grading stopped: {type(e).__name__}: {e}"
    for res in results.values():
        if res["status"] == "not run" and not res["feedback"]:
            res["feedback"] = "not graded: the notebook stopped before this exercise's tests"
    report["exercises"] = list(results.values())
    report["score"] = sum(r["score"] for r in results.values())
    report["seconds"] = round(time.monotonic() - start, 1)
    return report


def _match(runner: _Runner, mine, ex, index: int) -> list:
    variants = []
    for m in mine:
        try:
            variants.append((m.name, m.function or ex.function, variant_source(m, ex.solution_source)))
        except ValueError:
            continue  # a stale entry: tests/test_assignments.py reports it
    if not variants:
        return []
    cell = new_code_cell(f"_bpcore_grader.match_mistakes(globals(), {ex.solution_source!r}, {variants!r})")
    runner.run(cell, index)
    for line in _stdout(cell).splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    return []


class _hash_seed:
    """PYTHONHASHSEED=0 for the kernel we start (as bpcore.nbtools does), restored afterwards."""

    def __enter__(self):
        self.old = os.environ.get("PYTHONHASHSEED")
        os.environ["PYTHONHASHSEED"] = "0"

    def __exit__(self, *exc):
        if self.old is None:
            os.environ.pop("PYTHONHASHSEED", None)
        else:
            os.environ["PYTHONHASHSEED"] = self.old


def submissions(target) -> list[Path]:
    target = Path(target)
    if target.is_dir():
        return sorted(p for p in target.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    return [target]


def _worker_init():
    # several kernels at once on few cores: one BLAS thread each instead of oversubscribing the machine
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def _failed(path, e) -> dict:
    return {"submission": str(path), "lesson": None, "score": 0.0, "max_score": 0.0, "exercises": [],
            "notebook_errors": [], "error": f"grader failed: {type(e).__name__}: {e}", "seconds": 0.0}


def grade_many(items: list[dict], jobs: int = 1, on_report=None) -> list[dict]:
    """Grade ``items`` (each a dict of :func:`grade` arguments: path, lessons_dir, timeout, total),
    ``jobs`` at a time, each in its own process and kernel; reports come back in the order given."""
    if jobs <= 1 or len(items) <= 1:
        out = []
        for item in items:
            try:
                out.append(grade(**item))
            except Exception as e:  # a bug of the grader itself: still one report per submission
                out.append(_failed(item["path"], e))
            if on_report:
                on_report(out[-1])
        return out
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_worker_init) as pool:
        futures = [pool.submit(grade, **item) for item in items]
        out = []
        for item, f in zip(items, futures):
            try:
                out.append(f.result())
            except Exception as e:
                out.append(_failed(item["path"], e))
            if on_report:
                on_report(out[-1])
        return out


def grade_all(paths, lessons_dir: Path = NOTEBOOKS, *, timeout: float = 60, total: float = 600,
              jobs: int = 1, on_report=None) -> list[dict]:
    """Grade many submissions against the lessons in ``lessons_dir``, ``jobs`` at a time."""
    items = [dict(path=p, lessons_dir=lessons_dir, timeout=timeout, total=total) for p in paths]
    return grade_many(items, jobs, on_report)


def format_report(r: dict) -> str:
    """The text a teacher (or student) reads: a line per exercise, feedback indented under it."""
    name = Path(r["submission"]).name
    head = f"{name} — lesson {r['lesson'] or '?'}: {r['score']:g} / {r['max_score']:g} points"
    lines = [head, "=" * len(head)]
    if r.get("error"):
        lines.append(f"grading problem: {r['error']}")
    for e in r["exercises"]:
        lines.append(f"Exercise {e['id']:<6} {e['function'] or e['title']:<28} {e['score']:>4g} / {e['points']:<4g} "
                     f"{e['status']}")
        if e["status"] != "passed":
            lines += ["    " + ln for ln in e["feedback"].split("\n")]
    if r["notebook_errors"]:
        lines.append("Other cells that raised an error in your notebook:")
        lines += [f"    cell {x['cell']} ({x['first_line'][:40]}): {x['error'][:200]}" for x in r["notebook_errors"]]
    return "\n".join(lines)
