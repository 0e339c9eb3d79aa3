"""Where things live. Every path in the kit comes from here, never from the working directory."""
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
DATA_DIR = REPO_ROOT / "data"
MODELS_DIR = REPO_ROOT / "models"
OUTPUTS_DIR = REPO_ROOT / "outputs"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
MANIFEST_PATH = MODELS_DIR / "manifest.json"

# The kit's public repository: the Colab badges in the README and the notebooks' setup cells use it
# (a test keeps them in step with this line).
REPO_URL = "https://github.com/mnist-gan-kit/mnist-gan-kit"
README_PATH = REPO_ROOT / "README.md"
