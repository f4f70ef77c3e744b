"""The shared Explorer machinery without a browser: PNG output, layout reuse, readout."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from bpcore.widgets import Explorer, label_sizes


def compute(scale, log):
    k = np.arange(1, 30)
    return {"k": k, "y": scale ** k, "log": log}


def draw(fig, r):
    ax = fig.axes[0]
    ax.plot(r["k"], r["y"])
    if r["log"]:
        ax.set_yscale("log")
    ax.set_xlabel("k")
    ax.set_ylabel("scale^k")
    return f"last = {r['y'][-1]:.3e}"


def make():
    return Explorer(compute, draw, {"scale": widgets.FloatSlider(value=1.5, min=0.1, max=3.0, step=0.1),
                                    "log": widgets.Checkbox(value=True)})


def test_update_renders_png_and_readout():
    e = make()
    png = e._layout.png()
    assert png.startswith(b"\x89PNG")
    assert e.readout.value == f"<pre>last = {1.5 ** 29:.3e}</pre>"
    e.controls["scale"].value = 2.0
    assert e.readout.value == f"<pre>last = {2.0 ** 29:.3e}</pre>"


def test_a_state_always_renders_the_same_picture():
    """Layout reuse must not make the picture depend on the states visited before."""
    e = make()
    first = e._layout.png()
    for value, log in ((0.2, True), (3.0, False), (2.2, True)):
        e.controls["scale"].value, e.controls["log"].value = value, log
    e.controls["scale"].value, e.controls["log"].value = 1.5, True
    assert e._layout.png() == first


def test_layout_recomputed_when_labels_grow():
    e = make()
    before = label_sizes(e.fig)
    e.controls["log"].value = False  # linear axis: tick labels like 6e11 … a different width
    assert label_sizes(e.fig) != before
    assert len(e._layout.known) == 2
