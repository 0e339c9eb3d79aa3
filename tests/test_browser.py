"""Every lesson in a real JupyterLab, run with Run All in a headless Chromium: no error output, every image
rendered, the progress bars drawn as widgets, each displayed source rendered as code. This run of each
lesson replaces papermill's (tests/test_notebooks.py runs them through papermill only where no browser is).

    python -m pytest tests/test_browser.py        # screenshots and the server's log: outputs/browser/

Skipped, with the reason, where Playwright or Chromium is missing (``apt-get install chromium`` as root)."""
import json

import nbformat
import pytest

import jupyterlab_page as jl
from mnist_gan_utils.paths import NOTEBOOKS_DIR, REPO_ROOT
from test_notebooks import NOTEBOOKS, SMALL

pytestmark = pytest.mark.skipif(jl.why_no_browser() is not None, reason=str(jl.why_no_browser()))

SHOTS = REPO_ROOT / "outputs" / "browser"  # overwritten by each run, like the rest of outputs/
# 02 trains long enough in the page (2 epochs of 40 steps) to be seen mid-epoch, from the pretrained weights
# (a setting of its parameters cell) so that its live grid shows digits; papermill trains it from scratch
# (tests/test_notebooks.py::test_a_student_edits_the_learning_rate_and_runs_notebook_02_again)
PAGE = {**SMALL, "02_gan_training.ipynb": {**SMALL["02_gan_training.ipynb"], "EPOCHS": 2, "MAX_STEPS_PER_EPOCH": 40,
                                           "TRAIN_SIZE": 40 * 128, "START_FROM_PRETRAINED": True}}
TRAINS = {"02_gan_training.ipynb", "05_latent_code_predictor.ipynb", "06_improving_a_gan.ipynb",
          "07_flow_matching.ipynb"}  # with PAGE's parameters these show progress bars


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One server and one browser for the module; the kit's home (run folders) and the server's root
    (the parameterised copies) are temporary."""
    import os
    base = tmp_path_factory.mktemp("browser")
    home, root = base / "kit", base / "root"
    home.mkdir(), root.mkdir()
    for part in ("models", "data", "mnist_gan_utils", "notebooks"):
        (home / part).symlink_to(REPO_ROOT / part)
    env = {**os.environ, "MNIST_GAN_KIT_HOME": str(home), "MNIST_GAN_KIT_PROGRESS": "1"}
    with jl.JupyterLab(root, env, SHOTS / "jupyterlab.log") as server, jl.Browser() as browser:
        yield server, browser, home


def parameterised_copy(path, root, params):
    """What a student's Run All runs after editing the parameters cell: papermill's injected-parameters
    cell, written without executing anything."""
    import papermill as pm
    pm.execute_notebook(str(path), str(root / path.name), parameters=params, prepare_only=True,
                        kernel_name="python3", progress_bar=False)
    return path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_lesson_runs_in_jupyterlab(path, lab):
    server, browser, home = lab
    name = parameterised_copy(path, server.root, PAGE.get(path.name, {}))
    during = MidTraining(SHOTS / "02_mid_training.png", epochs_done=1) if path.name == "02_gan_training.ipynb" \
        else None
    report = browser.run_all(server, name, timeout=600, screenshot=SHOTS / path.with_suffix(".png").name,
                             while_running=during)
    print(report.summary())
    assert not report.problems, "\n".join(report.problems)
    if path.name in TRAINS:
        assert report.bars, f"{path.name}: no progress bar was drawn as a widget while it trained"
    if path.name == "02_gan_training.ipynb":  # its run folder is this module's own: it trains, every time
        assert ": a new run" in report.stream and "loaded, nothing to train" not in report.stream
        assert list((home / "outputs" / "dcgan").glob("*/checkpoint.pt"))
        assert during.taken, "no moment with both a progress bar and the live grid on the page"


class MidTraining:
    """Saves one screenshot of the page while a progress bar has moved and the live grid of the
    ``epochs_done``-th epoch is above it."""

    def __init__(self, path, epochs_done: int):
        self.path, self.epochs_done, self.taken = path, epochs_done, False

    def __call__(self, page):
        if self.taken:
            return
        bar = page.query_selector(".jp-OutputArea .widget-hprogress")
        if bar is None or not bar.evaluate(
                """(b, done) => { const cell = b.closest('.jp-Cell'), text = cell.innerText;
                     const moved = /\\b[1-9]\\d*\\/\\d+\\s/.test(b.closest('.widget-hbox').innerText);
                     return moved && !!cell.querySelector('.jp-OutputArea-output img')
                            && (text.match(/^epoch \\d+\\/\\d+: \\d+ steps/gm) || []).length >= done; }""", self.epochs_done):
            return
        bar.evaluate("b => b.closest('.jp-Cell').scrollIntoView({block: 'end'})")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(self.path))
        self.taken = True


def fixture_notebook(root, name, *cells):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (root / name).write_text(nbformat.writes(nb))
    return name


WIDGET = {"application/vnd.jupyter.widget-view+json": {"model_id": "no-such-model", "version_major": 2,
                                                       "version_minor": 0}, "text/plain": "a widget"}


@pytest.mark.slow
def test_the_browser_test_names_the_notebook_and_cell_that_failed(lab):
    """The checks above can fail: a cell that raises (and the cell it stops), a widget with no model behind
    it and an image that does not decode are each reported with their notebook and cell; cells that render
    (text, a source listing in markdown) are not."""
    server, browser, _ = lab
    raises = fixture_notebook(server.root, "raises.ipynb", "x = 1", "raise ValueError('a broken lesson')",
                              "print('never runs')")
    report = browser.run_all(server, raises, timeout=120)
    assert report.problems[0].startswith("raises.ipynb, cell 2 (\"raise ValueError") and \
        report.problems[0].endswith("raised ValueError: a broken lesson"), report.problems
    assert any("raises.ipynb, cell 3" in p and "did not run" in p for p in report.problems)
    broken = fixture_notebook(
        server.root, "broken_widget.ipynb", "print('fine')",
        f"from IPython.display import display\ndisplay({json.dumps(WIDGET)}, raw=True)",
        "display({'image/png': 'bm90IGEgcG5n'}, raw=True)",
        "display({'text/markdown': '```python\\nx = 1\\n```', 'text/plain': 'x = 1'}, raw=True)")
    report = browser.run_all(server, broken, timeout=120)
    problems = "\n".join(report.problems)
    assert "broken_widget.ipynb, cell 2" in problems and "a widget did not render" in problems, problems
    assert "broken_widget.ipynb, cell 3" in problems and "images did not render" in problems, problems
    assert "cell 1" not in problems and "cell 4" not in problems, problems  # rendered markdown passes
