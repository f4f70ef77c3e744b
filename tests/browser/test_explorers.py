"""Every lesson's explorer, run in real JupyterLab in headless Chromium (see explorer_lab.py).

Lessons are found at collection (every ``notebooks/NN_*.ipynb``), so a lesson that lands is covered
without editing this file. A small demo notebook checks the machinery itself, and the planted-break
tests show that a lesson whose explorer raises makes the suite fail.
"""

from __future__ import annotations

import nbformat
import pytest
from explorer_lab import RUNS, ExplorerCheckError, lessons

DEMO_CELLS = [
    "import ipywidgets as widgets\nimport numpy as np\n\nfrom bpcore.widgets import Explorer",
    '''def compute(gain, depth, kind):
    k = np.arange(1, depth + 1)
    return {"k": k, "value": gain ** k if kind == "power" else gain * k, "kind": kind}


def draw(fig, r):
    ax = fig.axes[0]
    ax.plot(r["k"], r["value"], "o-")
    ax.set_xlabel("depth k")
    ax.set_ylabel("value")
    return f"{r['kind']}: value at depth {r['k'][-1]} = {r['value'][-1]:.4f}"


Explorer(compute, draw, {"gain": widgets.FloatSlider(value=1.1, min=0.5, max=2.0, step=0.1, description="gain"),
                         "depth": widgets.IntSlider(value=5, min=1, max=20, description="depth"),
                         "kind": widgets.Dropdown(options=["power", "linear"], value="power", description="kind")})''',
]

# Planted into a copy of a lesson, before its first cell: every Explorer's compute raises — for any
# settings other than the first ones, i.e. as soon as a control is moved ("on_change"), or always, so
# already when the explorer is first drawn.
PLANT = '''import bpcore.widgets as _planted_widgets

_planted_init = _planted_widgets.Explorer.__init__


def _planted_explorer_init(self, compute, draw, controls, **kw):
    first = []

    def broken_compute(**settings):
        first.append(settings)
        if {on_change} and settings == first[0]:
            return compute(**settings)
        raise RuntimeError("planted break in the explorer callback")

    _planted_init(self, broken_compute, draw, controls, **kw)


_planted_widgets.Explorer.__init__ = _planted_explorer_init'''


def write_notebook(path, sources, tags_last=True):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Browser-suite demo explorer")]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in sources]
    if tags_last:
        nb.cells[-1].metadata["tags"] = ["nbval-ignore-output"]
    nbformat.write(nb, path)
    return path


def planted_copy(source, path, on_change):
    nb = nbformat.read(source, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(PLANT.replace("{on_change}", str(on_change))))
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="session")
def demo_notebook(tmp_path_factory):
    return write_notebook(tmp_path_factory.mktemp("demo") / "00_demo.ipynb", DEMO_CELLS)


def test_demo_explorer_renders_and_responds(lab, demo_notebook):
    """The machinery on a known-good explorer with a float slider, an int slider and a dropdown."""
    run = lab.check_notebook(demo_notebook, name="00_demo")
    RUNS.append(run)
    assert run.explorers == 1
    assert {s.control for s in run.samples} == {"gain", "depth", "kind"}
    assert all(p.stat().st_size > 0 for p in run.screenshots)


@pytest.mark.parametrize("lesson", lessons(), ids=lambda p: p.stem)
def test_lesson_explorer_renders_and_responds(lab, lesson):
    """Run All without errors; every explorer draws, and each control changes figure and readout."""
    run = lab.check_notebook(lesson)
    RUNS.append(run)
    assert run.samples, f"{lesson.stem}: no control of its explorer could be moved"


def _break_target(demo_notebook):
    found = lessons()
    return found[0] if found else demo_notebook  # a real lesson once one has landed


@pytest.mark.parametrize("on_change, expected", [
    (True, r"explorer 0 shows an error after moving '.*'(?s:.*)RuntimeError: planted break"),
    (False, r"explorer 0 shows an error:(?s:.*)RuntimeError: planted break"),
], ids=["raises-on-change", "raises-on-first-draw"])
def test_planted_break_is_detected(lab, demo_notebook, tmp_path, on_change, expected):
    """A copy of a lesson whose explorer callback raises must fail the check, naming the error."""
    source = _break_target(demo_notebook)
    broken = planted_copy(source, tmp_path / f"{source.stem}.ipynb", on_change)
    tag = "change" if on_change else "draw"
    with pytest.raises(ExplorerCheckError, match=expected):
        lab.check_notebook(broken, name=f"planted_{tag}_{source.stem}")


def test_missing_browser_message_says_how_to_install(monkeypatch):
    """Without Chromium the suite's skip reason (or CI failure) tells how to install it."""
    import explorer_lab

    monkeypatch.setenv("CHROMIUM", "/nonexistent/chromium")
    reason = explorer_lab.missing_requirements()
    assert reason and "apt-get install -y --no-install-recommends chromium" in reason
    assert "pip install playwright" in reason
