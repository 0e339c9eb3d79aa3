"""The cells every lesson shares, written once: the "Open in Colab" badge under the title, the line on
GPU runtimes, and the setup cell that makes the kit importable in Colab, Kaggle, Binder or a plain Jupyter.

All are built from :data:`~mnist_gan_utils.paths.REPO_URL`. After changing it (a fork, a mirror) or the
text below, write them into every notebook with ``python -m mnist_gan_utils.notebook_cells``; a test
fails while any notebook differs.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .paths import NOTEBOOKS_DIR, REPO_URL

URL_ENV = "MNIST_GAN_KIT_URL"  # where the setup cell fetches the kit from, instead of REPO_URL
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"

GPU_LINE = ("*GPU:* in Colab, **Runtime → Change runtime type → T4 GPU** before the first cell. Training then runs on "
            "the GPU wherever `DEVICE` is `None` or `\"cuda\"`: 02 by default; in 04 to 07 set `DEVICE = None` "
            "with `TRAIN = True` or `RETRAIN`. Loading the pretrained models and sampling need no GPU. GPU timings "
            "are not measured yet.")

SETUP_CELL = '''#@title Setup: run this first. Where the kit is installed it does nothing; in Colab it fetches it.
# In Colab, Kaggle, Binder or a plain Jupyter: finds the kit (a checkout around the working directory, or
# ./mnist-gan-kit, cloned the first time and updated after), installs only the packages this runtime
# lacks (never torch or torchvision when present: Colab ships its own) and puts the kit on the path.
# Safe to run any number of times. MNIST_GAN_KIT_URL overrides where the kit comes from.
def setup_kit(url="{url}"):
    import importlib.util, os, re, subprocess, sys
    from importlib.metadata import PackageNotFoundError, version
    from pathlib import Path
    if importlib.util.find_spec("mnist_gan_utils") is not None:
        return "mnist_gan_utils is importable: nothing to do"
    url = os.environ.get("{url_env}", url)
    found = [p for p in (Path.cwd(), *Path.cwd().parents) if (p / "mnist_gan_utils" / "__init__.py").is_file()]
    kit = found[0] if found else Path("mnist-gan-kit").absolute()
    if not found and not (kit / ".git").is_dir():
        subprocess.run(["git", "clone", "-q", "--depth", "1", url, str(kit)], check=True)
    elif not found:  # fetched earlier: update it (offline, the copy stays as it is)
        subprocess.run(["git", "-C", str(kit), "pull", "-q", "--ff-only"], check=False)
    def missing(requirement):
        try:
            version(re.split(r"[\\s<>=!~;\\[]", requirement, maxsplit=1)[0])
            return False
        except PackageNotFoundError:
            return True
    lines = [line.split("#")[0].strip() for line in (kit / "requirements.txt").read_text().splitlines()]
    need = [r for r in lines if r and not r.startswith("-") and missing(r)]
    if need:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *need], check=True)
        importlib.invalidate_caches()
    sys.path.insert(0, str(kit))
    return f"the kit in {{kit.name}}/ is ready; installed: {{', '.join(need) or 'nothing, every package was there'}}"


print("Setup:", setup_kit())'''.format(url=REPO_URL, url_env=URL_ENV)


def colab_url(notebook_name: str) -> str:
    colab = REPO_URL.replace("https://github.com/", "https://colab.research.google.com/github/")
    return f"{colab}/blob/main/notebooks/{notebook_name}"


def badge(notebook_name: str) -> str:
    """The markdown of the "Open in Colab" badge of one notebook (the README uses it too)."""
    return f"[![Open In Colab]({COLAB_BADGE})]({colab_url(notebook_name)})"


def header(notebook_name: str, title: str) -> str:
    """The first cell's opening: the title, the badge, the GPU line."""
    return f"{title}\n\n{badge(notebook_name)}\n\n{GPU_LINE}\n"


def is_setup_cell(cell) -> bool:
    return cell["cell_type"] == "code" and any(key in "".join(cell["source"]) for key in ("setup_kit", "google.colab"))


def sync(path: Path) -> bool:
    """Write the shared header and setup cell into the notebook at ``path`` and drop the execution
    timestamps nbconvert stores (when a machine ran it: nothing for a student); True when it changed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    title, _, body = nb.cells[0].source.partition("\n")
    # an earlier header, whatever its place: any badge (the notebook may have been renamed) and GPU line
    body = "\n".join(line for line in body.split("\n") if not line.startswith(("[![Open In Colab]", "*GPU:*")))
    nb.cells[0].source = header(path.name, title) + "\n" + body.lstrip("\n")
    if not is_setup_cell(nb.cells[1]):
        nb.cells.insert(1, nbformat.v4.new_code_cell())
    nb.cells[1].source = SETUP_CELL
    nb.cells[1].metadata = {"cellView": "form"}  # Colab shows the title and folds the code away
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    text = nbformat.writes(nb) + "\n"
    changed = text != path.read_text()
    if changed:
        path.write_text(text)
    return changed


def main(argv: list[str] | None = None) -> int:
    paths = [Path(p) for p in (argv if argv else sys.argv[1:])] or sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    for path in paths:
        print(f"{path.name}: {'updated' if sync(path) else 'already in step'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
