"""The assignments command line: `make` refuses what would leak, bad options are clear errors, the class
summary (CSV gradebook, HTML page) and `--shard` + `merge` (two shards merged equal one run)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from test_assignments import ROOT, lesson98, submission

from bpcore.assignments import MakeRefused, make, marker_problems
from bpcore.assignments.summary import gradebook, merge, page, shard


def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "bpcore.assignments", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def _lesson_with(tmp_path, old, new) -> Path:
    lesson = lesson98.write(tmp_path / "notebooks")
    nb = nbformat.read(lesson, as_version=4)
    hits = [c for c in nb.cells if old in c.source]
    assert hits, old
    hits[0].source = hits[0].source.replace(old, new, 1)
    nbformat.write(nb, lesson)
    return lesson


@pytest.mark.parametrize("old, new, said", [
    ("### BEGIN SOLUTION\n    dW", "### Begin Solution\n    dW", "looks like a marker"),
    ("    ### END SOLUTION", "    pass", "never closed"),
    ("### BEGIN HIDDEN TESTS\nfor seed", "### BEGIN HIDDEN TEST\nfor seed", "looks like a marker"),
    ("### BEGIN HIDDEN TESTS\nfor seed", "for seed", "without a ### BEGIN HIDDEN TESTS"),
])
def test_make_refuses_a_lesson_whose_markers_would_leak(tmp_path, old, new, said):
    lesson = _lesson_with(tmp_path, old, new)
    out = tmp_path / "assignments"
    result = _cli("make", lesson, "--out", out)
    assert result.returncode == 1 and "refused" in result.stderr, result.stderr
    assert lesson.name in result.stderr and "cell " in result.stderr and said in result.stderr, result.stderr
    assert not out.exists() or not list(out.iterdir()), "nothing may be written"


def test_make_refuses_to_write_over_the_lessons(tmp_path):
    lesson = lesson98.write(tmp_path / "notebooks")
    before = lesson.read_bytes()
    for out in (lesson.parent, tmp_path):
        with pytest.raises(MakeRefused, match="is or contains the lesson folder"):
            make(out, [lesson])
    assert lesson.read_bytes() == before
    result = _cli("make", "--out", "notebooks")
    assert result.returncode == 1 and "overwrite the lessons" in result.stderr


def test_marker_problems_accept_the_lessons_markers():
    good = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"
    assert marker_problems(0, good) == []
    assert marker_problems(3, good + "\n### END SOLUTION") == [
        "cell 3, line 5: ### END SOLUTION without a ### BEGIN SOLUTION before it"]


@pytest.mark.parametrize("option, value", [("--timeout", "-1"), ("--timeout", "0"), ("--total-timeout", "0"),
                                           ("--jobs", "0"), ("--jobs", "-2"), ("--jobs", "1.5"), ("--shard", "3/2"),
                                           ("--shard", "x")])
def test_bad_option_values_are_clear_errors(tmp_path, option, value):
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "a.ipynb")
    result = _cli("grade", tmp_path, f"{option}={value}")
    assert result.returncode == 2, result
    assert (option in result.stderr or "--shard" in result.stderr) and value in result.stderr, result.stderr


def test_shards_are_deterministic_disjoint_slices():
    paths = [Path(f"s{i:02d}.ipynb") for i in range(11)]
    parts = [shard(list(reversed(paths)), f"{k}/3") for k in (1, 2, 3)]
    assert sorted(p for part in parts for p in part) == paths and sum(map(len, parts)) == 11


def _fake(name, lesson, score, status="passed", mistakes=(), flags=()):
    return {"submission": f"/x/{name}.ipynb", "lesson": lesson, "score": score, "max_score": 4.0, "error": None,
            "suspected_tampering": bool(flags), "flags": [{"kind": k} for k in flags], "sandbox": {"sandboxed": True},
            "exercises": [{"id": "6.1", "score": score, "status": status, "mistakes": list(mistakes)}]}


def test_gradebook_and_page_escape_what_came_from_submissions():
    reports = [_fake("=HYPERLINK(1)", "06_bptt_rnn", 0.0, "failed", ["dh-next-dropped"]),
               _fake("<img src=x onerror=alert(1)>", "06_bptt_rnn", 4.0, flags=["shell"])]
    rows = list(csv.reader(io.StringIO(gradebook(reports))))
    assert rows[0][:5] == ["student", "lesson", "score", "max_score", "Exercise 6.1"]
    assert {r[0] for r in rows[1:]} == {"'=HYPERLINK(1)", "<img src=x onerror=alert(1)>"}, "no formula"
    text = page(reports)
    assert "<img" not in text and "&lt;img src=x" in text
    assert "1 / 2 (50%)" in text and "dh-next-dropped (1)" in text and "shell" in text


def test_two_shards_merged_equal_one_run(tmp_path):
    lesson = lesson98.write(tmp_path / "notebooks")
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(submission(lesson, {"98.2": "return dout * h * (1.0 - h)"}), subs / "alice.ipynb")
    nbformat.write(submission(lesson), subs / "bob.ipynb")
    common = ["--lessons", lesson.parent, "--jobs", "2", "--timeout", "30"]
    one = _cli("grade", subs, "--json", tmp_path / "one.json", *common)
    assert one.returncode == 0, one.stderr
    for k in (1, 2):
        part = _cli("grade", subs, "--json", tmp_path / f"part{k}.json", "--shard", f"{k}/2", *common)
        assert part.returncode == 0, part.stderr
    merged = _cli("merge", tmp_path / "part1.json", tmp_path / "part2.json", "--json", tmp_path / "merged.json")
    assert merged.returncode == 0, merged.stderr

    def reports(name):
        data = json.loads((tmp_path / name).read_text())["submissions"]
        return [{k: v for k, v in r.items() if k != "seconds"} for r in data]

    assert reports("merged.json") == reports("one.json")
    assert [r["score"] for r in reports("one.json")] == [6, 0]
    assert (tmp_path / "merged.csv").read_text() == (tmp_path / "one.csv").read_text()
    assert (tmp_path / "merged.html").read_text() == (tmp_path / "one.html").read_text()
    assert "sigmoid-derivative (1)" in (tmp_path / "one.html").read_text()
    assert not (tmp_path / "part1.csv").exists(), "a shard writes only its JSON"
    assert merge([tmp_path / "part1.json"])[0]["submission"].endswith("alice.ipynb")


def test_the_tampering_scan_finds_nothing_in_the_lessons_own_code():
    """Every lesson scanned as if all of it were a student's code: no flag (no false alarm on honest work)."""
    from test_assignments import LESSONS

    from bpcore.assignments import find_exercises
    from bpcore.assignments.grade import graded_functions
    from bpcore.assignments.scan import scan

    for lesson in LESSONS:
        nb = nbformat.read(lesson, as_version=4)
        graded = {k: (e.solution, graded_functions(e)) for k, e in find_exercises(nb).items()}
        assert scan(nb, nbformat.v4.new_notebook(), graded) == [], lesson.name
