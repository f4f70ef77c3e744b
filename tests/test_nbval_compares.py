"""nbval must compare real numbers in every lesson: a planted digit in a stored output has to fail.

Portable outputs (round-off printed as a bound, claims in words) are easy to overdo: a lesson whose
compared outputs hold no number, or whose numbers the sanitizer hides, would pass nbval whatever the
code computes. So for each lesson we take the first compared output that prints a decimal number, change
one digit of it, and run nbval (with the project's sanitizer) on the lesson cut after that cell: the
planted copy must fail in exactly that cell, and the untouched cut must pass.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
NUMBER = re.compile(r"(?<![\w.])\d+\.\d{2,}(?![\w.])")  # a decimal with at least two decimals: a real figure


def _source(cell) -> str:
    return "".join(cell["source"])


def _compared(cell) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    src = _source(cell)
    return cell["cell_type"] == "code" and "nbval-ignore-output" not in tags and "NBVAL_IGNORE_OUTPUT" not in src


def _texts(cell):
    """The compared text outputs of a cell, as (output, key) so the text can be replaced in place."""
    for out in cell["outputs"]:
        if out["output_type"] == "stream" and out["name"] == "stdout":
            yield out, "text"
        elif out["output_type"] in ("execute_result", "display_data") and "text/plain" in out.get("data", {}):
            yield out["data"], "text/plain"


def plant(nb: dict):
    """Change one digit of the first compared number; return (index of that cell, the cut notebook)."""
    for i, cell in enumerate(nb["cells"]):
        if not _compared(cell):
            continue
        for holder, key in _texts(cell):
            text = "".join(holder[key])
            if text.startswith("<Figure size"):
                continue
            m = NUMBER.search(text)
            if m is None:
                continue
            digit = m.end() - 1
            planted = text[:digit] + str((int(text[digit]) + 1) % 10) + text[digit + 1:]
            cut = dict(nb, cells=nb["cells"][: i + 1])
            control = json.loads(json.dumps(cut))
            holder[key] = planted  # copy the cut with the planted digit, then restore the original
            planted_cut = json.loads(json.dumps(cut))
            holder[key] = text
            return i, planted_cut, control
    return None, None, None


@pytest.fixture(scope="module")
def nbval_runs(tmp_path_factory):
    """Run nbval once over every lesson's planted and control cuts; return {lesson: (cell, outcomes)}."""
    folder = tmp_path_factory.mktemp("planted") / "notebooks"
    folder.mkdir()
    (folder.parent / "images").symlink_to(ROOT / "images")
    (folder.parent / "pytest.ini").write_text("[pytest]\n")
    cells = {}
    for path in LESSONS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        index, planted, control = plant(nb)
        cells[path.stem] = index
        if index is None:
            continue
        for kind, cut in (("planted", planted), ("control", control)):
            (folder / f"{path.stem}__{kind}.ipynb").write_text(json.dumps(cut), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
         "--nbval-sanitize-with", str(SANITIZE), "-c", str(folder.parent / "pytest.ini"), str(folder)],
        capture_output=True, text=True, cwd=folder.parent, timeout=900)
    outcomes = {}
    for m in re.finditer(r"^(PASSED|FAILED|ERROR) \S*?(\d\d_\w+?)__(planted|control)\.ipynb::Cell (\d+)",
                         proc.stdout, re.M):
        outcomes.setdefault((m[2], m[3]), {})[int(m[4])] = m[1]
    return cells, outcomes, proc.stdout[-4000:]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_a_planted_digit_fails_nbval(path, nbval_runs):
    cells, outcomes, log = nbval_runs
    index = cells[path.stem]
    assert index is not None, f"{path.name}: no compared output prints a decimal number: nbval checks no result"
    planted = outcomes.get((path.stem, "planted"), {})
    control = outcomes.get((path.stem, "control"), {})
    assert control and set(control.values()) == {"PASSED"}, f"the untouched cut of {path.name} must pass:\n{log}"
    failed = [c for c, outcome in planted.items() if outcome != "PASSED"]
    # nbval numbers the code cells it collects; the planted cell is the last one of the cut
    assert failed == [max(planted)], (
        f"{path.name}: a changed digit in cell {index} should fail exactly that cell, failed: {failed}\n{log}")
