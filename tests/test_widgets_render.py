"""bpcore.widgets' rendering shortcuts give the pictures matplotlib's full path gives."""

import io

import matplotlib.image as mpimg
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from bpcore.plots import new_figure
from bpcore.widgets import figure_png, pin_titles


def pixels(png: bytes) -> np.ndarray:
    return mpimg.imread(io.BytesIO(png), format="png")


def titled(y, *, log: bool):
    fig, ax = new_figure(width=5, height=3)
    FigureCanvasAgg(fig)
    fig.set_layout_engine("none")
    ax.plot(np.arange(len(y)), y)
    if log:
        ax.set_yscale("log")
    ax.set_title("a title")
    return fig, ax


@pytest.mark.parametrize("y, log", [(np.logspace(-3, 2, 20), True), (np.linspace(0, 1, 20), False)])
def test_pinned_title_is_drawn_where_matplotlib_puts_it(y, log):
    fig, ax = titled(y, log=log)
    reference = pixels(figure_png(fig))
    pin_titles(fig)
    assert ax._autotitlepos is False, "nothing above the axes: the title search should be skipped"
    np.testing.assert_array_equal(pixels(figure_png(fig)), reference)


def test_title_is_not_pinned_when_an_offset_text_may_move_it():
    fig, ax = titled(1e6 + np.linspace(0, 1, 20), log=False)   # ScalarFormatter shows an offset (+1e6)
    pin_titles(fig)
    assert ax._autotitlepos is not False
    fig2, ax2 = titled(np.linspace(0, 1, 20), log=False)
    ax2.xaxis.tick_top()                                         # tick labels on top: the search is needed
    pin_titles(fig2)
    assert ax2._autotitlepos is not False


@pytest.mark.parametrize("layout", ["constrained", "none"])
def test_figure_png_has_the_pixels_of_matplotlibs_own_png(layout):
    fig, ax = titled(np.linspace(-1, 2, 30) ** 3, log=False)
    fig.set_layout_engine(layout)
    ax.fill_between([0, 10], [0, 1], alpha=0.3)                      # partly transparent artists too
    figure_png(fig)                  # the constrained layout settles in its first draw, either way
    ours = figure_png(fig)
    buf = io.BytesIO()
    fig.canvas.print_png(buf)
    assert ours.startswith(b"\x89PNG") and np.array_equal(pixels(ours), pixels(buf.getvalue()))


def test_png_bytes_round_trips_any_image():
    from bpcore.widgets import png_bytes

    rgba = np.random.default_rng(0).integers(0, 256, (7, 5, 4), dtype=np.uint8)
    assert np.array_equal(np.rint(pixels(png_bytes(rgba)) * 255).astype(np.uint8), rgba)
