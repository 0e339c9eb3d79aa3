"""Every notebook runs top to bottom under papermill (small parameters for training), from another
working directory; and every notebook follows the kit's conventions."""
import ast
import json

import pytest

from mnist_gan_utils.paths import NOTEBOOKS_DIR, OUTPUTS_DIR, README_PATH, REPO_URL

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
SMALL = {
    "02_gan_training.ipynb": dict(EPOCHS=1, MAX_STEPS_PER_EPOCH=3, TRAIN_SIZE=1000, RUN_DIR="ci_notebook_gan",
                                  OVERWRITE=True),
    "04_classifier_evaluation.ipynb": dict(N_EVAL=1000, N_PANEL=20),
    "05_latent_code_predictor.ipynb": dict(TRAIN=True, EPOCHS=1, MAX_STEPS_PER_EPOCH=3, CANDIDATES=2000,
                                           N_ACCURACY=20),
    "06_comparison.ipynb": dict(N_SAMPLES=500, FRAMES=3),
}


def _cells(path):
    return json.loads(path.read_text())["cells"]


def test_the_series_is_complete():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_conventions(path):
    cells = _cells(path)
    assert cells[0]["cell_type"] == "markdown" and cells[0]["source"][0].startswith("# ")
    params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    for node in ast.parse("".join(params[0]["source"])).body:   # only literal values
        assert isinstance(node, ast.Assign), ast.dump(node)
        ast.literal_eval(node.value)
    assert not any("injected-parameters" in c.get("metadata", {}).get("tags", []) for c in cells)
    setup = "".join(cells[1]["source"])
    assert "'google.colab' in sys.modules" in setup.replace('"', "'") and REPO_URL in setup
    for c in cells:  # lessons call the package; no training or model code of their own
        if c["cell_type"] == "code":
            tree = ast.parse("".join(line for line in c["source"] if not line.startswith("%")))
            assert not any(isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.For, ast.While)) for n in ast.walk(tree))


def test_readme_colab_badges_use_the_one_repository_url():
    readme = README_PATH.read_text()
    for path in NOTEBOOKS:
        assert f"{REPO_URL.replace('https://github.com/', 'https://colab.research.google.com/github/')}" \
               f"/blob/main/notebooks/{path.name}" in readme


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, tmp_path):
    import papermill as pm
    params = dict(SMALL.get(path.name, {}))
    pm.execute_notebook(str(path), str(tmp_path / path.name), parameters=params, kernel_name="python3",
                        cwd=str(tmp_path), progress_bar=False)
    if path.name.startswith("02"):
        run = OUTPUTS_DIR / "ci_notebook_gan"
        assert (run / "checkpoint.pt").exists() and (run / "epoch_001.png").exists() and (run / "training.gif").exists()
