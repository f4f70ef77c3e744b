"""How long each lesson's explorer takes to update, measured in Python (no browser): compute + draw + PNG.

    python benchmarks/bench_explorers.py            # every explorer, each control moved as the browser suite does
    python benchmarks/bench_explorers.py --moves 8  # more moves a control

The browser suite (``python -m pytest tests/browser``) measures the same updates end to end in JupyterLab,
where the page and the kernel's messages add some 30–60 ms; this script times only the kernel's share,
which is far less noisy, and breaks it into compute, draw (matplotlib artists) and render (Agg + PNG).
Each control is stepped forward ``--moves`` times from its initial value, by one slider step or to the next
option (text boxes cycle through a few expressions), then back again; the median and the slowest update
of each explorer are printed. The goal (issue 17): median under 100 ms and slowest under 200 ms in the
browser, so the kernel's share should stay well below that.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import time

import ipywidgets as widgets

from bpcore.widgets import autodiff, chain, graph, lstm, memory, mlp, optimization, rnn

# A lesson 09-like accuracy table (the lesson passes what it measured; the explorer only plots it).
ACCURACY = {lag: {"tanh RNN": 0.25 + 0.5 / lag, "LSTM": 0.95 - lag / 400} for lag in (5, 10, 20, 40, 60)}

EXPLORERS = {
    "01 chain": chain.chain_explorer,
    "02 expression": graph.expression_explorer,
    "03 mlp": mlp.explorer,
    "04 optimization": optimization.explorer,
    "05 autodiff": autodiff.explorer,
    "06 radius": rnn.explorer_radius,
    "07 strategies": rnn.explorer_strategies,
    "08 lstm": lstm.explorer,
    "09 memory": lambda: memory.explorer(results=ACCURACY, lag=20, amplitude=3.0, forget_bias=2.0),
}
TEXTS = {"expression": ["x*y + z", "2*(x*y + max(z, w))", "tanh(x*y) * z"],
         "values": ["x=1, y=2, z=3, w=4", "x=3, y=-4, z=2, w=-1"]}


def moves(name: str, control, count: int) -> list:
    """Values for ``control``: ``count`` steps forward from its value, then back to where it started."""
    start = control.value
    if isinstance(control, widgets.widget_selection._Selection):
        values = list(control.options)
        values = [v[1] if isinstance(v, tuple) else v for v in values]
        i = values.index(start)
        forward = [values[(i + k) % len(values)] for k in range(1, count + 1)]
    elif isinstance(control, (widgets.Text, widgets.Textarea)):
        pool = TEXTS.get(name, [start])
        forward = [pool[k % len(pool)] for k in range(count)]
    elif hasattr(control, "step"):
        step = control.step or 1
        forward, v = [], start
        for _ in range(count):
            v = v + step if v + step <= control.max else v - step
            forward.append(type(start)(round(v, 10)))
    else:
        return []
    return forward + forward[-2::-1] + [start]


def measure(factory, count: int) -> dict:
    """Wall ms of every update and the median CPU split (compute, draw, render) of one explorer."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):           # display() outside a kernel prints the image's repr
        explorer = factory()
    walls, costs = [], []
    for name, control in explorer.controls.items():
        for value in moves(name, control, count):
            with contextlib.redirect_stdout(sink):
                start = time.perf_counter()
                control.value = value                # triggers the update, as a move in the page does
                walls.append(1000 * (time.perf_counter() - start))
            costs.append(dict(explorer.cost))
    split = {k: statistics.median(c.get(k, 0.0) for c in costs) for k in ("compute", "draw", "render")}
    return {"updates": len(walls), "median": statistics.median(walls), "max": max(walls), "split": split}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--moves", type=int, default=3, help="steps forward (and back) for every control")
    parser.add_argument("--only", default="", help="comma-separated explorer names (prefixes), e.g. 06,09")
    args = parser.parse_args(argv)
    chosen = [k for k in EXPLORERS if not args.only or any(k.startswith(p) for p in args.only.split(","))]
    print(f"{'explorer':<16} {'updates':>7} {'median ms':>9} {'max ms':>7}   median CPU ms: compute + draw + render")
    for key in chosen:
        r = measure(EXPLORERS[key], args.moves)
        s = r["split"]
        print(f"{key:<16} {r['updates']:>7} {r['median']:>9.0f} {r['max']:>7.0f}   "
              f"{s['compute']:.0f} + {s['draw']:.0f} + {s['render']:.0f}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"wall ms per update in this process (no browser); 1-minute load average {load:.1f} on "
          f"{os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
