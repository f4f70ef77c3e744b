"""ipywidgets explorers: controls, a figure redrawn in place, and a text readout.

An explorer is three parts: a pure ``compute(**settings) -> result`` that tests call without a browser,
a ``draw(fig, result) -> str`` that draws into an existing figure and returns the readout text, and
the controls. One submodule a lesson holds its explorer; this module holds the machinery they share.
"""

from __future__ import annotations

import io

import ipywidgets as widgets
from IPython.display import Image, clear_output, display

from bpcore.plots import new_figure


class Explorer(widgets.VBox):
    """A row of controls, a figure that is cleared and redrawn on every change, and a readout.

    Errors raised by ``compute`` or ``draw`` appear inside the explorer's output (as a traceback), so a
    broken explorer is visible in the browser instead of failing silently.
    """

    def __init__(self, compute, draw, controls: dict, *, width: float = 7.0, height: float = 4.0,
                 nrows: int = 1, ncols: int = 1):
        self.compute, self.draw = compute, draw
        self.controls = controls
        self.fig, _ = new_figure(nrows, ncols, width=width, height=height)
        self.out = widgets.Output()
        self.readout = widgets.HTML()
        for control in controls.values():
            control.observe(self.update, names="value")
        super().__init__([widgets.HBox(list(controls.values())), self.out, self.readout])
        self.update()

    def settings(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def update(self, change=None):
        text = None
        with self.out:  # an exception here is shown in the output as a traceback (in a kernel)
            clear_output(wait=True)
            result = self.compute(**self.settings())
            for ax in self.fig.axes:
                ax.clear()
            text = self.draw(self.fig, result)
            display(Image(data=figure_png(self.fig)))
        self.readout.value = f"<pre>{text}</pre>" if text else ""


def figure_png(fig) -> bytes:
    """The figure as PNG bytes, rendered once at the figure's own size and dpi.

    Rendered here rather than by ``display(fig)``: IPython only knows how to show a bare ``Figure`` as
    PNG once pyplot has been imported (otherwise the browser shows ``<Figure size …>`` as text), and its
    inline formatter renders twice (``bbox_inches="tight"``), which the constrained layout makes
    unnecessary.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
