"""Where the kit finds its files: in a checkout, an editable install, or a non-editable install that copied
only the package into site-packages; and the shared notebook cells, run where the kit is installed."""
import os
import shutil
import subprocess
import sys

import pytest

from mnist_gan_utils import paths
from mnist_gan_utils.notebook_cells import SETUP_CELL
from mnist_gan_utils.paths import OUTPUTS_DIR, PACKAGE_DIR, REPO_ROOT, relative

PROBE = """
import json, mnist_gan_utils
from mnist_gan_utils import CheckpointError, load_pretrained, paths
try:
    load_pretrained("classifier")
    error = None
except CheckpointError as e:
    error = str(e)
print(json.dumps({"package": mnist_gan_utils.__file__, "root": str(paths.REPO_ROOT), "found": paths.KIT_FOUND,
                  "error": error}))
"""


@pytest.fixture(scope="module")
def site_copy(tmp_path_factory):
    """What ``pip install .`` (not -e) leaves: the package alone, in a site-packages of its own."""
    site = tmp_path_factory.mktemp("site-packages")
    shutil.copytree(PACKAGE_DIR, site / "mnist_gan_utils", ignore=shutil.ignore_patterns("__pycache__"))
    return site


def _probe(site, cwd, **env):
    clean = {k: v for k, v in os.environ.items() if k != "MNIST_GAN_KIT_HOME"}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=cwd, env={**clean, "PYTHONPATH": str(site), **env},
                         capture_output=True, text=True, check=True).stdout
    import json
    result = json.loads(out)
    assert result["package"].startswith(str(site)), "the copy, not the editable install, was imported"
    return result


def test_a_non_editable_install_outside_the_kit_says_how_to_install(site_copy, tmp_path):
    r = _probe(site_copy, tmp_path)
    assert not r["found"] and r["root"] == str(tmp_path)   # data/ and outputs/ beside the student's work
    assert "pip install -e ." in r["error"] and "pretrain --" not in r["error"], r["error"]


def test_a_non_editable_install_finds_the_kit_from_inside_a_checkout(site_copy):
    r = _probe(site_copy, REPO_ROOT / "notebooks")
    assert r["found"] and r["root"] == str(REPO_ROOT) and r["error"] is None


def test_a_non_editable_install_follows_MNIST_GAN_KIT_HOME(site_copy, tmp_path):
    r = _probe(site_copy, tmp_path, MNIST_GAN_KIT_HOME=str(REPO_ROOT))
    assert r["found"] and r["root"] == str(REPO_ROOT) and r["error"] is None


def test_the_first_digits_command_outside_the_kit_says_how_to_install(site_copy, tmp_path):
    clean = {k: v for k, v in os.environ.items() if k != "MNIST_GAN_KIT_HOME"}
    r = subprocess.run([sys.executable, "-m", "mnist_gan_utils"], cwd=tmp_path, capture_output=True, text=True,
                       env={**clean, "PYTHONPATH": str(site_copy)})
    assert r.returncode == 1 and "pip install -e ." in r.stderr
    assert not (tmp_path / "outputs").exists(), "nothing trained or written"


def test_relative_shows_paths_inside_the_kit_from_its_root(tmp_path):
    assert relative(OUTPUTS_DIR / "run") == "outputs/run"
    assert relative(tmp_path) == str(tmp_path)
    assert paths.KIT_FOUND


def test_a_config_prints_its_run_folder_relative_to_the_kit():
    from mnist_gan_utils.training import VAEConfig
    config = VAEConfig(run_dir=str(OUTPUTS_DIR / "somewhere"))
    assert "run_dir='outputs/somewhere'" in str(config) and str(REPO_ROOT) not in str(config)
    assert str(OUTPUTS_DIR) in repr(config)   # repr stays exact


def test_the_setup_cell_does_nothing_where_the_kit_is_installed(capsys):
    path = list(sys.path)
    exec(compile(SETUP_CELL, "setup", "exec"), {})
    assert capsys.readouterr().out == "Setup: mnist_gan_utils is importable: nothing to do\n"
    assert sys.path == path
