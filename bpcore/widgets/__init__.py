"""ipywidgets explorers: controls, a figure redrawn in place, and a text readout.

An explorer is three parts: a pure ``compute(**settings) -> result`` that tests call without a browser,
a ``draw(fig, result) -> str`` that draws into an existing figure and returns the readout text, and
the controls. One submodule a lesson holds its explorer; this module holds the machinery they share.
"""

from __future__ import annotations

import io
import struct
import time
import zlib

import ipywidgets as widgets
import numpy as np
from IPython.display import Image, clear_output, display
from matplotlib.backends.backend_agg import FigureCanvasAgg

from bpcore import blas
from bpcore.plots import new_figure


class Explorer(widgets.VBox):
    """A row of controls, a figure that is cleared and redrawn on every change, and a readout.

    Errors raised by ``compute`` or ``draw`` appear inside the explorer's output (as a traceback), so a
    broken explorer is visible in the browser instead of failing silently. An update costs one render
    of the figure: tick objects and the constrained layout are reused between updates where that does
    not change the picture (``clear_keeping_ticks``, ``FrozenLayout``); ``cost`` holds the last
    update's CPU milliseconds (compute, draw, render), which the browser suite reports.
    """

    def __init__(self, compute, draw, controls: dict, *, width: float = 7.0, height: float = 4.0,
                 nrows: int = 1, ncols: int = 1):
        self.compute, self.draw = compute, draw
        self.controls = controls
        self.fig, _ = new_figure(nrows, ncols, width=width, height=height)
        FigureCanvasAgg(self.fig)  # one canvas for all updates: its renderer (and text-size cache) is reused
        self._layout = FrozenLayout(self.fig)
        self.out = widgets.Output()
        self.readout = widgets.HTML()
        self.cost = {}  # of the last update, in ms: compute, draw, render (process CPU time, load-independent)
        for control in controls.values():
            control.observe(self.update, names="value")
        super().__init__([widgets.HBox(list(controls.values())), self.out, self.readout])
        self.update()

    def settings(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def render(self) -> tuple[bytes, str | None]:
        """Compute and draw the current settings: ``(png, readout text)``; sets ``cost``. (What an update
        costs the kernel, without the display; ``benchmarks/bench_explorers.py`` times it.)"""
        clock = [time.process_time()]

        def lap():
            clock.append(time.process_time())
            return 1000 * (clock[-1] - clock[-2])

        with blas.one_thread():
            result = self.compute(**self.settings())
            self.cost = {"compute": lap()}
            kept = [clear_keeping_ticks(ax) for ax in self.fig.axes]
            text = self.draw(self.fig, result)
            for ticks in kept:
                ticks.reuse_if_unchanged()
            self.cost["draw"] = lap()
            png = self._layout.png()
            self.cost["render"] = lap()
        return png, text

    def update(self, change=None):
        text = None
        with self.out:  # an exception here is shown in the output as a traceback (in a kernel)
            clear_output(wait=True)
            png, text = self.render()
            display(Image(data=png))
        self.readout.value = f"<pre>{text}</pre>" if text else ""


class clear_keeping_ticks:  # noqa: N801 (used like a function)
    """``ax.clear()``, keeping the axes' tick objects for the next draw when that draw styles them alike.

    Creating ticks anew after every clear (two lines, a label and a grid line each, dozens per log axis)
    is about a fifth of an update. The old ticks are put back only if the new draw leaves the tick
    parameters (``tick_params``/``grid``) exactly as the previous one did, so they look as new ones would;
    otherwise the axis makes fresh ones. (A draw that styles tick labels by editing their Text objects
    directly, instead of through ``ax.tick_params``, should not rely on this.)
    """

    def __init__(self, ax):
        self.kept = [(axis, axis.majorTicks, axis.minorTicks, dict(axis._major_tick_kw), dict(axis._minor_tick_kw))
                     for axis in (ax.xaxis, ax.yaxis)]
        ax.clear()

    def reuse_if_unchanged(self):
        for axis, major, minor, major_kw, minor_kw in self.kept:
            if axis._major_tick_kw == major_kw and axis._minor_tick_kw == minor_kw:
                axis.majorTicks, axis.minorTicks = major, minor


class FrozenLayout:
    """Render a figure with its constrained layout computed once per set of label sizes.

    The constrained layout measures every tick label, title and axis label before each draw, which is
    about half the time of an update. An explorer redraws the same axes again and again, so the axes
    positions it finds are remembered under the sizes of the text it made room for (see
    ``label_sizes``) and reused while those stay the same. A state therefore always shows the same
    picture, and most updates cost one render without the layout.
    """

    def __init__(self, fig):
        self.fig, self.engine, self.known = fig, fig.get_layout_engine(), {}

    def png(self) -> bytes:
        fig = self.fig
        if self.engine is None:
            return figure_png(fig)
        key = label_sizes(fig)
        positions = self.known.get(key)
        if positions is None:
            fig.set_layout_engine(self.engine)
            data = figure_png(fig)
            self.known[key] = [ax.get_position(original=True) for ax in fig.axes]
            return data
        fig.set_layout_engine("none")  # place the axes where the constrained layout put them
        for ax, position in zip(fig.axes, positions):
            ax._set_position(position)  # as layout engines do (set_position would take ax out of the layout)
        pin_titles(fig)
        return figure_png(fig)


def pin_titles(fig) -> None:
    """Keep each title at its default place without matplotlib's search for a higher one, where none exists.

    Before drawing a title, matplotlib measures the whole y axis (every tick label) to see whether an
    offset text such as ``1e6`` above it, or tick labels on top, would collide with the title: a third of a
    redraw. Where the x axis has nothing on top and the y axis shows no offset text (the offset that the
    draw will show is computed here from the same tick locations), that search cannot move the title, so
    it is skipped for this draw (``Axes.clear`` turns it back on).
    """
    for ax in fig.axes:
        if (ax.xaxis.get_ticks_position() in ("top", "unknown") or ax.xaxis.get_label_position() == "top"
                or ax.child_axes or len(ax._twinned_axes.get_siblings(ax)) > 1):
            continue
        formatter = ax.yaxis.get_major_formatter()
        formatter.format_ticks(ax.yaxis.get_majorticklocs())   # what the draw's tick update will compute
        if ax.yaxis.offsetText.get_visible() and formatter.get_offset():
            continue
        ax._autotitlepos = False


def label_sizes(fig) -> tuple:
    """Lengths of the texts a layout makes room for: titles, axis labels, the widest tick label per axis.

    Measured with every axes at its grid cell's own position, so the number of ticks (which depends on
    the axes' size) and hence the result depend on what is drawn, not on the layout in use.
    """
    sizes = [len(fig._suptitle.get_text()) if fig._suptitle else 0, len(fig.axes)]
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        current = ax.get_position(original=True)
        if spec is not None:
            ax._set_position(spec.get_position(fig))
        sizes += [len(ax.get_title(loc)) for loc in ("left", "center", "right")]
        sizes += [len(ax.get_xlabel()), len(ax.get_ylabel()), ax.get_legend() is not None]
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            widest = 0
            for ticker, locs in ((axis.major, axis.get_majorticklocs()), (axis.minor, axis.get_minorticklocs())):
                shown = [x for x in locs if lo <= x <= hi]
                widest = max([widest] + [len(t) for t in ticker.formatter.format_ticks(shown)])
            sizes.append(widest)
        ax._set_position(current)
    return tuple(sizes)


def figure_png(fig) -> bytes:
    """The figure as PNG bytes, drawn once at the figure's own size and dpi.

    Rendered here rather than by ``display(fig)``: IPython only knows how to show a bare ``Figure`` as
    PNG once pyplot has been imported (otherwise the browser shows ``<Figure size …>`` as text), and its
    inline formatter renders twice (``bbox_inches="tight"``). ``savefig`` too draws the figure twice
    when it has a layout engine (a dry run for the layout, then the real draw); the Agg canvas's ``draw``
    runs once, the layout engine inside it, and its pixels are encoded by :func:`png_bytes`.
    """
    if isinstance(fig.canvas, FigureCanvasAgg):
        fig.canvas.draw()
        return png_bytes(np.asarray(fig.canvas.buffer_rgba()))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def png_bytes(rgba: np.ndarray) -> bytes:
    """An (h, w, 4) uint8 image as PNG: rows unfiltered, zlib level 1.

    A rendered plot is mostly flat colour, which zlib compresses well without PNG's per-row filters; PIL's
    encoder tries the filters on every row, and takes 3–4 times as long for a file of the same size
    (17 ms against 4.4 ms for lesson 09's 1100 × 420 explorer, 77 kB either way).
    """
    h, w, _ = rgba.shape
    rows = np.empty((h, 1 + 4 * w), np.uint8)
    rows[:, 0] = 0                                       # filter type 0 (none) for every row
    rows[:, 1:] = rgba.reshape(h, 4 * w)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)  # 8 bits, RGBA, deflate, no filter, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), 1))
            + chunk(b"IEND", b""))
