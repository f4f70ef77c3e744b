"""ipywidgets explorers: controls, a figure redrawn in place, and a text readout.

An explorer is three parts: a pure ``compute(**settings) -> result`` that tests call without a browser,
a ``draw(fig, result) -> str`` that draws into an existing figure and returns the readout text, and
the controls. One submodule a lesson holds its explorer; this module holds the machinery they share.
"""

from __future__ import annotations

import time

import ipywidgets as widgets
from IPython.display import clear_output

from bpcore import blas
from bpcore.plots import new_figure
from bpcore.widgets.render import (  # noqa: F401 (label_sizes, figure_png, png_bytes, pin_titles re-exported)
    FrozenLayout,
    GlyphCachingCanvas,
    clear_keeping_ticks,
    figure_png,
    label_sizes,
    minor_ticks_as_one_line,
    pin_titles,
    png_bytes,
)


class Explorer(widgets.VBox):
    """A row of controls, a figure that is cleared and redrawn on every change, and a readout.

    The figure is an ``Image`` widget whose PNG is replaced on every update: one binary message to the
    page, which swaps the picture in place (an output area would be cleared and rebuilt, and the PNG sent
    as base64 text). Errors raised by ``compute`` or ``draw`` appear inside the explorer's output (as a
    traceback) in place of the figure, so a broken explorer is visible in the browser instead of failing
    silently. An update costs one render of the figure, with the shortcuts of :mod:`bpcore.widgets.render`
    (the same pixels as matplotlib's plain drawing); ``cost`` holds the last update's CPU milliseconds
    (compute, draw, render) and its wall time, which the browser suite reports.
    """

    def __init__(self, compute, draw, controls: dict, *, width: float = 7.0, height: float = 4.0,
                 nrows: int = 1, ncols: int = 1):
        self.compute, self.draw = compute, draw
        self.controls = controls
        self.fig, _ = new_figure(nrows, ncols, width=width, height=height)
        GlyphCachingCanvas(self.fig)  # one canvas for all updates: its renderer (and text-size cache) is reused
        self._layout = FrozenLayout(self.fig)
        # at most the cell's width, scaled down in proportion (as JupyterLab shows an output image)
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))
        self.out = widgets.Output()  # tracebacks only
        self.readout = widgets.HTML()
        self.cost = {}  # of the last update, in ms: compute, draw, render (process CPU time), and its wall time
        for control in controls.values():
            control.observe(self.update, names="value")
        super().__init__([widgets.HBox(list(controls.values())), self.image, self.out, self.readout])
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
            for ax in self.fig.axes:
                for axis in (ax.xaxis, ax.yaxis):
                    minor_ticks_as_one_line(axis)
            self.cost["draw"] = lap()
            png = self._layout.png()
            self.cost["render"] = lap()
        return png, text

    def update(self, change=None):
        start = time.perf_counter()
        try:
            png, text = self.render()
        except Exception:
            self.readout.value = ""
            self.image.layout.display = "none"
            with self.out:  # in a kernel the output shows the traceback (outside one, it propagates)
                clear_output(wait=True)
                raise
            return
        if self.image.layout.display == "none":
            self.image.layout.display = None
            self.out.clear_output()
        self.image.value = png
        self.readout.value = f"<pre>{text}</pre>" if text else ""
        self.cost["wall"] = 1000 * (time.perf_counter() - start)  # all of it, sending the figure included
