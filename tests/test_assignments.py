"""Student versions and the autograder, on every lesson present and on a small fixture lesson.

Each lesson's notebook is executed as few times as possible: one grading run each for the reference
(the instructor version), the blank student version, and one or two submissions that carry planted
bugs (real mistakes, at most one per exercise per submission), graded three at a time the first time a
test asks for that lesson; the tests only read the reports. ``-k 06_`` grades lesson 06 alone.
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
from bpcore.assignments.grade import grade_many
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
    1: [
        Bug("1.1", """
            h, d = w, 1.0
            for _ in range(n):
                h = f(h)
                d = d * f_prime(h)
            return float(h), float(d)""", "derivative-at-wrong-point", "f' evaluated after the step"),
        Bug("1.2", """
            s = np.exp(z - np.max(z)) / np.sum(np.exp(z - np.max(z)))
            return np.outer(s, s) - np.diag(s)""", "sign error", "Jacobian with the wrong sign"),
        Bug("1.3", """
            y, norm = cache
            return {"x": dy / norm}""", "missing-projection", "the norm's share of the gradient dropped"),
    ],
    2: [
        Bug("2.1", "return 1 / (1 + np.exp(-x))", "upstream-G-dropped", "bprop without the upstream G"),
        Bug("2.2", """
            order, seen = [], set()
            def visit(node):
                if node.id in seen:
                    return
                seen.add(node.id)
                order.append(node)
                for i in node.inputs:
                    visit(i)
            visit(out)
            return order""", "comes before its input", "pre-order instead of post-order"),
        Bug("2.3", """
            order = G.topological_order(out)
            table = {n: np.zeros_like(n.value) for n in order}
            table[out] = np.ones_like(out.value)
            for node in reversed(order):
                if node.op is not None:
                    parts = node.op.bprop([i.value for i in node.inputs], node.value, table[node])
                    for inp, part in zip(node.inputs, parts):
                        if part is not None:
                            table[inp] = part
            return table""", "fan-out", "fan-out contributions overwritten, not added"),
    ],
    3: [
        Bug("3.1", """
            da = dh * (a > 0)
            return W.T @ da, h_prev @ da.T, da.sum(axis=1, keepdims=True)""",
            "transpose of the expected shape", "transposed weight gradient"),
        Bug("3.2", """
            return {k: (lam * v if k[0] == "W" else 0 * v) for k, v in params.items()}""",
            "0.5 times the true gradient", "factor 2 of the square dropped"),
        Bug("3.1", """
            return W.T @ dh, dh @ h_prev.T, dh.sum(axis=1, keepdims=True)""",
            "relu-derivative-missing", "ReLU derivative left out"),
    ],
    4: [
        Bug("4.1", """
            s = F.sigmoid(w.T @ x + b)
            da = dy_hat * (1 - s * s)
            return {"x": w @ da, "w": x @ da.T, "b": da.sum(axis=1, keepdims=True)}""",
            "tanh-derivative", "derivative of the wrong nonlinearity"),
        Bug("4.2", "return float(g @ g) / (2 * float(g @ H @ g))", "the optimal step is 1/λ",
            "a factor 2 too many in the step"),
        Bug("4.3", """
            eps, fx = eps0, f(x)
            while f(x - eps * g) > fx - c * eps * (g @ g):
                eps = eps * shrink
            return float(eps)""", "ascent direction must raise", "no guard against an ascent direction"),
    ],
    5: [
        Bug("5.1", """
            h = np.tanh(W @ h_prev)
            return (1 - h * h) * (W_dot @ h_prev)""", "one-tangent-missing", "h_prev's tangent dropped"),
        Bug("5.2", """
            h = np.tanh(W @ h_prev)
            a_bar = h_bar * (1 - h ** 2)
            return h_prev @ a_bar.T, W.T @ a_bar""", "transpose of the expected shape", "transposed weight gradient"),
        Bug("5.3", """
            t = np.tanh(W @ x)
            return W.T @ (t * (1 - t * t) * (W @ v))""", "-0.5 times the true gradient",
            "the factor -2 of d(1 - t²)/dt dropped"),
    ],
    6: [
        Bug("6.1", """
            x_t, h_prev, h_t, W_xh, W_hh = cache
            da = dh_t * (1 - h_t ** 2)
            return {"x_t": W_xh.T @ da, "h_prev": W_hh.T @ da, "W_xh": da @ x_t.T, "W_hh": h_prev @ da.T,
                    "b_h": np.sum(da, axis=1, keepdims=True)}""",
            "transpose of the true gradient", "transposed W_hh gradient (square, so the shapes agree)"),
        Bug("6.2", """
            T = dh.shape[0]
            dh_next = np.zeros((n_h, dh.shape[2]))
            grads = {"W_xh": 0, "W_hh": 0, "b_h": 0}
            for t in range(T - 1, -1, -1):
                step = rnn.step_backward(dh[t], cache_list[t])
                dh_next = step["h_prev"]
                for k in grads:
                    grads[k] = grads[k] + step[k]
            grads["h0"] = dh_next
            return grads""", "dh-next-dropped", "dh_next computed but never added"),
        Bug("6.3", """
            rate = gamma * sigma
            if rate >= 1:
                return None
            return int(np.floor(np.log(eps) / np.log(rate)))""", "0.75^9 = 0.075 <= 0.1", "floor instead of ceil"),
        Bug("6.1", """
            x_t, h_prev, h_t, W_xh, W_hh = cache
            da = dh_t * h_t * (1 - h_t)
            return {"x_t": W_xh.T @ da, "h_prev": W_hh.T @ da, "W_xh": da @ x_t.T, "W_hh": da @ h_prev.T,
                    "b_h": da.sum(axis=1, keepdims=True)}""",
            "sigmoid-derivative", "derivative of the wrong nonlinearity"),
    ],
    7: [
        Bug("7.1", "return np.asarray(eigenvalues, dtype=float) ** k", "sort the result",
            "powers not sorted again"),
        Bug("7.2", """
            lams, V = np.linalg.eigh(M)
            top = V[:, np.argmax(lams)]
            y = x / np.linalg.norm(x)
            for _ in range(k):
                y = M @ y
                y = y / np.linalg.norm(y)
            return float(abs(y @ top))""", "ABSOLUTE", "largest eigenvalue instead of largest |eigenvalue|"),
        Bug("7.3", """
            W_hh, W_qh = params["W_hh"], params["W_qh"]
            dW_hx, dW_hh, dW_qh = 0 * params["W_hx"], 0 * W_hh, 0 * W_qh
            for t in reversed(range(do.shape[0])):
                dh_t = W_qh.T @ do[t]
                prev = h0 if t == 0 else h[t - 1]
                dW_qh = dW_qh + do[t] @ h[t].T
                dW_hx = dW_hx + dh_t @ x[t].T
                dW_hh = dW_hh + dh_t @ prev.T
            return {"W_hx": dW_hx, "W_hh": dW_hh, "W_qh": dW_qh}""", "dh-next-dropped", "no gradient carried back"),
    ],
    8: [
        Bug("8.1", """
            p = h_prev.shape[0]
            hx = np.concatenate([h_prev, x], axis=0)
            sigmoid = lambda v: 1 / (1 + np.exp(-v))
            f = sigmoid(params["W_f"] @ hx + params["b_f"])
            i = sigmoid(params["W_i"] @ hx + params["b_i"])
            Ct = np.tanh(params["W_c"] @ hx + params["b_c"])
            o = sigmoid(params["W_o"] @ hx + params["b_o"])
            C = f * C_prev + i * Ct
            dC = delta_C + delta_h * o * (1 - np.tanh(C) ** 2)
            da = {"f": dC * C_prev * f * (1 - f), "i": dC * Ct * i * (1 - i),
                  "c": dC * i * Ct * (1 - Ct),   # sigmoid's derivative on the tanh candidate
                  "o": delta_h * np.tanh(C) * o * (1 - o)}
            out = {"C_prev": dC * f}
            dhx = 0
            for g in "fico":
                out["W_" + g] = da[g] @ hx.T
                out["b_" + g] = np.sum(da[g], axis=1, keepdims=True)
                dhx = dhx + params["W_" + g].T @ da[g]
            out["h_prev"], out["x"] = dhx[:p], dhx[p:]
            return out""", "candidate-sigmoid-derivative", "wrong nonlinearity derivative for the candidate"),
        Bug("8.3", "return 4 * p * (p + n), p * (n + p)", "expected", "biases not counted"),
    ],
    9: [
        Bug("9.1", """
            z = W_hz @ h_T + b_z
            probs = np.exp(z - z.max(axis=0)) / np.exp(z - z.max(axis=0)).sum(axis=0)
            probs[y, range(h_T.shape[1])] -= 1
            return {"W_hz": probs @ h_T.T, "b_z": probs.sum(axis=1, keepdims=True), "h_T": W_hz.T @ probs}""",
            "batch-mean-missing", "sum instead of mean over the batch"),
        Bug("9.2", """
            norm = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
            if norm > max_norm:
                for k in grads:
                    grads[k] *= max_norm / norm
            return grads""", "must not modify its input", "clipped in place"),
        Bug("9.3", ["""
            c = 1 / n_classes
            return c + n_std * c * (1 - c) / np.sqrt(n_test)""", """
            c = 1 / n_classes
            n = 1
            while chance_band(n_classes, n, n_std) >= accuracy:
                n += 1
            return n"""], "band used in section 3", "variance instead of standard deviation"),
    ],
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


# --- grading runs, made once per lesson and only for the lessons a test asks about --------------------------

def _plan(folder: Path, lesson: Path) -> dict:
    """Submissions for one lesson: name -> (path, planted bugs)."""
    plan = {"reference": (lesson, [])}
    blank = folder / f"{lesson.stem}__blank.ipynb"
    nbformat.write(submission(lesson), blank)
    plan["blank"] = (blank, [])
    for j, (bugs, nb) in enumerate(plant(lesson, PLANTED.get(int(lesson.name[:2]), []))):
        path = folder / f"{lesson.stem}__bugs{j}.ipynb"
        nbformat.write(nb, path)
        plan[f"bugs{j}"] = (path, bugs)
    return plan


class Graded:
    """Reports of one lesson's submissions, graded together (three at a time) the first time asked for;
    running ``-k 06_`` grades lesson 06 only."""

    def __init__(self, folder: Path, fixture_lesson: Path):
        self.folder, self.fixture_lesson, self.cache = folder, fixture_lesson, {}

    def __call__(self, stem: str) -> dict:
        if stem not in self.cache:
            lesson = _lesson_path(stem, self.fixture_lesson)
            plan = _plan(self.folder, lesson)
            items = [dict(path=path, lessons_dir=lesson.parent, timeout=120, total=300) for path, _ in plan.values()]
            reports = grade_many(items, jobs=3)
            self.cache[stem] = {name: (report, plan[name][1]) for name, report in zip(plan, reports)}
        return self.cache[stem]


@pytest.fixture(scope="session")
def fixture_lesson(tmp_path_factory) -> Path:
    return lesson98.write(tmp_path_factory.mktemp("course") / "notebooks")


@pytest.fixture(scope="session")
def graded(tmp_path_factory, fixture_lesson) -> Graded:
    return Graded(tmp_path_factory.mktemp("submissions"), fixture_lesson)


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
    r = graded(stem)["reference"][0]
    assert r["error"] is None, _explain(r)
    assert r["max_score"] > 0 and r["score"] == r["max_score"], _explain(r)
    assert not r["notebook_errors"], _explain(r)


@pytest.mark.parametrize("stem", _lesson_ids())
def test_blank_student_version_scores_zero_and_runs_up_to_its_first_exercise(stem, graded, fixture_lesson):
    r = graded(stem)["blank"][0]
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
    runs = [v for k, v in graded(stem).items() if k.startswith("bugs")]
    assert runs
    for r, bugs in runs:
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
    paths = _misbehaving(fixture_lesson, tmp_path_factory.mktemp("bad"))
    items = [dict(path=p, lessons_dir=fixture_lesson.parent, timeout=8, total=90) for p in paths.values()]
    return dict(zip(paths, grade_many(items, jobs=3)))


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
