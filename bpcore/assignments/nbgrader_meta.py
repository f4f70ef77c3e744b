"""nbgrader cell metadata, derived from the exercise format the lessons follow (never edited by hand).

nbgrader's own workflow (``generate_assignment``, ``autograde``, ``generate_feedback``) reads what a cell
is from ``cell.metadata["nbgrader"]``, not from its text. For each exercise ``N.k`` of a lesson:

- the header ``### Exercise N.k — title (P points)`` is a read-only cell (``locked``), ``exercise-N-k-header``;
- the solution cell ``# Exercise N.k`` is a solution cell, ``exercise-N-k-solution``;
- the test cell ``# Tests for exercise N.k`` is an autograded test cell worth the header's P points
  (``grade`` and ``locked``), ``exercise-N-k-tests``.

Every other cell carries no nbgrader metadata, so the two graders run the same code: nbgrader restores
the source of locked and graded cells from its database, and ours puts back the lesson's test cells; the
headers, the only other cells locked, are markdown and run nothing. The ids are made from the exercise id,
so annotating twice, or after an edit elsewhere in the lesson, writes the same bytes.

    python -m bpcore.assignments annotate      # write the metadata into every lesson (only where it changed)
    python -m bpcore.assignments check         # also reports metadata that disagrees with the text
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from . import find_exercises, first_line, format_problems, lessons

KEY = "nbgrader"
SCHEMA_VERSION = 3  # nbgrader 0.6 – 0.9


def grade_id(exercise_id: str, role: str) -> str:
    """``"6.2", "tests"`` -> ``"exercise-6-2-tests"`` (nbgrader allows letters, digits, ``_`` and ``-``)."""
    return f"exercise-{exercise_id.replace('.', '-')}-{role}"


def _meta(exercise_id: str, role: str, *, solution=False, grade=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id(exercise_id, role), "locked": locked,
            "schema_version": SCHEMA_VERSION, "solution": solution, "task": False}
    if grade:
        meta["points"] = int(points) if float(points).is_integer() else float(points)
    return meta


def expected(nb) -> dict[int, dict]:
    """Cell index -> the nbgrader metadata that cell should carry; cells not listed carry none."""
    want = {}
    for ex in find_exercises(nb).values():
        if ex.header is not None:
            want[ex.header] = _meta(ex.id, "header", locked=True)
        if ex.solution is not None:
            want[ex.solution] = _meta(ex.id, "solution", solution=True)
        if ex.tests is not None:
            want[ex.tests] = _meta(ex.id, "tests", grade=True, locked=True, points=ex.points)
    return want


def _describe(i: int, cell, have, want) -> str:
    where = f"cell {i} ({first_line(cell)[:50]!r})"
    if want is None:
        return f"{where}: carries nbgrader metadata but is no exercise cell"
    if not isinstance(have, dict):
        return f"{where}: has no nbgrader metadata"
    diffs = [f"{k} is {have.get(k)!r}, the lesson's text gives {v!r}" for k, v in want.items() if have.get(k) != v]
    diffs += [f"unexpected key {k!r}" for k in sorted(set(have) - set(want))]
    return f"{where}: " + "; ".join(diffs)


def problems(nb) -> list[str]:
    """Where the cells' nbgrader metadata disagrees with the exercise format (empty when they agree)."""
    want = expected(nb)
    out = []
    for i, cell in enumerate(nb.cells):
        have = cell.metadata.get(KEY)
        if have != want.get(i):
            out.append(_describe(i, cell, have, want.get(i)))
    if out:
        out.append("run `python -m bpcore.assignments annotate` to write the metadata from the text")
    return out


def annotate_nb(nb) -> bool:
    """Set every cell's nbgrader metadata from the exercise format; return whether anything changed."""
    want = expected(nb)
    changed = False
    for i, cell in enumerate(nb.cells):
        if i in want:
            if cell.metadata.get(KEY) != want[i]:
                cell.metadata[KEY] = want[i]
                changed = True
        elif KEY in cell.metadata:
            del cell.metadata[KEY]
            changed = True
    return changed


def annotate(paths: list[Path] | None = None) -> list[tuple[Path, str]]:
    """Annotate lessons in place (default: every lesson); return (path, "written" | "unchanged" | problem).

    A lesson that breaks the exercise format is left as it is: its problems are returned instead.
    The file is written as ``bpcore.nbtools`` writes it, so only the metadata lines change.
    """
    out = []
    for path in paths if paths is not None else lessons():
        path = Path(path)
        broken = format_problems(path)
        if broken:
            out.append((path, "not annotated, the exercise format is broken: " + "; ".join(broken)))
            continue
        nb = nbformat.read(path, as_version=4)
        if annotate_nb(nb):
            path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
            out.append((path, "written"))
        else:
            out.append((path, "unchanged"))
    return out
