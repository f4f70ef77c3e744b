"""Classroom assignments: student versions of the lessons, and an autograder that explains.

    python -m bpcore.assignments make                    # notebooks/ -> assignments/ (student versions)
    python -m bpcore.assignments grade SUBMISSIONS/ --json report.json   # grade a folder (or one file)
    python -m bpcore.assignments check                   # does every lesson follow the exercise format?
    python -m bpcore.assignments annotate                # write nbgrader's cell metadata from it (nbgrader_meta)

The exercise format every lesson follows (see the team brief):

- a markdown cell ``### Exercise N.k — title (P points)``;
- ONE solution code cell whose first line is ``# Exercise N.k``, defining a named function, its body
  between ``### BEGIN SOLUTION`` and ``### END SOLUTION``;
- ONE test cell whose first line is ``# Tests for exercise N.k``: visible asserts, then
  ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS``.

Student versions are made by nbgrader's own preprocessors (ClearSolutions, ClearHiddenTests,
ClearMarkScheme, ClearOutput) through nbconvert, so a teacher who uses nbgrader can take the lessons as
they are. The grader (:mod:`bpcore.assignments.grade`) needs no nbgrader database: it runs the student's
notebook in a sandboxed kernel and the lesson's full test cells (visible + hidden) in a trusted kernel of
its own, which calls the student's functions through proxies. ``make`` refuses a lesson whose markers
would leak (see :func:`marker_problems`) and an output folder that is or contains the lessons.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
NOTEBOOKS = ROOT / "notebooks"
ASSIGNMENTS = ROOT / "assignments"
META_KEY = "bpcore_assignment"  # notebook metadata of a student version: which lesson it came from

HEADER = re.compile(r"^\s*###\s+Exercise\s+(\d+)\.(\d+)\s*[—–:-]+\s*(.*?)\s*\((\d+(?:\.\d+)?)\s*points?\)\s*$",
                    re.M)
SOLUTION_LINE = re.compile(r"^#\s*Exercise\s+(\d+)\.(\d+)\b(?!.*\btests?\b)")
TESTS_LINE = re.compile(r"^#\s*Tests\s+for\s+exercise\s+(\d+)\.(\d+)\b", re.I)
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def first_line(cell) -> str:
    src = cell.get("source", "")
    src = "".join(src) if isinstance(src, list) else src
    return src.lstrip("\n").split("\n", 1)[0].strip()


@dataclass
class Exercise:
    """One exercise of a lesson, located by its three cells (indices into ``nb.cells``, or None)."""

    id: str                      # "6.2"
    title: str = ""
    points: float = 0.0
    header: int | None = None    # markdown cell
    solution: int | None = None  # code cell "# Exercise N.k"
    tests: int | None = None     # code cell "# Tests for exercise N.k"
    functions: list = field(default_factory=list)  # names the solution cell defines
    solution_source: str = ""
    tests_source: str = ""

    @property
    def function(self) -> str:
        return self.functions[0] if self.functions else ""


def exercise_key(id_: str) -> tuple:
    return tuple(int(x) for x in id_.split("."))


def defined_functions(source: str) -> list[str]:
    """Top-level ``def`` names in a code cell, those holding a solution region first."""
    cleaned = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))
    try:
        names = [n.name for n in ast.parse(cleaned).body if isinstance(n, ast.FunctionDef)]
    except SyntaxError:
        names = re.findall(r"^def\s+([A-Za-z_]\w*)", source, re.M)
    solved, current = [], None
    for line in source.split("\n"):
        if m := re.match(r"def\s+([A-Za-z_]\w*)", line):
            current = m[1]
        elif line.strip().startswith(BEGIN_SOLUTION) and current and current not in solved:
            solved.append(current)
    return solved + [n for n in names if n not in solved]


def find_exercises(nb) -> dict[str, Exercise]:
    """The exercises of a notebook, keyed "N.k", in order; missing cells are left as None."""
    found: dict[str, Exercise] = {}
    for i, cell in enumerate(nb.cells):
        src = cell.source
        if cell.cell_type == "markdown":
            for m in HEADER.finditer(src):
                ex = found.setdefault(f"{m[1]}.{m[2]}", Exercise(f"{m[1]}.{m[2]}"))
                if ex.header is None:
                    ex.header, ex.title, ex.points = i, m[3], float(m[4])
        elif cell.cell_type == "code":
            line = first_line(cell)
            if m := TESTS_LINE.match(line):
                ex = found.setdefault(f"{m[1]}.{m[2]}", Exercise(f"{m[1]}.{m[2]}"))
                if ex.tests is None:
                    ex.tests, ex.tests_source = i, src
            elif m := SOLUTION_LINE.match(line):
                ex = found.setdefault(f"{m[1]}.{m[2]}", Exercise(f"{m[1]}.{m[2]}"))
                if ex.solution is None:
                    ex.solution, ex.solution_source = i, src
                    ex.functions = defined_functions(src)
    return dict(sorted(found.items(), key=lambda kv: exercise_key(kv[0])))


def lesson_number(path: Path) -> int | None:
    m = re.match(r"(\d\d)_", Path(path).name)
    return int(m[1]) if m else None


def format_problems(path: Path) -> list[str]:
    """Everything about a lesson that breaks the exercise format (empty when it is fine)."""
    import nbformat  # imported late: the grader's trusted kernel imports this package and needs none of it

    nb = nbformat.read(path, as_version=4)
    exercises = find_exercises(nb)
    number = lesson_number(path)
    problems = []
    if len(exercises) < 3:
        problems.append(f"{len(exercises)} exercise(s) found, at least 3 are required")
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for ex in exercises.values():
        where = f"exercise {ex.id}"
        if number is not None and int(ex.id.split(".")[0]) != number:
            problems.append(f"{where}: numbered for lesson {ex.id.split('.')[0]}, this is lesson {number}")
        if ex.header is None:
            problems.append(f"{where}: no markdown cell '### Exercise {ex.id} — title (P points)'")
        elif ex.points <= 0:
            problems.append(f"{where}: the header gives no points")
        if ex.solution is None:
            problems.append(f"{where}: no code cell whose first line is '# Exercise {ex.id}'")
        else:
            src = ex.solution_source
            if BEGIN_SOLUTION not in src or END_SOLUTION not in src:
                problems.append(f"{where}: solution cell {ex.solution} lacks {BEGIN_SOLUTION} / {END_SOLUTION}")
            if not ex.functions:
                problems.append(f"{where}: solution cell {ex.solution} defines no function")
        if ex.tests is None:
            problems.append(f"{where}: no code cell whose first line is '# Tests for exercise {ex.id}'")
        else:
            if BEGIN_HIDDEN not in ex.tests_source or END_HIDDEN not in ex.tests_source:
                problems.append(f"{where}: test cell {ex.tests} lacks {BEGIN_HIDDEN} / {END_HIDDEN}")
            if ex.solution is not None and ex.tests < ex.solution:
                problems.append(f"{where}: test cell {ex.tests} comes before its solution cell {ex.solution}")
            if BEGIN_SOLUTION in ex.tests_source:
                problems.append(f"{where}: test cell {ex.tests} contains a solution region")
        for kind, line in (("solution", f"# Exercise {ex.id}"), ("test", f"# Tests for exercise {ex.id}")):
            if sum(first_line(c) == line for c in code_cells) > 1:
                problems.append(f"{where}: more than one {kind} cell starts with '{line}'")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and BEGIN_SOLUTION in cell.source and not SOLUTION_LINE.match(first_line(cell)):
            problems.append(f"cell {i} has a solution region but does not start with '# Exercise N.k'")
        if cell.cell_type == "code":
            problems += marker_problems(i, cell.source)
    return problems


MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)
LOOKS_LIKE_MARKER = re.compile(r"^\s*#.*\b(begin|end)\b.*\b(solution|hidden)", re.I)


def marker_problems(index: int, source: str) -> list[str]:
    """Misspelt or unbalanced solution / hidden-test markers in one code cell (a misspelt marker would
    leave the solution or the hidden tests in the student version)."""
    problems, open_ = [], {}
    for n, line in enumerate(source.split("\n"), 1):
        s = line.strip()
        marker = next((m for m in MARKERS if s.startswith(m)), None)
        if marker is None:
            if LOOKS_LIKE_MARKER.match(line):
                problems.append(f"cell {index}, line {n}: {s!r} looks like a marker but is not one of "
                                + ", ".join(repr(m) for m in MARKERS) + " (spelt exactly so)")
            continue
        kind = "solution" if "SOLUTION" in marker else "hidden tests"
        if marker.startswith("### BEGIN"):
            if open_.get(kind):
                problems.append(f"cell {index}, line {n}: {marker} inside an open {kind} region (line {open_[kind]})")
            open_[kind] = n
        elif not open_.get(kind):
            begin = BEGIN_SOLUTION if kind == "solution" else BEGIN_HIDDEN
            problems.append(f"cell {index}, line {n}: {marker} without a {begin} before it")
        else:
            open_[kind] = 0
    problems += [f"cell {index}, line {n}: the {kind} region opened here is never closed"
                 for kind, n in open_.items() if n]
    return problems


# --- student versions -------------------------------------------------------------------------------------

def _exporter():
    from nbconvert.exporters import NotebookExporter
    from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearOutput, ClearSolutions
    from traitlets.config import Config

    c = Config()
    for name in ("ClearSolutions", "ClearHiddenTests", "ClearMarkScheme"):
        c[name].enforce_metadata = False  # the lessons mark regions in the source, not in cell metadata
    exporter = NotebookExporter(config=c)
    for pp in (ClearSolutions, ClearHiddenTests, ClearMarkScheme, ClearOutput):
        exporter.register_preprocessor(pp(config=c), enabled=True)
    return exporter


def student_version(path: Path, exporter=None):
    """The student version of a lesson as a notebook node (solutions and hidden tests removed)."""
    path = Path(path)
    import nbformat

    body, _ = (exporter or _exporter()).from_filename(str(path))
    nb = nbformat.reads(body, as_version=4)
    for ex in find_exercises(nb).values():
        if ex.solution is None:
            continue
        cell = nb.cells[ex.solution]
        lines, current = cell.source.split("\n"), None
        for j, line in enumerate(lines):
            if m := re.match(r"def\s+([A-Za-z_]\w*)", line):
                current = m[1]
            elif line.strip() == "raise NotImplementedError()":  # nbgrader's stub: say which exercise and what
                what = f"write {current}" if current else "write your code"
                lines[j] = line.replace("NotImplementedError()", f'NotImplementedError("Exercise {ex.id} is not '
                                        f'done yet: {what} here, then run the tests below")')
        cell.source = "\n".join(lines)
    nb.metadata.pop("widgets", None)
    nb.metadata[META_KEY] = {"lesson": path.stem}
    return nb


def lessons(folder: Path = NOTEBOOKS) -> list[Path]:
    return sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))


class MakeRefused(ValueError):
    """``make`` would write a student version that leaks, or write over the lessons."""


def make(out: Path = ASSIGNMENTS, sources: list[Path] | None = None) -> list[Path]:
    """Write the student version of every lesson (or of ``sources``) into ``out``; return the paths.

    Refuses (:class:`MakeRefused`, nothing written) when a lesson breaks the exercise format (``check``:
    a missing, unbalanced or misspelt marker would ship a solution or hidden tests), when a student
    version still holds a line of a solution or a hidden test, or when ``out`` is or contains a lesson
    folder. ``out`` should sit beside ``notebooks/`` (as ``assignments/`` does) so ``../images/`` resolves.
    """
    import nbformat

    out = Path(out)
    sources = [Path(p) for p in (sources if sources is not None else lessons())]
    where = out.resolve()
    for folder in {p.resolve().parent for p in sources}:
        if where == folder or where in folder.parents:
            raise MakeRefused(f"--out {out} is or contains the lesson folder {folder}: the student versions "
                              "would overwrite the lessons")
    problems = [f"{p.name}: {problem}" for p in sources for problem in format_problems(p)]
    if problems:
        raise MakeRefused("the lessons break the exercise format; nothing was written:\n  " + "\n  ".join(problems))
    exporter = _exporter()
    versions = []
    for path in sources:
        nb = student_version(path, exporter)
        left = leftover_solution(path, nb)
        if left:
            raise MakeRefused(f"{path.name}: the student version would still hold " + "; ".join(left[:5]))
        versions.append((out / path.name, nb))
    out.mkdir(parents=True, exist_ok=True)
    for target, nb in versions:
        nbformat.write(nb, target)
    return [t for t, _ in versions]


def leftover_solution(lesson: Path, student) -> list[str]:
    """Lines of the lesson's solutions or hidden tests that are still in a student version (should be [])."""
    import nbformat

    nb = nbformat.read(lesson, as_version=4)
    student_code = "\n".join(c.source for c in student.cells if c.cell_type == "code")
    left = [m for m in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN) if m in student_code]
    student_ex = find_exercises(student)
    for ex in find_exercises(nb).values():
        for src, begin, end, where in ((ex.solution_source, BEGIN_SOLUTION, END_SOLUTION, "solution"),
                                       (ex.tests_source, BEGIN_HIDDEN, END_HIDDEN, "hidden tests")):
            inside, outside = _regions(src, begin, end)
            sex = student_ex.get(ex.id)
            cell_index = None if sex is None else (sex.solution if where == "solution" else sex.tests)
            if cell_index is None:
                continue
            kept = {line.strip() for line in student.cells[cell_index].source.split("\n")}
            for line in inside:
                if line in kept and line not in outside:
                    left.append(f"exercise {ex.id} {where}: {line}")
    return left


def _regions(src: str, begin: str, end: str) -> tuple[set, set]:
    """Meaningful lines inside the begin/end regions of ``src`` and lines outside them."""
    inside, outside, state = set(), set(), False
    for line in src.split("\n"):
        s = line.strip()
        if s.startswith(begin):
            state = True
        elif s.startswith(end):
            state = False
        elif s and not s.startswith("#"):
            (inside if state else outside).add(s)
    return inside, outside


def read_meta(nb) -> dict:
    meta = nb.metadata.get(META_KEY, {})
    return dict(meta) if isinstance(meta, dict) else {}


def dumps_report(reports: list[dict]) -> str:
    return json.dumps({"submissions": reports}, indent=2, ensure_ascii=False)
