"""Every notebook runs top to bottom under papermill (small parameters for training), from another
working directory, where no browser is (else tests/test_browser.py runs it in JupyterLab instead); and every
notebook follows the kit's conventions."""
import ast
import importlib.util
import json
import re
from pathlib import Path

import pytest

from jupyterlab_page import why_no_browser
from mnist_gan_utils.notebook_cells import SETUP_CELL, colab_url, header
from mnist_gan_utils.paths import NOTEBOOKS_DIR, README_PATH, REPO_ROOT

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
SMALL = {
    "02_gan_training.ipynb": dict(EPOCHS=1, MAX_STEPS_PER_EPOCH=3, TRAIN_SIZE=1000, N_SCORE=200),
    "04_classifier_evaluation.ipynb": dict(N_EVAL=1000, N_PANEL=20),
    "05_latent_code_predictor.ipynb": dict(TRAIN=True, EPOCHS=1, MAX_STEPS_PER_EPOCH=3, CANDIDATES=2000,
                                           N_ACCURACY=20),
    "06_improving_a_gan.ipynb": dict(N_SAMPLES=500, RETRAIN="averaged_generator", MAX_STEPS_PER_EPOCH=3,
                                     TRAIN_SIZE=1000),
    "07_flow_matching.ipynb": dict(N_SWEEP=100, RETRAIN=True, EPOCHS=1, MAX_STEPS_PER_EPOCH=3, TRAIN_SIZE=1000),
    "08_comparison.ipynb": dict(N_SAMPLES=500, FRAMES=3),
}


def _cells(path):
    return json.loads(path.read_text())["cells"]


def test_the_series_is_complete():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07", "08"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_conventions(path):
    cells = _cells(path)
    first = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown" and first.startswith("# ")
    assert first.startswith(header(path.name, first.partition("\n")[0])), \
        "the title, then the Colab badge and the GPU line: run `python -m mnist_gan_utils.notebook_cells`"
    assert "".join(cells[1]["source"]) == SETUP_CELL and cells[1]["metadata"].get("cellView") == "form", \
        "cell 2 is the shared setup cell: run `python -m mnist_gan_utils.notebook_cells`"
    params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    for node in ast.parse("".join(params[0]["source"])).body:   # only literal values
        assert isinstance(node, ast.Assign), ast.dump(node)
        ast.literal_eval(node.value)
    assert not any("injected-parameters" in c.get("metadata", {}).get("tags", []) for c in cells)
    for c in cells[2:]:  # lessons call the package; no training or model code of their own (but the student's)
        if c["cell_type"] == "code" and "exercise" not in c["metadata"].get("tags", []):
            source = "".join(c["source"])
            assert "NBVAL_" not in source, "nbval markers are cell tags (nbval-check-output), not comments"
            tree = ast.parse("".join(line for line in c["source"] if not line.startswith("%")))
            assert not any(isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.For, ast.While)) for n in ast.walk(tree))
    if path.name not in collect_ignore_names():  # nbval re-runs it: some outputs must be checked
        assert any("nbval-check-output" in c.get("metadata", {}).get("tags", []) for c in cells)


def collect_ignore_names():
    """The notebooks nbval does not re-run (the root conftest.py's ``collect_ignore``)."""
    spec = importlib.util.spec_from_file_location("root_conftest", REPO_ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {Path(p).name for p in module.collect_ignore}


def test_readme_colab_badges_use_the_one_repository_url():
    readme = README_PATH.read_text()
    for path in NOTEBOOKS:
        assert colab_url(path.name) in readme


# What a committed notebook may store: small files, no progress bars or widget state, no stderr floods,
# and no paths of the machine that ran it (those would show a student someone else's folders).
MAX_BYTES = 1_000_000
MAX_STDERR_CHARS = 2_000
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/(?:[\w.-]+/)+[\w.-]*")


def _text_outputs(cell):
    for o in cell.get("outputs", []):
        if o["output_type"] == "stream":
            yield o["name"], "".join(o["text"])
        elif o["output_type"] == "error":
            yield "error", "\n".join(o["traceback"])
        else:
            for mime in ("text/plain", "text/html", "text/markdown"):
                if mime in o.get("data", {}):
                    yield mime, "".join(o["data"][mime])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_are_small_clean_and_hold_no_machine_paths(path):
    assert path.stat().st_size <= MAX_BYTES, f"{path.name}: {path.stat().st_size:,} bytes stored (limit {MAX_BYTES:,})"
    stderr, paths = 0, []
    for cell in _cells(path):
        assert "execution" not in cell.get("metadata", {}), \
            f"{path.name} stores execution timestamps: run python -m mnist_gan_utils.notebook_cells"
        for o in cell.get("outputs", []):
            assert "application/vnd.jupyter.widget-view+json" not in o.get("data", {}), "a widget's state was stored"
        for kind, text in _text_outputs(cell):
            stderr += len(text) if kind == "stderr" else 0
            paths += ABSOLUTE_PATH.findall(text)
    assert stderr <= MAX_STDERR_CHARS, f"{path.name}: {stderr:,} characters of stderr stored (progress bars?)"
    assert not paths, f"{path.name} stores paths of the machine that ran it: {paths[:3]} (print kit.paths.relative(...))"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_source_a_cell_shows_is_in_its_stored_output(path):
    """A lesson that says "here is the code" shows it on the web too: every name a cell passes to
    ``show_source`` is defined in that cell's stored output (a cell displays only its last value)."""
    for i, cell in enumerate(_cells(path)):
        calls = re.findall(r"show_source\(([^)]*)\)", "".join(cell["source"])) if cell["cell_type"] == "code" else []
        shown = "".join(text for _, text in _text_outputs(cell))
        for name in (n.strip().split(".")[-1] for call in calls for n in call.split(",")):
            assert re.search(rf"(def|class) {name}\b", shown), f"{path.name}, cell {i}: the source of {name} is not shown"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, tmp_path, kit_home):
    if why_no_browser() is None:
        pytest.skip("run with Run All in JupyterLab by tests/test_browser.py")
    params = dict(SMALL.get(path.name, {}))
    said = _execute(path, tmp_path / path.name, params, tmp_path)
    if path.name == "02_gan_training.ipynb":  # its run folder is this test's own: it trains, every time
        assert ": a new run" in said and "loaded, nothing to train" not in said
        assert list((kit_home / "outputs" / "dcgan").glob("*/checkpoint.pt"))


def _execute(path, out, params, cwd) -> str:
    """Run a notebook as papermill does, from ``cwd``; return what its cells printed."""
    import papermill as pm
    pm.execute_notebook(str(path), str(out), parameters=params, kernel_name="python3", cwd=str(cwd),
                        progress_bar=False)
    return "".join("".join(o.get("text", "")) for c in _cells(out) for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")


@pytest.mark.slow
def test_a_student_edits_the_learning_rate_and_runs_notebook_02_again(tmp_path, kit_home):
    """Run all; change LR, run all; change it back, run all: never an error. Each setting trains in a run
    folder of its own, and the notebook says whether it started, continued or reloaded a run."""
    home = kit_home
    path = NOTEBOOKS_DIR / "02_gan_training.ipynb"
    small = SMALL[path.name]
    said = [_execute(path, tmp_path / f"run{i}.ipynb", {**small, "LR": lr}, tmp_path)
            for i, lr in enumerate((2e-4, 1e-3, 2e-4))]
    assert ": a new run" in said[0] and ": a new run" in said[1]
    assert "has finished 1 epoch: loaded, nothing to train" in said[2]
    runs = sorted((home / "outputs" / "dcgan").iterdir())
    assert len(runs) == 2
    for run in runs:
        assert (run / "checkpoint.pt").exists() and (run / "epoch_001.png").exists() and (run / "training.gif").exists()
    assert "your run:" in said[0] and "models/generator.pth:" in said[0]


# The figures the prose states: tests/test_prose_figures.py.


def exercise_cells(path):
    """(the student's cell, the folded answer after it) for each exercise of a lesson."""
    cells = _cells(path)
    return [("".join(c["source"]), "".join(cells[i + 1]["source"])) for i, c in enumerate(cells)
            if "exercise" in c["metadata"].get("tags", [])]


@pytest.mark.parametrize("path", NOTEBOOKS[:7], ids=lambda p: p.name)
def test_every_lesson_has_an_exercise_whose_stub_runs_and_whose_folded_answer_passes(path, capsys):
    """Left as a stub, the student's cell says "not written yet" and does not stop Run all; the answer folded
    under it passes the same check (so the notebook's answer and the package's check agree)."""
    from mnist_gan_utils.exercises import EXERCISES
    found = exercise_cells(path)
    assert found, f"{path.name} has no cell tagged 'exercise'"
    for student, answer in found:
        names = re.findall(r'^check\("(\w+)", \1\);?$', student, re.M)
        assert names and set(names) <= EXERCISES.keys(), student
        assert all(EXERCISES[n].lesson == path.name[:2] for n in names), names
        scope = {}
        exec(student, scope)  # the stub, as stored: the checks print and return False
        assert capsys.readouterr().out.count("not written yet") == len(names)
        code = answer.partition("```python\n")[2].partition("```")[0]
        assert answer.startswith("<details><summary>Answer</summary>") and code, "the answer, folded, after the cell"
        imports = "\n".join(line for line in student.splitlines() if line.startswith(("import ", "from ")))
        exec(imports + "\nimport torch\n" + code, scope)
        assert all(scope["check"](n, scope[n]) for n in names), names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_lesson_says_what_you_learn_and_ends_with_questions(path):
    cells = _cells(path)
    first, last = "".join(cells[0]["source"]), "".join(cells[-1]["source"])
    assert "What you will learn" in first and re.search(r"\d+ (seconds|minutes?)", first), \
        "the first cell says what the lesson teaches and how long it takes"
    questions, _, answers = last.partition("## Questions")[2].partition("<details>")
    assert 2 <= len(re.findall(r"^\d\. ", questions, re.M)) <= 4, "2 to 4 questions at the end"
    assert "</details>" in answers and len(re.findall(r"^\d\. ", answers, re.M)) == \
        len(re.findall(r"^\d\. ", questions, re.M)), "each question's answer, folded in <details>"
