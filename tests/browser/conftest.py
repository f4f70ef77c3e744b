"""Fixture for the browser suite: one JupyterLab server and one Chromium page for all lessons.

Without playwright or Chromium the browser tests skip, saying how to install them — unless
``BPCORE_REQUIRE_BROWSER`` is set (``.ci/run`` sets it), in which case they fail: in CI the explorers
are always tested in a real browser. At the end the suite prints the latency table (a measurement, not
an assertion) and writes it to ``results/browser/latency.txt``.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest
from explorer_lab import REQUIRE_ENV, RESULTS, RUNS, Lab, latency_table, make_workdir, missing_requirements

_STARTED = {}


@pytest.fixture(scope="module")  # one server for the module; stopped before nbval runs the notebooks
def lab():
    problem = missing_requirements()
    if problem:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{problem} ({REQUIRE_ENV} is set, so the browser suite may not be skipped)")
        pytest.skip(problem)
    shutil.rmtree(RESULTS, ignore_errors=True)  # screenshots and the table of this run only
    workdir = make_workdir()
    session = Lab(workdir)
    _STARTED.setdefault("t", time.perf_counter())
    try:
        session.start()
        yield session
    finally:
        session.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        _STARTED["end"] = time.perf_counter()


def pytest_terminal_summary(terminalreporter):
    if not RUNS:
        return
    table = latency_table(RUNS)
    total = _STARTED.get("end", time.perf_counter()) - _STARTED.get("t", time.perf_counter())
    text = (f"{table}\n\nmedian/max: milliseconds from a control change in the page to the new figure shown;\n"
            "kernel cpu: the kernel's CPU time per update (all its threads, so numpy's BLAS threads can make it\n"
            f"exceed the wall time); browser suite {total:.1f} s, server start and planted-break copies included")
    terminalreporter.write_sep("=", "explorer latency in JupyterLab (headless Chromium)")
    terminalreporter.write_line(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latency.txt").write_text(text + "\n")
