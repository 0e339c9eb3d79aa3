"""Where things live. Every path in the kit comes from here, never from the working directory alone.

The kit's root is the folder that holds ``models/manifest.json`` next to ``mnist_gan_utils/``: the
package's own parent in a checkout or an editable install (``pip install -e .``). A non-editable
``pip install .`` copies only the package into site-packages; the root is then ``MNIST_GAN_KIT_HOME``
when set, else the working directory or the first of its parents that is a checkout of the kit.
"""
import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _is_kit(folder: Path) -> bool:
    return (folder / "models" / "manifest.json").is_file() and (folder / "mnist_gan_utils").is_dir()


def _find_root() -> tuple[Path, bool]:
    """The kit's root, and whether it holds the pretrained models."""
    if home := os.environ.get("MNIST_GAN_KIT_HOME"):
        root = Path(home).expanduser().resolve()
        return root, _is_kit(root)
    cwd = Path.cwd()
    for folder in (PACKAGE_DIR.parent, cwd, *cwd.parents):
        if _is_kit(folder):
            return folder, True
    return cwd, False  # data/ and outputs/ then land beside the student's work, never in site-packages


REPO_ROOT, KIT_FOUND = _find_root()
DATA_DIR = REPO_ROOT / "data"
MODELS_DIR = REPO_ROOT / "models"
OUTPUTS_DIR = REPO_ROOT / "outputs"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
MANIFEST_PATH = MODELS_DIR / "manifest.json"
README_PATH = REPO_ROOT / "README.md"

# The kit's public repository: the Colab badges in the README and the notebooks, and the notebooks' setup
# cell, are built from it (mnist_gan_utils.notebook_cells; a test keeps them in step with this line).
REPO_URL = "https://github.com/mnist-gan-kit/mnist-gan-kit"

INSTALL_HINT = ("the kit's pretrained models live in its checkout, not in the installed package: from the kit's "
                "folder run `pip install -e .` (or set MNIST_GAN_KIT_HOME to that folder)")


def relative(path) -> str:
    """``path`` relative to the kit's root when it lies inside it (what notebooks print, so that their
    stored outputs hold no paths of the machine that ran them); otherwise unchanged."""
    path = Path(path)
    try:
        return path.resolve().relative_to(REPO_ROOT.resolve()).as_posix()
    except ValueError:
        return str(path)
