"""The lessons as a student sees them: a JupyterLab server on localhost and a headless Chromium driven by
Playwright, which opens a notebook, runs all its cells from JupyterLab's own command and then reads the page.

    with JupyterLab(root, env, log) as lab, Browser() as browser:
        report = browser.run_all(lab, "02_gan_training.ipynb", timeout=600)
        assert not report.problems, "\\n".join(report.problems)

The system's Chromium is used (``/usr/bin/chromium`` from Debian's package, or ``MNIST_GAN_KIT_CHROMIUM``):
Playwright's own browser download is never needed. ``why_no_browser()`` says what is missing, if anything.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

# What a student would see instead of a widget, or a failed one
WIDGET_FAILURES = ("Error displaying widget", "IProgress not found", "HBox(children=", "FloatProgress(value=")

# What a widget whose model never arrives shows, for ever
LOADING = "Loading widget..."

# Installed before the page's own scripts: remembers every progress bar and widget failure that appeared in a
# cell, even those that are gone by the end (the kit's bars close when their epoch ends).
OBSERVER = """
window.__kit = {bars: {}, failures: []};
const cellIndex = n => { const c = n.closest && n.closest('.jp-Notebook .jp-Cell');
  return c ? [...c.parentNode.children].filter(x => x.classList.contains('jp-Cell')).indexOf(c) + 1 : 0; };
new MutationObserver(records => { for (const r of records)
  for (const n of r.type === 'characterData' ? [r.target] : r.addedNodes) {
  const el = n.nodeType === 1 ? n : n.parentElement;
  if (!el) continue;
  for (const bar of [el.matches('.widget-hprogress') ? el : null, ...el.querySelectorAll('.widget-hprogress')])
    if (bar) { const i = cellIndex(bar); window.__kit.bars[i] = (window.__kit.bars[i] || 0) + 1; }
  const text = el.textContent || '';
  for (const bad of %s) if (text.includes(bad) && el.closest('.jp-OutputArea'))
    window.__kit.failures.push([cellIndex(el), bad]);
}}).observe(document, {subtree: true, childList: true, characterData: true});
""" % json.dumps(WIDGET_FAILURES)

# After the run: what each cell holds, from the notebook's model (outputs) and from the page (rendering).
READ_CELLS = """async () => {
  const panel = window.jupyterapp.shell.currentWidget;
  const images = [...panel.node.querySelectorAll('.jp-OutputArea-output img')];
  await Promise.all(images.map(i => i.complete ? i.decode().catch(() => null) : new Promise(r => { i.onload = i.onerror = r; })));
  return panel.content.widgets.map((cell, i) => {
    const m = cell.model, outputs = m.type === 'code' ? m.outputs.toJSON() : [];
    return {index: i + 1, type: m.type, first_line: m.sharedModel.getSource().split('\\n')[0],
      ran: m.type !== 'code' || m.executionCount !== null || !m.sharedModel.getSource().trim(),
      errors: outputs.filter(o => o.output_type === 'error').map(o => `${o.ename}: ${o.evalue}`),
      stream: outputs.filter(o => o.output_type === 'stream').map(o => [].concat(o.text).join('')).join(''),
      shown_sources: outputs.filter(o => String([].concat((o.data || {})['text/markdown'] || '').join(''))
                                           .trimStart().startsWith('```')).length,
      rendered_code: cell.node.querySelectorAll('.jp-OutputArea-output.jp-RenderedMarkdown pre').length,
      images: [...cell.node.querySelectorAll('.jp-OutputArea-output img')].map(i => i.naturalWidth),
      text: [...cell.node.querySelectorAll('.jp-OutputArea-output')].map(o => o.innerText).join('\\n')};
  });
}"""


def chromium() -> str | None:
    return os.environ.get("MNIST_GAN_KIT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def why_no_browser() -> str | None:
    """None where the browser test can run, else what is missing and how to install it."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed: python -m pip install -r requirements-dev.txt"
    if not chromium():
        return "no Chromium found: apt-get install chromium (as root), or set MNIST_GAN_KIT_CHROMIUM"
    return None


@dataclass
class Report:
    """One notebook's run in the page: what went wrong (each naming the notebook and the cell) and what it
    printed."""
    notebook: str
    cells: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    bars: dict = field(default_factory=dict)
    stream: str = ""

    def summary(self) -> str:
        """What the page showed, for the test's log: so a pass can be seen to have checked something."""
        code = [c for c in self.cells if c["type"] == "code"]
        return (f"{self.notebook}: {sum(c['ran'] for c in code)}/{len(code)} code cells ran; "
                f"{sum(len(c['images']) for c in self.cells)} images rendered; "
                f"{sum(c['rendered_code'] for c in self.cells)} source listings rendered as code; "
                f"progress bars drawn as widgets in cells {sorted(self.bars) or 'none'}; "
                f"{len(self.problems)} problems")

    def add(self, cell: dict | int, what: str) -> None:
        if isinstance(cell, dict):
            self.problems.append(f"{self.notebook}, cell {cell['index']} ({cell['first_line'][:60]!r}): {what}")
        else:
            self.problems.append(f"{self.notebook}, cell {cell}: {what}")


class JupyterLab:
    """A JupyterLab server for ``root`` on a free localhost port with a token, its settings and workspaces in
    ``root``'s sibling folder, and its log in ``log``. Notebooks open with every cell in the page (no
    windowing), so that a cell scrolled out of view is still there to check."""

    def __init__(self, root: Path, env: dict, log: Path):
        self.root, self.env, self.log = root, env, log
        self.token = secrets.token_hex(16)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "JupyterLab":
        state = self.root.parent / "jupyterlab_state"
        settings = {"@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
                    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False}}
        for plugin, values in settings.items():
            path = state / "settings" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = {**self.env, "JUPYTERLAB_SETTINGS_DIR": str(state / "settings"),
               "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"), "JUPYTER_RUNTIME_DIR": str(state / "runtime")}
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
             "--ServerApp.port_retries=0", "--allow-root", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={self.root}", "--LabApp.expose_app_in_browser=True"],
            cwd=self.root, env=env, stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}; its log: {self.log}")
            try:
                urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2)
                return self
            except OSError:
                time.sleep(0.5)
        self.__exit__()
        raise RuntimeError(f"JupyterLab did not answer within 120 s; its log: {self.log}")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log_file.close()


class Browser:
    """Headless Chromium (the system's) driven by Playwright, one page per notebook."""

    def __enter__(self) -> "Browser":
        from playwright.sync_api import sync_playwright
        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(executable_path=chromium(), headless=True,
                                                      args=["--no-sandbox", "--disable-dev-shm-usage"])
        return self

    def __exit__(self, *exc) -> None:
        self.browser.close()
        self.playwright.stop()

    def run_all(self, lab: JupyterLab, notebook: str, timeout: float, screenshot: Path | None = None,
                while_running=None) -> Report:
        """Open ``notebook`` (relative to the server's root), run all its cells with JupyterLab's Run All,
        wait until they have run, save it, and report what the page shows. ``while_running(page)`` is called
        about every 0.2 s until then (for a screenshot mid-training)."""
        page = self.browser.new_page(viewport={"width": 1280, "height": 900})
        page.add_init_script(OBSERVER)
        page.set_default_timeout(120_000)
        report = Report(notebook)
        try:
            page.goto(f"{lab.url}/lab/tree/{notebook}?reset&token={lab.token}")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget "
                                   "&& window.jupyterapp.shell.currentWidget.sessionContext")
            page.evaluate("async () => { const p = window.jupyterapp.shell.currentWidget; await p.context.ready;"
                          " await p.sessionContext.ready; window.jupyterapp.shell.collapseLeft(); }")
            page.evaluate("() => { window.__ran = undefined; window.jupyterapp.commands.execute("
                          "'notebook:run-all-cells').then(r => window.__ran = String(r), e => window.__ran = "
                          "'failed: ' + e); }")
            deadline = time.monotonic() + timeout
            while page.evaluate("() => window.__ran") is None:
                if time.monotonic() > deadline:
                    report.add(0, f"still running after {timeout:.0f} s")
                    break
                if while_running is not None:
                    while_running(page)
                page.wait_for_timeout(200)
            page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
            try:  # a widget displayed by the last cell may still be on its way
                page.wait_for_function(f"() => !document.body.innerText.includes({LOADING!r})", timeout=5_000)
            except Exception:  # noqa: BLE001 - reported below, per cell
                pass
            self._read(page, report)
            if screenshot is not None:
                self._screenshot(page, report, screenshot)
        finally:
            page.close()
        return report

    @staticmethod
    def _read(page, report: Report) -> None:
        report.cells = page.evaluate(READ_CELLS)
        seen = page.evaluate("() => window.__kit")
        report.bars = {int(k): v for k, v in seen["bars"].items()}
        for cell_index, failure in {tuple(f) for f in seen["failures"]}:
            report.add(next((c for c in report.cells if c["index"] == cell_index), cell_index),
                       f"a widget did not render ({failure!r})")
        for cell in report.cells:
            for error in cell["errors"]:
                report.add(cell, f"raised {error}")
            if not cell["ran"] and not cell["errors"]:
                report.add(cell, "did not run (an earlier cell failed, or Run All stopped)")
            if any(width == 0 for width in cell["images"]):
                report.add(cell, f"{cell['images'].count(0)} of its {len(cell['images'])} images did not render")
            if cell["rendered_code"] < cell["shown_sources"]:
                report.add(cell, f"shows {cell['shown_sources']} source listings as markdown, "
                                 f"{cell['rendered_code']} rendered as code")
            if LOADING in cell["text"]:
                report.add(cell, f"a widget did not render (still {LOADING!r} after the cells had run)")
            if any(bad in cell["text"] for bad in WIDGET_FAILURES) and not any(
                    cell["index"] == i for i, _ in seen["failures"]):
                report.add(cell, "shows a widget's text fallback instead of the widget")
        report.stream = "".join(cell["stream"] for cell in report.cells)

    @staticmethod
    def _screenshot(page, report: Report, path: Path) -> None:
        """The page scrolled to the first failing cell, else to the last cell with a figure."""
        broken = [c["index"] for c in report.cells if c["errors"] or 0 in c["images"]]
        figures = [c["index"] for c in report.cells if c["images"]]
        target = (broken or figures[-1:] or [1])[0]
        page.evaluate("i => window.jupyterapp.shell.currentWidget.content.widgets[i - 1].node"
                      ".scrollIntoView({block: 'center'})", target)
        page.wait_for_timeout(300)
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path))
