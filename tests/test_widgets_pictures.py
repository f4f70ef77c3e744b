"""Every lesson's explorer shows, after any history of moves, the pixels matplotlib itself draws.

An explorer update takes shortcuts to be fast (``bpcore.widgets``: tick objects kept between draws,
unlabelled minor ticks drawn as one line, glyph bitmaps cached, the layout frozen, titles pinned). Here
each control of each lesson's explorer is moved a few steps and back, as the benchmark and the browser
suite move them, and at every state the explorer's PNG is compared pixel for pixel with a fresh figure of
the same size drawn by the same draw function, its axes placed where the explorer's are, and rendered by
matplotlib's own Agg canvas without any shortcut.
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from bpcore.plots import new_figure

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bench_explorers  # noqa: E402  (the lessons' explorers and how a control is moved, shared with the benchmark)


def pixels(png: bytes) -> np.ndarray:
    return mpimg.imread(io.BytesIO(png), format="png")


def plain_png(explorer) -> bytes:
    """The explorer's current state drawn into a new figure by stock matplotlib, axes where the explorer's are."""
    spec = explorer.fig.axes[0].get_subplotspec()
    nrows, ncols = spec.get_gridspec().get_geometry()
    w, h = explorer.fig.get_size_inches()
    fig, _ = new_figure(nrows, ncols, width=w, height=h)
    fig.set_layout_engine("none")
    for ax in fig.axes:
        ax.clear()                       # an explorer draws into cleared axes
    explorer.draw(fig, explorer.compute(**explorer.settings()))
    assert len(fig.axes) == len(explorer.fig.axes)
    for ax, shown in zip(fig.axes, explorer.fig.axes):
        ax.set_position(shown.get_position())
    buf = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buf)
    return buf.getvalue()


@pytest.mark.parametrize("name", list(bench_explorers.EXPLORERS))
def test_every_state_shows_what_matplotlib_draws(name):
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        explorer = bench_explorers.EXPLORERS[name]()
    states = 0
    for control_name, control in explorer.controls.items():
        for value in bench_explorers.moves(control_name, control, 2):
            control.value = value
            shown = pixels(explorer.image.value)
            plain = pixels(plain_png(explorer))
            assert shown.shape == plain.shape
            differ = np.argwhere(np.any(shown != plain, axis=-1))
            assert len(differ) == 0, (f"{name}, {explorer.settings()}: {len(differ)} pixels differ from matplotlib's "
                                      f"own drawing, e.g. at (row, column) {differ[:5].tolist()}")
            states += 1
    assert states >= 2
