"""Student versions and the autograder, on every lesson present and on a small fixture lesson.

Each lesson's notebook is executed as few times as possible: one grading run each for the reference
(the instructor version), the blank student version, and one or two submissions that carry planted
bugs (real mistakes, one per exercise per submission). All of them are graded in one pool, two at a
time, by a session-scoped fixture; the tests only read the reports.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from bpcore.assignments import (
    BEGIN_SOLUTION,
    END_SOLUTION,
    find_exercises,
    format_problems,
    leftover_solution,
    lessons,
    student_version,
)
from bpcore.assignments.grade import grade_all
from bpcore.assignments.mistakes import MISTAKES, variant_source

ROOT = Path(__file__).resolve().parent.parent
LESSONS = lessons()
_spec = importlib.util.spec_from_file_location("lesson98", Path(__file__).parent / "fixtures" / "lesson98.py")
lesson98 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lesson98)


# --- building submissions: the student version with the stubs replaced by code ----------------------------

STUB = re.compile(r"^([ \t]*)# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(.*\)[ \t]*$", re.M)


def solution_bodies(lesson: Path) -> dict[str, list[str]]:
    """The reference code between BEGIN/END SOLUTION of each exercise (one string per region, dedented)."""
    out = {}
    for k, ex in find_exercises(nbformat.read(lesson, as_version=4)).items():
        regions, cur = [], None
        for line in ex.solution_source.split("\n"):
            if line.strip().startswith(BEGIN_SOLUTION):
                cur = []
            elif line.strip().startswith(END_SOLUTION):
                regions.append(textwrap.dedent("\n".join(cur)))
                cur = None
            elif cur is not None:
                cur.append(line)
        out[k] = regions
    return out


def submission(lesson: Path, bodies: dict[str, str | list[str]] | None = None):
    """The student version of ``lesson`` with every exercise solved by the reference, except those in
    ``bodies`` (exercise id -> replacement body, or one body per solution region); None: left blank."""
    nb = student_version(lesson)
    if bodies is None:
        return nb
    ref = solution_bodies(lesson)
    for k, ex in find_exercises(nb).items():
        want = bodies.get(k, ref.get(k, []))
        want = [want] if isinstance(want, str) else list(want)
        cell = nb.cells[ex.solution]
        stubs = list(STUB.finditer(cell.source))
        assert len(stubs) == len(want), f"exercise {k}: {len(stubs)} stub(s) but {len(want)} body(ies)"
        for m, body in reversed(list(zip(stubs, want))):
            indented = textwrap.indent(textwrap.dedent(body).strip("\n"), m[1])
            cell.source = cell.source[:m.start()] + indented + cell.source[m.end():]
    return nb


# --- planted bugs: real mistakes, written as a student would, per lesson ------------------------------------

@dataclass
class Bug:
    exercise: str
    body: str | list[str]   # replaces the solution region(s) of the exercise
    expect: str             # must appear in the exercise's feedback (gradcheck hint or known-mistake name)
    what: str = ""


PLANTED: dict[int, list[Bug]] = {
    98: [
        Bug("98.1", """
            dW = cache["x"] @ dout.T
            db = dout.sum(axis=1, keepdims=True)
            dx = cache["W"].T @ dout
            return {"W": dW, "b": db, "x": dx}""", "transpose of the expected shape", "transposed weight gradient"),
        Bug("98.2", "return dout * h * (1.0 - h)", "sigmoid-derivative", "derivative of the wrong nonlinearity"),
        Bug("98.1", """
            return {"W": dout @ cache["x"].T, "b": 0 * cache["b"], "x": cache["W"].T @ dout}""",
            "forgotten bias gradient", "bias gradient left at zero"),
    ],
}


def plant(lesson: Path, bugs: list[Bug]) -> list[tuple[list[Bug], object]]:
    """Submissions carrying ``bugs``, at most one per exercise in each."""
    groups: list[list[Bug]] = []
    for bug in bugs:
        for g in groups:
            if all(b.exercise != bug.exercise for b in g):
                g.append(bug)
                break
        else:
            groups.append([bug])
    return [(g, submission(lesson, {b.exercise: b.body for b in g})) for g in groups]


# --- one grading pool for everything ------------------------------------------------------------------------

def _build_all(folder: Path, lesson_paths: list[Path]) -> dict:
    plan = {}
    for lesson in lesson_paths:
        n = int(lesson.name[:2])
        plan[(lesson.stem, "reference")] = lesson
        blank = folder / f"{lesson.stem}__blank.ipynb"
        nbformat.write(submission(lesson), blank)
        plan[(lesson.stem, "blank")] = blank
        for j, (bugs, nb) in enumerate(plant(lesson, PLANTED.get(n, []))):
            p = folder / f"{lesson.stem}__bugs{j}.ipynb"
            nbformat.write(nb, p)
            plan[(lesson.stem, f"bugs{j}")] = (p, bugs)
    return plan


def _grade_plan(plan: dict, lessons_dir: Path, **kw) -> dict:
    keys = list(plan)
    paths = [plan[k][0] if isinstance(plan[k], tuple) else plan[k] for k in keys]
    reports = grade_all(paths, lessons_dir, jobs=2, **kw)
    return {k: r for k, r in zip(keys, reports)}


@pytest.fixture(scope="session")
def fixture_lesson(tmp_path_factory) -> Path:
    return lesson98.write(tmp_path_factory.mktemp("course") / "notebooks")


@pytest.fixture(scope="session")
def graded(tmp_path_factory, fixture_lesson):
    """Reports keyed (lesson stem, 'reference' | 'blank' | 'bugsJ'), for every lesson and the fixture."""
    folder = tmp_path_factory.mktemp("submissions")
    plan = _build_all(folder, LESSONS)
    fplan = _build_all(folder, [fixture_lesson])
    reports = _grade_plan(plan, ROOT / "notebooks", timeout=120, total=300) if plan else {}
    reports.update(_grade_plan(fplan, fixture_lesson.parent, timeout=60, total=120))
    return {"plan": {**plan, **fplan}, "reports": reports}


def _lesson_ids():
    return [p.stem for p in LESSONS] + ["98_fixture_layer"]


def _lesson_path(stem, fixture_lesson):
    return fixture_lesson if stem == "98_fixture_layer" else ROOT / "notebooks" / f"{stem}.ipynb"


# --- format and student versions (no kernel) -----------------------------------------------------------------

@pytest.mark.parametrize("stem", _lesson_ids())
def test_lesson_follows_the_exercise_format(stem, fixture_lesson):
    problems = format_problems(_lesson_path(stem, fixture_lesson))
    assert not problems, f"{stem} breaks the exercise format:\n" + "\n".join(problems)


@pytest.mark.parametrize("stem", _lesson_ids())
def test_student_version_has_no_solution_or_hidden_test_left(stem, fixture_lesson):
    lesson = _lesson_path(stem, fixture_lesson)
    nb = student_version(lesson)
    assert not leftover_solution(lesson, nb), leftover_solution(lesson, nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "student versions are stored without outputs"
    exercises = find_exercises(nb)
    assert exercises and all(ex.tests is not None and ex.solution is not None for ex in exercises.values())
    for k, ex in exercises.items():
        assert f'raise NotImplementedError("Exercise {k} is not done yet' in nb.cells[ex.solution].source


def test_make_writes_every_lesson_beside_notebooks_so_images_resolve(tmp_path):
    out = tmp_path / "assignments"
    result = subprocess.run([sys.executable, "-m", "bpcore.assignments", "make", "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.glob("*.ipynb")) == sorted(p.name for p in LESSONS)
    for p in out.glob("*.ipynb"):
        nb = nbformat.read(p, as_version=4)
        assert nb.metadata["bpcore_assignment"]["lesson"] == p.stem
        for link in re.findall(r"\]\((\.\./images/[^)\s]+)\)", "\n".join(c.source for c in nb.cells)):
            assert (ROOT / "assignments" / link).resolve().is_file(), f"{p.name}: {link} would not resolve"


@pytest.mark.parametrize("lesson_number", sorted(MISTAKES))
def test_known_mistakes_still_apply_to_the_lessons(lesson_number, fixture_lesson):
    if lesson_number == 98:
        lesson = fixture_lesson
    else:
        found = [p for p in LESSONS if int(p.name[:2]) == lesson_number]
        if not found:
            pytest.skip(f"lesson {lesson_number:02d} is not in notebooks/")
        lesson = found[0]
    exercises = find_exercises(nbformat.read(lesson, as_version=4))
    for m in MISTAKES[lesson_number]:
        assert m.exercise in exercises, f"mistake {m.name}: no exercise {m.exercise}"
        variant_source(m, exercises[m.exercise].solution_source)  # raises StaleMistake if out of step


# --- grading --------------------------------------------------------------------------------------------------

def _explain(report):
    return json.dumps(report, indent=1)[:6000]


@pytest.mark.parametrize("stem", _lesson_ids())
def test_reference_scores_full_marks(stem, graded):
    r = graded["reports"][(stem, "reference")]
    assert r["error"] is None, _explain(r)
    assert r["max_score"] > 0 and r["score"] == r["max_score"], _explain(r)
    assert not r["notebook_errors"], _explain(r)


@pytest.mark.parametrize("stem", _lesson_ids())
def test_blank_student_version_scores_zero_and_runs_up_to_its_first_exercise(stem, graded, fixture_lesson):
    r = graded["reports"][(stem, "blank")]
    assert r["error"] is None and r["score"] == 0, _explain(r)
    assert all(e["status"] == "not attempted" for e in r["exercises"]), _explain(r)
    first = r["exercises"][0]
    assert first["error"].startswith(f"NotImplementedError: Exercise {first['id']} is not done yet"), _explain(r)
    # nothing before the first exercise fails, and nothing after it fails other than by NotImplementedError
    nb = nbformat.read(_lesson_path(stem, fixture_lesson), as_version=4)
    start = min(ex.header for ex in find_exercises(nb).values() if ex.header is not None)
    for err in r["notebook_errors"]:
        assert err["cell"] > start and err["error"].startswith("NotImplementedError"), (
            f"cell {err['cell']} of the student version fails without the exercises solved: {err}")


@pytest.mark.parametrize("stem", _lesson_ids())
def test_planted_bugs_are_caught_with_the_matching_feedback(stem, graded):
    n = int(stem[:2])
    if len(PLANTED.get(n, [])) < 2:
        pytest.xfail(f"fewer than two planted bugs written for lesson {stem}: add them to PLANTED "
                     "in tests/test_assignments.py")
    runs = [(k, v) for k, v in graded["plan"].items() if k[0] == stem and k[1].startswith("bugs")]
    assert runs
    for key, (_, bugs) in runs:
        r = graded["reports"][key]
        assert r["error"] is None, _explain(r)
        by_id = {e["id"]: e for e in r["exercises"]}
        for bug in bugs:
            e = by_id[bug.exercise]
            assert e["score"] == 0, f"bug ({bug.what}) in exercise {bug.exercise} not caught:\n{_explain(r)}"
            said = e["feedback"] + " " + " ".join(e["mistakes"])
            assert bug.expect in said, (f"bug ({bug.what}) in exercise {bug.exercise} caught, but the feedback "
                                        f"does not say {bug.expect!r}:\n{e['feedback']}")


# --- submissions that misbehave --------------------------------------------------------------------------------

def _misbehaving(fixture_lesson, folder: Path) -> dict[str, Path]:
    out = {}
    nb = submission(fixture_lesson, {"98.1": 'raise ValueError("I give up")', "98.2": "while True:\n    pass"})
    tests = find_exercises(nb)["98.3"].tests
    del nb.cells[tests]  # removed its test cell
    nb.cells.insert(2, nbformat.v4.new_code_cell("1 / 0  # a broken cell of the student's own"))
    nbformat.write(nb, out.setdefault("raises_loops_deleted", folder / "a.ipynb"))
    nb = submission(fixture_lesson, {"98.2": "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                             "while True:\n    pass"})
    nbformat.write(nb, out.setdefault("ignores_interrupts", folder / "b.ipynb"))
    nb = submission(fixture_lesson, {"98.1": "import os\nos._exit(3)"})
    nbformat.write(nb, out.setdefault("kills_kernel", folder / "c.ipynb"))
    (folder / "d.ipynb").write_text("{ this is not a notebook")
    out["unreadable"] = folder / "d.ipynb"
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    nbformat.write(other, out.setdefault("unknown_lesson", folder / "e.ipynb"))
    return out


@pytest.fixture(scope="module")
def misbehaved(tmp_path_factory, fixture_lesson):
    folder = tmp_path_factory.mktemp("bad")
    paths = _misbehaving(fixture_lesson, folder)
    reports = grade_all(list(paths.values()), fixture_lesson.parent, timeout=4, total=60, jobs=2)
    return {k: r for k, r in zip(paths, reports)}


def test_raising_looping_and_deleted_tests_each_score_zero_with_a_reason(misbehaved):
    r = misbehaved["raises_loops_deleted"]
    e = {x["id"]: x for x in r["exercises"]}
    assert r["error"] is None and r["score"] == 0, _explain(r)
    assert e["98.1"]["status"] == "error" and "ValueError: I give up" in e["98.1"]["feedback"], _explain(r)
    assert "affine_backward" in e["98.1"]["feedback"], "says where in the student's code it raised"
    assert e["98.2"]["status"] == "timeout" and "time limit" in e["98.2"]["feedback"], _explain(r)
    assert e["98.3"]["status"] == "missing tests" and "deleted" in e["98.3"]["feedback"], _explain(r)
    assert [x["error"] for x in r["notebook_errors"]] == ["ZeroDivisionError: division by zero"], _explain(r)


def test_a_kernel_that_ignores_the_interrupt_is_shut_down(misbehaved):
    r = misbehaved["ignores_interrupts"]
    e = {x["id"]: x for x in r["exercises"]}
    assert e["98.1"]["status"] == "passed" and e["98.2"]["status"] == "timeout", _explain(r)
    assert e["98.3"]["score"] == 0 and "not graded" in e["98.3"]["feedback"], _explain(r)
    assert "shut down" in r["error"]


def test_a_submission_that_kills_its_kernel_is_graded(misbehaved):
    r = misbehaved["kills_kernel"]
    assert r["score"] == 0 and "kernel died" in r["error"], _explain(r)
    assert all("not graded" in x["feedback"] for x in r["exercises"]), _explain(r)


def test_unreadable_and_unknown_submissions_get_an_error_not_a_crash(misbehaved):
    assert "cannot read" in misbehaved["unreadable"]["error"]
    assert "which lesson" in misbehaved["unknown_lesson"]["error"]
    assert misbehaved["unreadable"]["score"] == misbehaved["unknown_lesson"]["score"] == 0


def test_grade_command_prints_scores_and_writes_json(tmp_path, fixture_lesson):
    sub = tmp_path / "subs"
    sub.mkdir()
    nbformat.write(submission(fixture_lesson, {"98.2": "return dout * h * (1.0 - h)"}), sub / "alice.ipynb")
    nbformat.write(submission(fixture_lesson), sub / "bob.ipynb")
    result = subprocess.run([sys.executable, "-m", "bpcore.assignments", "grade", str(sub), "--lessons",
                             str(fixture_lesson.parent), "--json", str(tmp_path / "r.json"), "--jobs", "2"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "alice.ipynb — lesson 98_fixture_layer: 6 / 9 points" in out, out
    assert "bob.ipynb — lesson 98_fixture_layer: 0 / 9 points" in out, out
    assert "hint for a: " in out and "likely mistake (sigmoid-derivative)" in out, out
    data = json.loads((tmp_path / "r.json").read_text())
    assert [s["score"] for s in data["submissions"]] == [6, 0]
