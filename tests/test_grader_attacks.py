"""Planted attacks on the grader (issue 14), each graded by the real command in one run with honest work.

Every attack is a submission that does not do the exercises and tries to get marks, read the tests,
hurt the grader or a classmate. All of them, two honest submissions and the class's JSON are graded
together by ``python -m bpcore.assignments grade --jobs 2``; the tests then read that one report:
each attack scores 0 and is flagged, the honest ones keep full marks, the lessons and bpcore are
byte-identical, and nothing rewrites the report after the grader exits. A second, smaller run does
the issue's own attack on lesson 06 and a submission that just calls bpcore's version of an exercise.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from test_assignments import ROOT, lesson98, submission

from bpcore.assignments import find_exercises
from bpcore.assignments.sandbox import bwrap

SECRET = "grader-secret-7d1f"  # in the grader's environment: must never reach a submission


def _need_sandbox():
    """On Linux a missing sandbox is a failure (CI installs bubblewrap); elsewhere (macOS) a skip."""
    if bwrap() is None:
        if sys.platform.startswith("linux"):
            pytest.fail("bubblewrap (bwrap) is missing or refused here: apt-get install bubblewrap")
        pytest.skip("no bubblewrap on this system: the sandbox attacks cannot run")


def _attacks(lesson: Path, report: Path) -> dict[str, dict]:
    """name -> {"cells": code cells added after the imports, "bodies": exercise bodies, "flags": kinds}."""
    hidden = "affine_backward is wrong for a 4x4 weight"
    lesson_path, mistakes = str(lesson), str(ROOT / "bpcore" / "assignments" / "mistakes.py")
    return {
        "input_transformer": dict(flags={"ipython-internals"}, cells=[
            'get_ipython().input_transformers_cleanup.append(lambda l: [] if l and l[0].startswith('
            '"# Tests for exercise") else l)']),
        "custom_exc": dict(flags={"ipython-internals"}, cells=[
            "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"]),
        "showtraceback": dict(flags={"ipython-internals"}, cells=[
            "ip = get_ipython()\nip._showtraceback = lambda *a, **k: None\nip.showtraceback = lambda *a, **k: None"]),
        "patched_checks": dict(flags={"patches-library"}, cells=[
            "import numpy as np\nimport bpcore.gradcheck\nnp.allclose = lambda *a, **k: True\n"
            "class _R:\n    ok = True\n    def __getitem__(self, k):\n        return self\n"
            "bpcore.gradcheck.compare = lambda *a, **k: _R()\n"
            "def check_vjp(*a, **k):\n    return _R()\ncheck_gradients = check_vjp"],
            bodies={"98.1": 'return {"W": 0, "b": 0, "x": 0}', "98.2": "return dout", "98.3": "return 2.5"}),
        "rewrites_lessons": dict(flags={"writes-files"}, cells=[
            "import os, glob\nfor p in [%r] + glob.glob(os.path.join(os.getcwd(), '*.ipynb')):\n"
            "    try:\n        open(p, 'w').write('{}')\n    except OSError as e:\n        print(e)\n"
            "for p in [%r, %r]:\n    try:\n        open(p, 'a').write('x = 1')\n    except OSError as e:\n"
            "        print(e)" % (lesson_path, mistakes, str(ROOT / "bpcore" / "__init__.py"))]),
        "reads_hidden_tests": dict(flags={"reads-course-files"}, cells=[], bodies={
            "98.1": "texts = []\nfor p in [%r, %r, 'submission.ipynb']:\n    try:\n"
                    "        texts.append(open(p).read())\n"
                    "    except OSError as e:\n        texts.append(str(e))\n"
                    "raise ValueError(repr(In) + ' '.join(texts))" % (lesson_path, mistakes)},
            absent=[hidden, "BEGIN HIDDEN TESTS", 'dW = dout @ cache["x"].T', "sigmoid-derivative"]),
        "reads_environment": dict(flags={"reads-course-files"}, cells=[], bodies={
            "98.1": "import os\ntry:\n    seen = open('/proc/1/environ').read()\n"
                    "except OSError as e:\n    seen = str(e)\n"
                    "raise ValueError(repr(dict(os.environ)) + seen)"},
            absent=[SECRET]),
        "kills_grader": dict(flags={"processes-signals"}, cells=[
            "import os, signal\nfor pid in (os.getppid(), 1, -1):\n    for sig in (signal.SIGKILL, signal.SIGTERM):\n"
            "        try:\n            os.kill(pid, sig)\n        except OSError as e:\n            print(e)\n"
            "try:\n    os.killpg(0, signal.SIGKILL)\nexcept OSError as e:\n    print(e)"]),
        "detached_child": dict(flags={"processes-signals"}, cells=[
            "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', %r], start_new_session=True,\n"
            "                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)" % (
                "import time, json\nfor _ in range(40):\n    time.sleep(0.5)\n    try:\n"
                f"        open({str(report)!r}, 'w').write(json.dumps({{'submissions': []}}))\n"
                "    except OSError:\n        pass")]),
        "fork_bomb": dict(flags={"processes-signals"}, cells=[
            "import subprocess\nkids = []\ntry:\n    for _ in range(500):\n"
            "        kids.append(subprocess.Popen(['sleep', '313']))\nexcept OSError as e:\n"
            "    print(len(kids), e)"]),
        "memory_hog": dict(flags=set(), cells=["import numpy as np\nhog = np.ones(10 ** 10)"],
                           bodies={"98.3": "import numpy as np\nreturn float(np.ones(3 * 10 ** 9).sum())"}),
        "output_flood": dict(flags=set(), cells=[
            "line = 'x' * 100_000\nwhile True:\n    print(line)"]),
        "hangs_ignoring_interrupts": dict(
            flags={"processes-signals"}, events={"killed-after-timeout"}, cells=[],
            bodies={"98.1": "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"}),
        "hostile_values": dict(flags={"dynamic-code"}, cells=[
            "import numpy as np, base64, io\nimport _bpcore_wire\n"
            "class Anything:\n    def __eq__(self, other):\n        return True\n"
            "    __lt__ = __le__ = __gt__ = __ge__ = __eq__\n"
            "    def __sub__(self, other):\n        return self\n    __abs__ = lambda self: 0.0\n"
            "_pickled = base64.b64encode(b'\\x80\\x04cos\\nsystem\\n.').decode()\n"
            "_serve = _bpcore_wire.serve\n"
            "def forged(ns, name, payload):\n    from IPython.display import publish_display_data\n"
            "    if name == 'tanh_backward':\n"
            "        fake = '{\"v\": {\"A\": \"%s\"}}' % _pickled\n"
            "        publish_display_data({_bpcore_wire.MIME: {'status': 'ok', 'value': fake}})\n"
            "    else:\n        _serve(ns, name, payload)\n"
            "_bpcore_wire.serve = forged\neval('1')"],
            bodies={"98.1": "return np.array([object()], dtype=object)", "98.2": "return dout",
                    "98.3": "return Anything()"}),
        "network": dict(flags={"network"}, cells=[
            "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 22), timeout=2)\nexcept OSError as e:\n"
            "    print(e)"]),
        "shell_escape": dict(flags={"shell"}, cells=["!touch /tmp/bpcore-shell-was-here; echo done"]),
    }


def _build(lesson: Path, name: str, attack: dict):
    bodies = attack.get("bodies")
    nb = submission(lesson, bodies) if bodies is not None else submission(lesson)
    if bodies is not None:  # the other exercises stay blank
        for k, ex in find_exercises(nb).items():
            if k not in bodies:
                blank = submission(lesson)
                nb.cells[ex.solution] = blank.cells[find_exercises(blank)[k].solution]
    for j, code in enumerate(attack["cells"]):
        nb.cells.insert(2 + j, nbformat.v4.new_code_cell(code))
    return nb


def _digest(*folders: Path) -> str:
    h = hashlib.sha256()
    for folder in folders:
        for p in sorted(folder.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                h.update(str(p).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def _grade_cli(folder: Path, lessons: Path, report: Path, *extra) -> subprocess.CompletedProcess:
    env = dict(os.environ, BPCORE_TEST_SECRET=SECRET)
    return subprocess.run([sys.executable, "-m", "bpcore.assignments", "grade", str(folder), "--lessons", str(lessons),
                           "--json", str(report), "--jobs", "2", *extra], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    _need_sandbox()
    course = tmp_path_factory.mktemp("course")
    lesson = lesson98.write(course / "notebooks")
    folder, report = course / "submissions", course / "report.json"
    folder.mkdir()
    attacks = _attacks(lesson, report)
    nbformat.write(submission(lesson, {}), folder / "aaa_honest.ipynb")
    nbformat.write(submission(lesson, {}), folder / "zzz_honest.ipynb")
    for name, attack in attacks.items():
        nbformat.write(_build(lesson, name, attack), folder / f"attack_{name}.ipynb")
    before = _digest(lesson.parent, ROOT / "notebooks", ROOT / "bpcore")
    result = _grade_cli(folder, lesson.parent, report, "--timeout", "8", "--total-timeout", "60")
    written = report.read_bytes() if report.exists() else b""
    time.sleep(6)  # a detached child would rewrite the report now
    reports = {Path(r["submission"]).stem: r for r in json.loads(written)["submissions"]} if written else {}
    leftovers = subprocess.run(["pgrep", "-f", "sleep 313"], capture_output=True, text=True).stdout.split()
    return dict(result=result, reports=reports, attacks=attacks, written=written, report=report, before=before,
                after=_digest(lesson.parent, ROOT / "notebooks", ROOT / "bpcore"), leftovers=leftovers)


def _explain(r):
    return json.dumps(r, indent=1)[:5000]


def test_the_run_finishes_and_writes_every_report_once(attacked):
    assert attacked["result"].returncode == 0, attacked["result"].stderr[-3000:]
    names = {f"attack_{n}" for n in attacked["attacks"]} | {"aaa_honest", "zzz_honest"}
    assert set(attacked["reports"]) == names
    assert attacked["report"].read_bytes() == attacked["written"], "the report was rewritten after the grader exited"
    assert not attacked["leftovers"], f"processes of a sandbox outlived it: {attacked['leftovers']}"
    assert not Path("/tmp/bpcore-shell-was-here").exists(), "a shell escape wrote to the grader's /tmp"


def test_the_lessons_and_bpcore_are_byte_identical(attacked):
    assert attacked["before"] == attacked["after"]


def test_honest_submissions_graded_with_the_attacks_keep_full_marks(attacked):
    for name in ("aaa_honest", "zzz_honest"):
        r = attacked["reports"][name]
        assert r["score"] == r["max_score"] == 9 and r["error"] is None, _explain(r)
        assert not r["suspected_tampering"] and r["sandbox"]["sandboxed"], _explain(r)


@pytest.mark.parametrize("name", sorted(_attacks(Path("x"), Path("y"))))
def test_each_attack_scores_zero_and_is_flagged(attacked, name):
    attack, r = attacked["attacks"][name], attacked["reports"][f"attack_{name}"]
    assert r["lesson"] == "98_fixture_layer" and r["score"] == 0, _explain(r)
    assert r["suspected_tampering"] or _flood_timed_out(name, r), _explain(r)
    kinds = {f["kind"] for f in r["flags"]}
    assert attack["flags"] <= kinds, f"expected flags {attack['flags']}, got {kinds}"
    assert attack.get("events", set()) <= set(r["sandbox"]["events"]), _explain(r)
    text = json.dumps(r)
    for secret in attack.get("absent", []):
        assert secret not in text, f"{secret!r} reached the report of {name}"


def _flood_timed_out(name, r) -> bool:
    """The flood's third ending: a kernel that prints slower than the output cap fills in the cell's time
    limit (seen with Python 3.13 and IPython 9 on a loaded machine) is interrupted like any endless loop:
    0 points and a timeout, not a sign of tampering by itself."""
    return name == "output_flood" and any("GraderTimeout" in x["error"] for x in r["notebook_errors"])


def test_a_sandbox_that_floods_hangs_or_dies_says_why(attacked):
    flood = attacked["reports"]["attack_output_flood"]
    # the grader stops reading at its output cap; a kernel that floods faster than that can first exhaust
    # its own memory limit with queued output (a MemoryError, or it dies), and one that floods slower is
    # stopped at the cell's time limit: whichever comes first, it is stopped, and says so
    events = set(flood["sandbox"]["events"])
    assert flood["score"] == 0, _explain(flood)
    if "memory-limit" in events:  # the flooding cell died of a MemoryError, the rest went on
        assert any("MemoryError" in x["error"] for x in flood["notebook_errors"]), _explain(flood)
    elif not _flood_timed_out("output_flood", flood):
        assert {"output-flood", "killed-after-timeout", "kernel-died"} & events, _explain(flood)
        assert all("not graded" in e["feedback"] for e in flood["exercises"]), _explain(flood)
    assert flood["suspected_tampering"] or _flood_timed_out("output_flood", flood), _explain(flood)
    hang = attacked["reports"]["attack_hangs_ignoring_interrupts"]
    e = {x["id"]: x for x in hang["exercises"]}
    assert e["98.1"]["status"] == "timeout" and "shut down" in hang["error"], _explain(hang)
    hog = attacked["reports"]["attack_memory_hog"]
    assert any("MemoryError" in x["error"] for x in hog["notebook_errors"]), _explain(hog)


def test_hostile_return_values_are_refused_not_run(attacked):
    r = attacked["reports"]["attack_hostile_values"]
    e = {x["id"]: x for x in r["exercises"]}
    assert "cannot" in e["98.1"]["feedback"] and "cannot" in e["98.3"]["feedback"], _explain(r)
    assert "unreadable array" in e["98.2"]["feedback"] or "not plain numbers" in e["98.2"]["feedback"], _explain(r)


# --- the issue's own attack on a real lesson, and a submission that calls bpcore's version -------------------

@pytest.fixture(scope="module")
def lesson06(tmp_path_factory):
    _need_sandbox()
    lesson = ROOT / "notebooks" / "06_bptt_rnn.ipynb"
    folder = tmp_path_factory.mktemp("l06")
    blank = submission(lesson)
    blank.cells.insert(3, nbformat.v4.new_code_cell(
        'get_ipython().input_transformers_cleanup.append(lambda l: [] if l and l[0].startswith("# Tests for exercise")'
        ' else l)'))
    nbformat.write(blank, folder / "a_issue_attack.ipynb")
    calls = submission(lesson, {"6.1": "return rnn.step_backward(dh_t, cache)"})
    nbformat.write(calls, folder / "b_calls_bpcore.ipynb")
    report = folder / "r.json"
    result = _grade_cli(folder, ROOT / "notebooks", report, "--timeout", "60", "--total-timeout", "300")
    assert result.returncode == 0, result.stderr[-3000:]
    return {Path(r["submission"]).stem: r for r in json.loads(report.read_text())["submissions"]}


def test_the_issue_attack_on_lesson_06_scores_zero(lesson06):
    r = lesson06["a_issue_attack"]
    assert r["score"] == 0 and r["max_score"] == 10 and r["suspected_tampering"], _explain(r)
    assert all(e["status"] == "not attempted" for e in r["exercises"]), _explain(r)


def test_calling_bpcores_version_passes_but_is_flagged(lesson06):
    r = lesson06["b_calls_bpcore"]
    assert r["score"] == r["max_score"], _explain(r)
    assert [f["kind"] for f in r["flags"]] == ["calls-bpcore"], _explain(r)
    assert "6.1" in r["flags"][0]["detail"] and "step_backward" in r["flags"][0]["detail"]


# --- a kernel that dies before its first reply (no submission code has run): retried once, then says why -------

def _honest98(tmp_path):
    lesson = lesson98.write(tmp_path / "notebooks")
    sub = tmp_path / "honest.ipynb"
    nbformat.write(submission(lesson, {}), sub)
    return lesson, sub


def test_a_kernel_that_cannot_start_is_tried_twice_and_the_report_says_why(tmp_path):
    from bpcore.assignments.grade import grade
    from bpcore.assignments.sandbox import Limits

    _need_sandbox()
    lesson, sub = _honest98(tmp_path)
    r = grade(sub, lesson.parent, limits=Limits(memory=60 << 20), total=120)  # too little memory to import
    # what the kernel last wrote is quoted: a MemoryError, or zmq's "Resource temporarily unavailable"
    # for a thread it could not create (Python 3.13)
    assert r["score"] == 0 and "did not start, twice" in r["error"], _explain(r)
    assert "nothing on stderr" not in r["error"] and ("Error" in r["error"] or "unavailable" in r["error"]), r["error"]
    assert all("not graded" in e["feedback"] for e in r["exercises"]), _explain(r)


def test_a_kernel_that_dies_once_at_start_is_started_again_and_grades_in_full(tmp_path, monkeypatch):
    from bpcore.assignments import grade as g
    from bpcore.assignments.sandbox import Limits

    _need_sandbox()
    lesson, sub = _honest98(tmp_path)
    real, calls = g._student_kernel, []

    def dies_first(work, sandboxed, limits):
        calls.append(limits)
        return real(work, sandboxed, Limits(memory=60 << 20) if len(calls) == 1 else limits)

    monkeypatch.setattr(g, "_student_kernel", dies_first)
    r = g.grade(sub, lesson.parent, total=120)
    assert len(calls) == 2 and r["error"] is None and r["score"] == r["max_score"] == 9, _explain(r)
