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


def test_cached_glyphs_draw_the_pixels_of_matplotlibs_own_text():
    """Text at many sub-pixel places and angles, plain and mathtext (with a fraction bar), drawn twice
    (the second time from the cache) by GlyphCachingCanvas, and once by a plain Agg canvas."""
    from matplotlib.figure import Figure

    from bpcore.widgets import render

    def drawn(canvas_class, times):
        fig = Figure(figsize=(4, 3), dpi=100)
        canvas = canvas_class(fig)
        r = np.random.default_rng(3)
        for k in range(40):
            s = r.choice(["gain 1.05", r"$\|\partial E/\partial h_k\|$", r"$\frac{1}{2} x^T H x$", "10⁻³ σ_max",
                          "truncated\nbias"])
            fig.text(r.uniform(0.05, 0.8), r.uniform(0.05, 0.9), s, fontsize=r.choice([7, 8, 10, 12.5]),
                     rotation=r.choice([0, 0, 90, 33.3]), antialiased=bool(k % 5))
        for _ in range(times):
            canvas.draw()
        return np.asarray(canvas.buffer_rgba()).copy(), canvas

    plain, _ = drawn(FigureCanvasAgg, 1)
    cached, canvas = drawn(render.GlyphCachingCanvas, 2)
    np.testing.assert_array_equal(cached, plain)
    if render._MIRRORS_MATPLOTLIB:
        assert len(canvas.get_renderer()._kept["glyph"]) > 50, "the cache should hold the glyphs drawn"
