"""Drive the lessons' explorers in a real JupyterLab with headless Debian Chromium (through Playwright).

One JupyterLab server (a child process on loopback, stopped by its own PID) and one browser page serve
the whole test session; each lesson is opened there as a temporary copy, run with *Run All*, checked
for errors, and its explorers' controls are moved one by one. After every move the figure must change,
the readout must be the one the explorer's own ``compute``/``draw`` give for the controls' new values
(asked of the lesson's kernel through a second client), and moving back must restore the first state.
Screenshots of each state go to ``results/browser/<lesson>/``; the time from a control change to the
new figure is recorded per explorer.

Nothing here imports playwright at module level: without it the suite skips (or fails in CI, see
``conftest.py``) instead of breaking collection.
"""

from __future__ import annotations

import html
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
RESULTS = ROOT / "results" / "browser"
REQUIRE_ENV = "BPCORE_REQUIRE_BROWSER"  # set (to 1) in CI: a missing browser fails instead of skipping
INSTALL_HINT = ("apt-get update && apt-get install -y --no-install-recommends chromium "
                "&& pip install playwright   (Debian's chromium is used; no browser download)")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
RUNS: list = []  # LessonRun of every notebook checked in this session, for the latency table
SETTLE_S = 10.0  # how long the page may take to show the kernel's latest readout before a mismatch fails
WAIT_POLL_MS = 50  # how often the page is asked whether the new figure is shown (the time comes from its load event)
UPDATE_TIMEOUT_MS = 20_000  # generous: a figure that has not changed by then is a failure, not a slow pass


class ExplorerCheckError(AssertionError):
    """A lesson's explorer did not render, showed an error, or did not respond as it should."""


def lessons() -> list[Path]:
    """Every lesson notebook, found afresh at each run (a lesson that lands is covered without edits)."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def chromium_path() -> str | None:
    """Debian's chromium (or the one named by $CHROMIUM, which then is the only candidate)."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"] if Path(os.environ["CHROMIUM"]).is_file() else None
    for candidate in (shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def missing_requirements() -> str | None:
    """Why the browser suite cannot run here (with how to fix it), or None when it can."""
    problems = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("the playwright package is not installed")
    if chromium_path() is None:
        problems.append(f"Debian's chromium is not installed (no {os.environ.get('CHROMIUM') or '/usr/bin/chromium'})")
    if not problems:
        return None
    return f"browser tests need a real Chromium: {' and '.join(problems)}; install with: {INSTALL_HINT}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------- server

class LabServer:
    """JupyterLab on 127.0.0.1 as a child process, with its config, runtime and settings in a temp dir."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.root = workdir / "root"  # notebooks are copied to root/notebooks, with root/images linked
        (self.root / "notebooks").mkdir(parents=True)
        if (ROOT / "images").is_dir():
            (self.root / "images").symlink_to(ROOT / "images")
        self.runtime = workdir / "runtime"
        settings = workdir / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
        notebook = workdir / "settings" / "@jupyterlab" / "notebook-extension"
        notebook.mkdir(parents=True)  # every cell in the DOM (no windowing), so every explorer can be found
        (notebook / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log = workdir / "jupyterlab.log"

    def start(self, timeout: float = 60.0) -> None:
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(self.workdir / "config"),
                   JUPYTER_RUNTIME_DIR=str(self.runtime), PYTHONHASHSEED="0")
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
               f"--IdentityProvider.token={self.token}", "--allow-root", f"--ServerApp.root_dir={self.root}",
               "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=", "--LabApp.extension_manager=readonly",
               f"--LabApp.user_settings_dir={self.workdir / 'settings'}",
               f"--LabApp.workspaces_dir={self.workdir / 'workspaces'}"]
        self.proc = subprocess.Popen(cmd, env=env, cwd=self.root, stdin=subprocess.DEVNULL,
                                     stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Stop our server (its own PID only) and the kernels it started."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()  # SIGTERM: jupyter_server shuts its kernels down, then exits
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        if self.log.exists():
            RESULTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.log, RESULTS / "jupyterlab.log")

    def kernel_client(self, kernel_id: str):
        """A second client on a lesson's kernel: to ask it what its explorers hold."""
        from jupyter_client import BlockingKernelClient

        kc = BlockingKernelClient()
        kc.load_connection_file(str(self.runtime / f"kernel-{kernel_id}.json"))
        kc.start_channels()
        kc.wait_for_ready(timeout=30)
        return kc


# ------------------------------------------------------------------------------------- kernel probe
# Runs inside the lesson's kernel. Finds the Explorer instances and reports, for each, its controls and
# readout, and the readout that compute/draw give afresh for the current control values (drawn into a
# scratch figure of the same grid, so the explorer's own figure is untouched). With ``_bt_try`` it
# checks candidate values for a text control (the first one that computes and changes the readout).
KERNEL_PROBE = r'''
def _bt_probe(try_control=None, candidates=()):
    import gc, html, json, re, traceback
    import ipywidgets as W
    from bpcore.widgets import Explorer
    from bpcore.plots import new_figure

    def scratch_text(e, settings):
        grids = [ax.get_subplotspec().get_gridspec().get_geometry() for ax in e.fig.axes
                 if ax.get_subplotspec() is not None]
        nrows, ncols = grids[0] if grids else (1, 1)
        w, h = e.fig.get_size_inches()
        fig, _ = new_figure(nrows, ncols, width=w, height=h)
        try:
            return e.draw(fig, e.compute(**settings)) or ""
        except Exception:
            return "probe error: " + traceback.format_exc()

    def shown(c):
        if isinstance(c, W.widgets.widget_selection._Selection):
            return str(c.label)
        if isinstance(c, (W.Checkbox, W.ToggleButton)):
            return bool(c.value)
        return c.value if isinstance(c.value, (int, float, str, bool)) else str(c.value)

    out = []
    for e in sorted((o for o in gc.get_objects() if isinstance(o, Explorer)), key=lambda e: e.model_id or ""):
        settings = e.settings()
        entry = {"model_id": e.model_id, "labels": [c.description for c in e.controls.values()],
                 "names": list(e.controls), "types": [type(c).__name__ for c in e.controls.values()],
                 "shown": [shown(c) for c in e.controls.values()],
                 "continuous": [bool(getattr(c, "continuous_update", True)) for c in e.controls.values()],
                 "readout": html.unescape(re.sub(r"^<pre>|</pre>$", "", e.readout.value)),
                 "fresh": scratch_text(e, settings), "cost": getattr(e, "cost", {})}
        if try_control is not None and try_control in e.controls:
            for cand in candidates:
                text = scratch_text(e, {**settings, try_control: cand})
                if not text.startswith("probe error") and text != entry["fresh"]:
                    entry["candidate"] = cand
                    break
        out.append(entry)
    print("@@BT@@" + json.dumps(out, default=str))
'''


def probe_kernel(kc, try_control=None, candidates=()) -> list[dict]:
    """Run the probe in the lesson's kernel; a list of dicts, one per live Explorer."""
    chunks: list[str] = []

    def hook(msg):
        if msg["header"]["msg_type"] == "stream":
            chunks.append(msg["content"]["text"])
        elif msg["header"]["msg_type"] == "error":
            chunks.append("\n".join(msg["content"]["traceback"]))

    code = KERNEL_PROBE + f"_bt_probe({try_control!r}, {list(candidates)!r})\ndel _bt_probe\n"
    kc.execute_interactive(code, store_history=False, output_hook=hook, timeout=60)
    text = "".join(chunks)
    if "@@BT@@" not in text:
        raise ExplorerCheckError(f"the kernel probe failed:\n{text}")
    return json.loads(text.split("@@BT@@", 1)[1].strip().splitlines()[0])


# ------------------------------------------------------------------------------------------ browser
# In-page helpers. Explorers are found by their shape: a VBox whose children are an HBox of controls,
# an Image (the figure), an Output (tracebacks) and an HTML readout (bpcore.widgets.Explorer). Controls are
# addressed by index.
PAGE_JS = r'''
window.__bt = {
  app() { return window.jupyterapp; },
  nb() { return window.jupyterapp.shell.currentWidget; },
  kernelStatus() {
    const w = this.nb();
    const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return k ? k.status : 'none';
  },
  explorers() {
    const root = this.nb().node;
    const found = [...root.querySelectorAll('.widget-vbox')].filter(v => {
      const c = [...v.children];
      return c.length === 4 && c[0].classList.contains('widget-hbox') && c[1].classList.contains('widget-image') &&
             c[2].classList.contains('widget-output') && c[3].classList.contains('widget-html');
    });
    found.forEach((v, i) => { v.dataset.btExplorer = String(i); });
    return found;
  },
  controlKind(el) {
    const has = s => el.matches(s) || el.querySelector(s);
    if (el.querySelector('.noUi-handle')) return 'slider';
    if (el.matches('.widget-toggle-buttons')) return 'toggle-buttons';
    if (el.matches('.widget-toggle-button')) return 'toggle';
    if (el.matches('.widget-checkbox')) return 'checkbox';
    if (el.matches('.widget-radio')) return 'radio';
    if (has('select')) return 'select';
    if (has('input[type=text]') || has('textarea')) return 'text';
    if (has('input[type=number]')) return 'number';
    return 'unsupported';
  },
  controlValue(el) {
    const kind = this.controlKind(el);
    if (kind === 'slider') { const r = el.querySelector('.widget-readout'); return r ? r.textContent.trim() : ''; }
    if (kind === 'select') {
      const s = el.querySelector('select');
      return s.selectedIndex >= 0 ? s.options[s.selectedIndex].text : '';
    }
    if (kind === 'toggle-buttons') {
      const b = el.querySelector('button.mod-active');
      return b ? b.textContent.trim() : '';
    }
    if (kind === 'toggle') return el.classList.contains('mod-active');
    if (kind === 'checkbox') return el.querySelector('input').checked;
    if (kind === 'radio') {
      const r = el.querySelector('input:checked');
      return r ? r.parentElement.textContent.trim() : '';
    }
    if (kind === 'text' || kind === 'number') return el.querySelector('input, textarea').value;
    return null;
  },
  controlLabel(el) {
    const l = el.querySelector('.widget-label');
    return l ? l.textContent.trim() : (el.matches('button') ? el.textContent.trim() : '');
  },
  state(i) {
    const v = this.explorers()[i];
    const out = v.children[2];
    const img = v.children[1].getAttribute('src') && v.children[1].style.display !== 'none' ? v.children[1] : null;
    const errs = [...out.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')];
    const controls = [...v.children[0].children].map(c => ({
      kind: this.controlKind(c), label: this.controlLabel(c), value: this.controlValue(c)}));
    return {src: img ? img.getAttribute('src') : null, complete: img ? img.complete : false,
            error: errs.map(e => e.innerText).join('\n'), readout: v.children[3].innerText,
            text: img ? '' : out.innerText, controls};
  },
  digest(i) {
    // the picture shown, as its size and a hash of its pixels (the image's src is a new blob URL every update)
    const img = this.explorers()[i].children[1];
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let h = 2166136261;
    for (let k = 0; k < d.length; k++) { h ^= d[k]; h = Math.imul(h, 16777619); }
    return `${c.width}x${c.height}:${(h >>> 0).toString(16)}`;
  },
  arm(i) {
    // t0 is taken by the next input event (listeners below); the image's load event takes the time the new
    // picture is shown, so the page need not be polled every frame (polling would compete with the kernel)
    this.t0 = null; this.armed = true; this.shown = null;
    const img = this.explorers()[i].children[1], old = img.getAttribute('src');
    img.onload = () => {
      if (this.shown === null && img.getAttribute('src') !== old && img.complete) this.shown = performance.now();
    };
  },
  cellReport() {
    const cells = this.nb().content.model.cells;
    const errors = [], notRun = [];
    for (let i = 0; i < cells.length; i++) {
      const c = cells.get(i);
      if (c.type !== 'code' || !c.sharedModel.getSource().trim()) continue;
      const tags = c.getMetadata('tags') || [];
      if (c.executionCount === null) notRun.push(i);
      for (let j = 0; j < c.outputs.length; j++) {
        const o = c.outputs.get(j).toJSON();
        if (o.output_type === 'error' && !tags.includes('raises-exception'))
          errors.push({cell: i, ename: o.ename, evalue: o.evalue,
                       traceback: (o.traceback || []).join('\n').replace(/\x1b\[[0-9;]*m/g, '')});
      }
    }
    return {errors, notRun, count: cells.length};
  },
};
for (const ev of ['keydown', 'change', 'click', 'input', 'pointerdown']) {
  document.addEventListener(ev, () => {
    if (window.__bt.armed) { window.__bt.t0 = performance.now(); window.__bt.armed = false; }
  }, true);
}
'''

WAIT_NEW_FIGURE_JS = r'''
(i) => {
  if (window.__bt.shown !== null) return {t: window.__bt.shown - window.__bt.t0};
  const s = window.__bt.state(i);
  if (s.error) return {error: s.error};
  return false;
}
'''


@dataclass
class Sample:
    lesson: str
    explorer: int
    control: str
    ms: float
    cost: dict = field(default_factory=dict)  # the kernel's CPU ms for this update: compute, draw, render


@dataclass
class LessonRun:
    lesson: str
    seconds: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)
    explorers: int = 0


class Lab:
    """One JupyterLab server and one browser page for the session."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.server = LabServer(workdir)
        self._pw = self.browser = self.page = None

    def start(self) -> None:
        from playwright.sync_api import sync_playwright

        self.server.start()
        self._pw = sync_playwright().start()
        self.browser = self._pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        self.page = self.browser.new_page(viewport={"width": 1280, "height": 1000})
        self.page.goto(f"{self.server.url}/lab?token={self.server.token}", timeout=60_000)
        self.page.wait_for_function("window.jupyterapp && window.jupyterapp.shell", timeout=60_000)
        self.page.evaluate("async () => { await window.jupyterapp.started; await window.jupyterapp.restored; }")
        self.page.evaluate(PAGE_JS)

    def stop(self) -> None:
        for closer in (lambda: self.browser and self.browser.close(), lambda: self._pw and self._pw.stop()):
            try:
                closer()
            except Exception:  # the server must still be stopped
                pass
        self.server.stop()

    # -- one lesson ---------------------------------------------------------------------------------
    def check_notebook(self, source: Path, *, name: str | None = None, results: Path = RESULTS) -> LessonRun:
        """Open a temporary copy of ``source``, run it, and exercise its explorers; raise on any failure."""
        name = name or source.stem
        rel = f"notebooks/{name}.ipynb"
        shutil.copyfile(source, self.server.root / rel)
        shots = results / name
        if shots.exists():
            shutil.rmtree(shots)
        shots.mkdir(parents=True)
        run = LessonRun(name)
        start = time.perf_counter()
        page = self.page
        page.evaluate("async (path) => { const w = await window.jupyterapp.commands.execute("
                      "'docmanager:open', {path, factory: 'Notebook'});"
                      "await w.context.ready; await w.sessionContext.ready; }", rel)
        kc = None
        try:
            page.wait_for_function("window.__bt.kernelStatus() === 'idle'", timeout=60_000)
            page.evaluate("async () => { await window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
            page.wait_for_function("window.__bt.kernelStatus() === 'idle'", timeout=120_000)
            self._check_cells(name)
            kernel_id = page.evaluate("window.__bt.nb().sessionContext.session.kernel.id")
            kc = self.server.kernel_client(kernel_id)
            n = page.evaluate("window.__bt.explorers().length")
            if n == 0:
                raise ExplorerCheckError(f"{name}: no bpcore.widgets.Explorer is shown after Run All")
            run.explorers = n
            for i in range(n):
                self._exercise(run, i, kc, shots)
        except Exception:
            try:  # what the page showed when the check failed
                page.screenshot(path=str(shots / "failure.png"), full_page=True)
            except Exception:
                pass
            raise
        finally:
            if kc is not None:
                kc.stop_channels()
            run.seconds = time.perf_counter() - start
            try:  # not awaited: the kernel stops in the background while the next lesson opens
                page.evaluate("() => { const w = window.__bt.nb();"
                              "if (w) { w.sessionContext.shutdown(); w.dispose(); } }")
            except Exception:  # a crashed page must not hide the failure being raised
                pass
        return run

    def _check_cells(self, name: str) -> None:
        report = self.page.evaluate("window.__bt.cellReport()")
        if report["errors"]:
            e = report["errors"][0]
            raise ExplorerCheckError(f"{name}: cell {e['cell']} shows an error after Run All: "
                                     f"{e['ename']}: {e['evalue']}\n{e['traceback'][-2000:]}")
        if report["notRun"]:
            raise ExplorerCheckError(f"{name}: code cells {report['notRun']} did not run with Run All")

    def _state(self, i: int) -> dict:
        return self.page.evaluate("(i) => window.__bt.state(i)", i)

    def _wait_rendered(self, name: str, i: int) -> dict:
        try:
            self.page.wait_for_function("(i) => { const s = window.__bt.state(i); return s.error || "
                                        "(s.src && s.complete); }", arg=i, timeout=UPDATE_TIMEOUT_MS)
        except Exception as exc:
            raise ExplorerCheckError(f"{name}: explorer {i} shows no figure: {self._state(i)['text'][:2000]}") from exc
        state = self._state(i)
        if state["error"]:
            raise ExplorerCheckError(f"{name}: explorer {i} shows an error:\n{state['error'][-3000:]}")
        return state

    def _exercise(self, run: LessonRun, i: int, kc, shots: Path) -> None:
        name = run.lesson
        first, entry = self._check_readout(name, i, self._wait_rendered(name, i), kc)
        continuous = entry.get("continuous") or [True] * len(first["controls"])
        first_picture = self._picture(i)
        loc = self._locator(i)
        self._shot(run, i, "initial", shots)
        for j, control in enumerate(first["controls"]):
            if control["kind"] == "unsupported":
                continue
            control = {**control, "continuous": continuous[j]}
            main = j == 0  # the main control: two steps out and two back, which must restore the first state
            steps = 2 if main else 1
            forward = []
            for k in range(steps):
                before = self._state(i)
                move = self._move(loc, i, j, control, before, kc, backward=False)
                if move is None:
                    break
                after = self._after_move(run, i, control)
                _, entry = self._check_readout(name, i, after, kc, moved=j, before=before)
                run.samples[-1].cost = entry.get("cost") or {}
                forward.append(move)
                self._shot(run, i, f"{_slug(control['label']) or f'control{j}'}_{k + 1}", shots)
            for move in reversed(forward if main else []):
                before = self._state(i)
                self._move(loc, i, j, control, before, kc, backward=True, undo=move)
                self._after_move(run, i, control)
            if forward and main:
                back, _ = self._check_readout(name, i, self._state(i), kc)
                same_picture = self._picture(i) == first_picture
                if back["readout"] != first["readout"] or not same_picture:
                    raise ExplorerCheckError(
                        f"{name}: explorer {i}: moving '{control['label']}' back did not restore the first "
                        f"state (readout {first['readout']!r} became {back['readout']!r}; figure "
                        f"{'same' if same_picture else 'different'}): draw depends on history")

    def _picture(self, i: int) -> str:
        return self.page.evaluate("(i) => window.__bt.digest(i)", i)

    def _after_move(self, run: LessonRun, i: int, control: dict) -> dict:
        name = run.lesson
        try:
            handle = self.page.wait_for_function(WAIT_NEW_FIGURE_JS, arg=i,
                                                 timeout=UPDATE_TIMEOUT_MS, polling=WAIT_POLL_MS)
        except Exception as exc:
            raise ExplorerCheckError(
                f"{name}: explorer {i}: the figure did not change within {UPDATE_TIMEOUT_MS / 1000:.0f} s after "
                f"moving '{control['label']}' (state: {self._state(i)})") from exc
        result = handle.json_value()
        if "error" in result:
            raise ExplorerCheckError(f"{name}: explorer {i} shows an error after moving '{control['label']}':\n"
                                     f"{result['error'][-3000:]}")
        run.samples.append(Sample(name, i, control["label"] or control["kind"], result["t"]))
        self.page.wait_for_function("window.__bt.kernelStatus() === 'idle'", timeout=60_000)
        self.page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
        return self._state(i)

    def _move(self, loc, i: int, j: int, control: dict, state: dict, kc, *, backward: bool, undo=None):
        """Change control j of explorer i through the page, as a person would; return how to undo it."""
        el = loc.locator(":scope > .widget-hbox > *").nth(j)
        kind = control["kind"]
        page = self.page
        if kind == "slider":
            handle = el.locator(".noUi-handle").first
            if undo is None:
                now, top = handle.get_attribute("aria-valuenow"), handle.get_attribute("aria-valuemax")
                key = "ArrowLeft" if now is not None and now == top else "ArrowRight"
            else:
                key = "ArrowLeft" if undo == "ArrowRight" else "ArrowRight"
            handle.focus()
            page.evaluate("(i) => window.__bt.arm(i)", i)
            handle.press(key)
            return key
        if kind in ("select", "toggle-buttons", "radio"):
            if kind == "select":
                options = el.locator("option")
                current = el.locator("select").evaluate("s => s.selectedIndex")
            else:
                options = el.locator("button" if kind == "toggle-buttons" else "input[type=radio]")
                current = options.evaluate_all(
                    "(els) => els.findIndex(e => e.classList.contains('mod-active') || e.checked)")
            count = options.count()
            if count < 2:
                return None
            if undo is None:
                target = current + 1 if current + 1 < count else current - 1
                if target < 0:
                    return None
                back = current
            else:
                target, back = undo, None
            page.evaluate("(i) => window.__bt.arm(i)", i)
            if kind == "select":
                el.locator("select").select_option(index=target)
            else:
                options.nth(target).click()
            return back
        if kind in ("toggle", "checkbox"):
            page.evaluate("(i) => window.__bt.arm(i)", i)
            (el if kind == "toggle" else el.locator("input")).click()
            return "toggle"
        if kind in ("text", "number"):
            box = el.locator("input, textarea").first
            if undo is None:
                old = box.input_value()
                value = self._text_candidate(i, j, old, kind, kc)
                if value is None:
                    return None
            else:
                old, value = None, undo
            page.evaluate("(i) => window.__bt.arm(i)", i)
            box.fill(value)
            if not control.get("continuous", True):   # the value is sent on Enter: the change starts there
                page.evaluate("() => { window.__bt.t0 = null; window.__bt.armed = true; }")
            box.press("Enter")
            return old
        return None

    def _text_candidate(self, i: int, j: int, old: str, kind: str, kc) -> str | None:
        """A new value for a text box that the explorer's own compute accepts and that changes it."""
        entry = self._kernel_entry(i, self._state(i), kc)
        name = entry["names"][j]
        if kind == "number":
            candidates = [float(old) + 1, float(old) - 1] if old else [1.0]
            candidates = [int(c) if entry["types"][j].endswith("IntText") else c for c in candidates]
        else:
            candidates = [f"({old}) * 2", f"{old} + 1", f"2 * {old}", f"{old} * 2", f"{old}+1", f"sin({old})"]
        found = probe_kernel(kc, name, candidates)
        for e in found:
            if e["model_id"] == entry["model_id"] and "candidate" in e:
                return str(e["candidate"])
        return None

    def _kernel_entry(self, i: int, state: dict, kc) -> dict:
        """The kernel's record of the explorer shown as number ``i`` (matched by labels and readout)."""
        labels = [c["label"] for c in state["controls"]]
        entries = probe_kernel(kc)
        same = [e for e in entries if [str(x) for x in e["labels"]] == labels]
        match = [e for e in same if _norm(e["readout"]) == _norm(state["readout"])]
        if not match:
            raise ExplorerCheckError(
                f"explorer {i}: the readout in the browser {state['readout']!r} is not the readout of any "
                f"explorer in the kernel with controls {labels} "
                f"({[e['readout'] for e in same] or 'none with these controls'})")
        return match[0]

    def _check_readout(self, name: str, i: int, state: dict, kc, moved: int | None = None,
                       before: dict | None = None) -> tuple[dict, dict]:
        """The readout is what compute/draw give for the controls' current values, in browser and kernel.

        The figure, the readout and the controls reach the page as separate widget messages; on a busy
        machine the page can show a new figure beside the previous readout for a while, even after the
        kernel is idle. So a mismatch is read again until ``SETTLE_S`` has passed: a real mismatch
        persists and fails, a page that is still catching up passes. Returns the settled page state and
        the kernel's entry for it.
        """
        deadline = time.monotonic() + SETTLE_S
        while True:
            try:
                return state, self._consistent(name, i, state, kc, moved, before)
            except ExplorerCheckError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)
            self.page.wait_for_function("window.__bt.kernelStatus() === 'idle'", timeout=60_000)
            state = self._state(i)

    def _consistent(self, name: str, i: int, state: dict, kc, moved: int | None, before: dict | None) -> dict:
        entry = self._kernel_entry(i, state, kc)
        if _norm(entry["fresh"]) != _norm(entry["readout"]):
            raise ExplorerCheckError(
                f"{name}: explorer {i}: the readout {entry['readout']!r} is not what compute/draw give for the "
                f"controls' values {dict(zip(entry['names'], entry['shown']))}: {entry['fresh']!r}")
        for c, shown, label in zip(state["controls"], entry["shown"], entry["labels"]):
            if c["kind"] != "unsupported" and not _same_value(c["value"], shown):
                raise ExplorerCheckError(f"{name}: explorer {i}: control '{label}' shows {c['value']!r} in the "
                                         f"browser but holds {shown!r} in the kernel")
        if moved is not None and before is not None:
            if state["controls"][moved]["value"] == before["controls"][moved]["value"]:
                raise ExplorerCheckError(f"{name}: explorer {i}: control '{state['controls'][moved]['label']}' "
                                         "did not change when moved")
        return entry

    def _locator(self, i: int):
        self.page.evaluate("window.__bt.explorers().length")  # (re)numbers the explorers in the page
        return self.page.locator(f'[data-bt-explorer="{i}"]')

    def _shot(self, run: LessonRun, i: int, label: str, shots: Path) -> None:
        path = shots / f"explorer{i}_{label}.png"
        loc = self._locator(i)
        loc.scroll_into_view_if_needed()
        loc.screenshot(path=str(path))
        run.screenshots.append(path)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def _norm(text: str) -> str:
    return " ".join(html.unescape(str(text)).split())


def _same_value(dom, kernel) -> bool:
    """Does the value shown by a control in the page equal the control's value in the kernel?"""
    if isinstance(kernel, bool) or isinstance(dom, bool):
        return bool(dom) == bool(kernel) if isinstance(dom, bool) else str(dom).lower() == str(kernel).lower()
    if isinstance(kernel, (int, float)):
        try:
            shown = float(str(dom).replace("\u2212", "-"))
        except ValueError:
            return False
        decimals = len(str(dom).split(".")[1]) if "." in str(dom) else 0
        return abs(shown - kernel) <= 0.51 * 10.0 ** -decimals + 1e-9 * abs(kernel)
    return _norm(dom) == _norm(kernel)


def latency_table(runs: list[LessonRun]) -> str:
    """Per explorer and control: updates, median and max ms from control change to new figure in the page,
    the kernel's median CPU ms per update (compute + draw + render), which a busy machine inflates less,
    and the kernel's median wall ms for the whole update (those three and sending the figure)."""
    import statistics

    rows = [("lesson", "explorer", "control", "updates", "median ms", "max ms", "kernel cpu ms (c+d+r)",
             "kernel wall ms", "lesson s")]
    for run in runs:
        groups: dict[tuple, list[Sample]] = {}
        for s in run.samples:
            groups.setdefault((s.explorer, s.control), []).append(s)
        if not groups:
            rows.append((run.lesson, "-", "-", "0", "-", "-", "-", "-", f"{run.seconds:.1f}"))
        for (explorer, control), samples in groups.items():
            ms = [s.ms for s in samples]
            costs = [s.cost for s in samples if s.cost]
            kernel = wall = "-"
            if costs:
                wall = f"{statistics.median(c.get('wall', 0.0) for c in costs):.0f}"
                part = {k: statistics.median(c.get(k, 0.0) for c in costs) for k in ("compute", "draw", "render")}
                kernel = f"{sum(part.values()):.0f} ({part['compute']:.0f}+{part['draw']:.0f}+{part['render']:.0f})"
            flag = " > 300 ms" if statistics.median(ms) > 300 else ""
            rows.append((run.lesson, str(explorer), control, str(len(ms)), f"{statistics.median(ms):.0f}{flag}",
                         f"{max(ms):.0f}", kernel, wall, f"{run.seconds:.1f}"))
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def make_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="bpcore-browser-"))
