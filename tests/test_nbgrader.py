"""nbgrader's own workflow on every lesson, with nbgrader's real commands, and both graders compared.

One temporary course folder (its own ``nbgrader_config.py`` and sqlite gradebook) holds one assignment
per lesson (``ps01`` … ``ps09``) and three fake students per assignment:

- ``reference`` submits the lesson itself (full marks expected, the points the lesson states);
- ``blank`` submits nbgrader's release untouched (0 expected);
- ``planted`` submits the lesson with one known mistake (``bpcore.assignments.mistakes``) written into
  one exercise's solution (that exercise's points lost, the others kept).

The commands run once for all lessons: ``db assignment add`` (and ``db assignment import`` for the
rest), ``generate_assignment``, ``autograde``, ``generate_feedback``; our grader
(``python -m bpcore.assignments grade --json``) grades the same submitted notebooks at the same time,
in its own process. The kernels are this Python's ``python3`` with this checkout on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from bpcore.assignments import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    END_HIDDEN,
    END_SOLUTION,
    find_exercises,
    leftover_solution,
    lessons,
)
from bpcore.assignments import nbgrader_meta as meta
from bpcore.assignments.__main__ import main as assignments_cli
from bpcore.assignments.mistakes import for_lesson, variant_source

ROOT = Path(__file__).resolve().parent.parent
LESSONS = lessons(ROOT / "notebooks")
STUDENTS = ("reference", "blank", "planted")
HANG = 3600  # seconds: a guard against a command that never returns, not a time budget


def ps(lesson: Path) -> str:
    return f"ps{lesson.name[:2]}"


def stated_points(lesson: Path) -> dict[str, float]:
    """Exercise id -> the points its header states."""
    return {k: ex.points for k, ex in find_exercises(nbformat.read(lesson, as_version=4)).items()}


def planted(lesson: Path):
    """The lesson with its first known mistake written into that exercise's solution: (notebook, exercise)."""
    mistake = for_lesson(int(lesson.name[:2]))[0]
    nb = nbformat.read(lesson, as_version=4)
    ex = find_exercises(nb)[mistake.exercise]
    nb.cells[ex.solution].source = variant_source(mistake, ex.solution_source)
    return nb, mistake.exercise


# --- the course folder and the one run of every command ------------------------------------------------------

def _environment(tmp: Path) -> dict:
    """Jupyter isolated from the user's config; kernel python3 = this Python, importing this checkout."""
    spec = tmp / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python"}))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp / "jupyter_config"), JUPYTER_PATH=str(tmp / "jupyter"),
               JUPYTER_RUNTIME_DIR=str(tmp / "jupyter_runtime"), PYTHONWARNINGS="ignore")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    return env


def _config(course: Path) -> str:
    return "\n".join([
        "c = get_config()",
        'c.CourseDirectory.course_id = "backprop"',
        f"c.CourseDirectory.root = {str(course)!r}",
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(course / 'gradebook.db')!r}",
        "c.Execute.timeout = 120  # seconds per cell; lesson 09 trains two networks",
        ""])


def _run(args, course: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=HANG)


def _ok(result, what: str) -> None:
    assert result.returncode == 0, f"{what} failed ({result.returncode}):\n{result.stdout}\n{result.stderr[-4000:]}"


def _submit(course: Path) -> dict[str, str]:
    """submitted/<student>/<ps>/<lesson>.ipynb for the three students; returns ps -> planted exercise."""
    bugs = {}
    for lesson in LESSONS:
        release = course / "release" / ps(lesson) / lesson.name
        bug_nb, bugs[ps(lesson)] = planted(lesson)
        notebooks = {"reference": nbformat.read(lesson, as_version=4),
                     "blank": nbformat.read(release, as_version=4), "planted": bug_nb}
        for student, nb in notebooks.items():
            target = course / "submitted" / student / ps(lesson) / lesson.name
            target.parent.mkdir(parents=True)
            nbformat.write(nb, target)
    return bugs


def _nbgrader_scores(course: Path) -> dict:
    """(student, ps) -> exercise id -> score, read from the gradebook autograde filled."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook("sqlite:///" + str(course / "gradebook.db")) as gb:
        for lesson in LESSONS:
            for student in STUDENTS:
                sub = gb.find_submission_notebook(lesson.stem, ps(lesson), student)
                out[student, ps(lesson)] = {g.name.removeprefix("exercise-").removesuffix("-tests").replace("-", "."):
                                            g.score for g in sub.grades}
    return out


def _our_scores(report: Path, course: Path) -> dict:
    """(student, ps) -> exercise id -> score, from our grader's JSON report."""
    out = {}
    for r in json.loads(report.read_text())["submissions"]:
        student, assignment = Path(r["submission"]).relative_to(course / "submitted").parts[:2]
        out[student, assignment] = {e["id"]: e["score"] for e in r["exercises"]}
    return out


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nbgrader")
    course, env = tmp / "course", _environment(tmp)
    for lesson in LESSONS:
        (course / "source" / ps(lesson)).mkdir(parents=True)
        (course / "source" / ps(lesson) / lesson.name).write_bytes(lesson.read_bytes())
    (course / "nbgrader_config.py").write_text(_config(course))
    first, *rest = [ps(p) for p in LESSONS]
    _ok(_run(["db", "assignment", "add", first], course, env), "nbgrader db assignment add")
    (tmp / "assignments.csv").write_text("name\n" + "".join(f"{a}\n" for a in rest))
    _ok(_run(["db", "assignment", "import", str(tmp / "assignments.csv")], course, env), "nbgrader db import")
    _ok(_run(["generate_assignment", "ps*"], course, env), "nbgrader generate_assignment")
    bugs = _submit(course)
    ours_json = tmp / "ours.json"
    ours = subprocess.Popen([sys.executable, "-m", "bpcore.assignments", "grade", str(course / "submitted"),
                             "--lessons", str(ROOT / "notebooks"), "--json", str(ours_json)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _ok(_run(["autograde", "ps*"], course, env), "nbgrader autograde")
        _ok(_run(["generate_feedback", "ps*"], course, env), "nbgrader generate_feedback")
    finally:
        out, _ = ours.communicate(timeout=HANG)
    assert ours.returncode == 0, f"our grader failed:\n{out[-4000:]}"
    return {"root": course, "bugs": bugs, "nbgrader": _nbgrader_scores(course),
            "ours": _our_scores(ours_json, course)}


# --- the metadata in the lessons (no kernel) ------------------------------------------------------------------

@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lesson_metadata_agrees_with_its_text(lesson):
    nb = nbformat.read(lesson, as_version=4)
    assert meta.problems(nb) == [], "\n".join(meta.problems(nb))
    graded = [c.metadata["nbgrader"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert sum(m["points"] for m in graded) == sum(stated_points(lesson).values())
    from nbgrader.nbgraderformat import MetadataValidator

    MetadataValidator().validate_nb(nb)  # nbgrader's own schema and unique-id check


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_annotate_is_idempotent_and_changes_nothing_but_the_metadata(tmp_path, lesson):
    bare = nbformat.read(lesson, as_version=4)
    for cell in bare.cells:
        cell.metadata.pop("nbgrader", None)
    path = tmp_path / lesson.name
    path.write_text(nbformat.writes(bare) + "\n", encoding="utf-8")
    assert meta.annotate([path]) == [(path, "written")]
    assert path.read_bytes() == lesson.read_bytes(), "annotating a bare copy must give the committed lesson"
    assert meta.annotate([path]) == [(path, "unchanged")]
    assert path.read_bytes() == lesson.read_bytes()


def test_annotate_leaves_a_lesson_with_a_broken_format_alone(tmp_path, capsys):
    nb = nbformat.read(LESSONS[0], as_version=4)
    ex = next(iter(find_exercises(nb).values()))
    nb.cells[ex.tests].source = nb.cells[ex.tests].source.replace("### END HIDDEN TESTS", "")
    path = tmp_path / LESSONS[0].name
    nbformat.write(nb, path)
    before = path.read_bytes()
    assert assignments_cli(["annotate", str(path)]) == 1
    assert f"lacks {BEGIN_HIDDEN} / {END_HIDDEN}" in capsys.readouterr().out
    assert path.read_bytes() == before


def _check(path: Path, capsys) -> tuple[int, str]:
    code = assignments_cli(["check", str(path)])
    return code, capsys.readouterr().out


@pytest.mark.parametrize("edit, expect", [
    ("points", "points is 4, the lesson's text gives 5"),
    ("drop", "has no nbgrader metadata"),
    ("stray", "carries nbgrader metadata but is no exercise cell"),
    ("unlock", "locked is False, the lesson's text gives True"),
])
def test_check_reports_metadata_that_disagrees_with_the_text(tmp_path, capsys, edit, expect):
    lesson = next(p for p in LESSONS if p.name.startswith("06_"))
    nb = nbformat.read(lesson, as_version=4)
    ex = find_exercises(nb)["6.1"]
    if edit == "points":  # the author changed the header's points but did not annotate
        nb.cells[ex.header].source = nb.cells[ex.header].source.replace("(4 points)", "(5 points)")
    elif edit == "drop":
        del nb.cells[ex.solution].metadata["nbgrader"]
    elif edit == "stray":
        nb.cells[0].metadata["nbgrader"] = dict(nb.cells[ex.tests].metadata["nbgrader"], grade_id="x")
    else:
        nb.cells[ex.tests].metadata["nbgrader"]["locked"] = False
    path = tmp_path / lesson.name
    nbformat.write(nb, path)
    code, out = _check(path, capsys)
    assert code == 1 and expect in out, out
    meta.annotate([path])
    assert _check(path, capsys) == (0, f"{lesson.name}: ok\n")


# --- nbgrader's path: release, autograde, feedback ------------------------------------------------------------

@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_release_has_no_solutions_and_no_hidden_tests(course, lesson):
    release = nbformat.read(course["root"] / "release" / ps(lesson) / lesson.name, as_version=4)
    code = "\n".join(c.source for c in release.cells if c.cell_type == "code")
    for marker in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN):
        assert marker not in code
    assert leftover_solution(lesson, release) == []
    exercises = find_exercises(release)
    assert list(exercises) == list(stated_points(lesson))
    for ex in exercises.values():
        assert "raise NotImplementedError()" in release.cells[ex.solution].source
        for i in (ex.header, ex.tests):  # nbgrader's LockCells: the student cannot edit or delete these
            assert release.cells[i].metadata.get("editable") is False, f"exercise {ex.id}: cell {i} not locked"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_autograde_gives_the_reference_full_marks_and_the_blank_release_zero(course, lesson):
    points = stated_points(lesson)
    assert course["nbgrader"]["reference", ps(lesson)] == points
    assert course["nbgrader"]["blank", ps(lesson)] == dict.fromkeys(points, 0.0)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_autograde_takes_the_planted_bugs_exercise_points_only(course, lesson):
    points, bug = stated_points(lesson), course["bugs"][ps(lesson)]
    assert course["nbgrader"]["planted", ps(lesson)] == {**points, bug: 0.0}


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_generate_feedback_writes_an_html_file_per_submission(course, lesson):
    for student in STUDENTS:
        html = course["root"] / "feedback" / student / ps(lesson) / f"{lesson.stem}.html"
        assert html.is_file(), f"no feedback for {student}"
        text = html.read_text(encoding="utf-8")
        got, total = sum(course["nbgrader"][student, ps(lesson)].values()), sum(stated_points(lesson).values())
        assert f"Score: {got:.1f} / {total:.1f}" in text, f"{student}: the feedback does not show its score"


# --- both graders -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_both_graders_give_the_same_score_per_exercise(course, lesson):
    for student in STUDENTS:
        ours, theirs = course["ours"][student, ps(lesson)], course["nbgrader"][student, ps(lesson)]
        assert ours == theirs, f"{student}: our grader {ours}, nbgrader {theirs}"
