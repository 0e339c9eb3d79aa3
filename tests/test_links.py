"""No dead links: every relative link of the README, the docs and the lessons' markdown names a file of the
kit (external links cannot be checked offline; the Colab badges are checked in test_notebooks)."""
import json
import re
from pathlib import Path

import pytest

from mnist_gan_utils.paths import REPO_ROOT

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)|<img [^>]*src=\"([^\"]+)\"")


def _documents():
    for path in [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]:
        yield path, path.read_text()
    for path in sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        yield path, "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def relative_links(text: str) -> list[str]:
    targets = [a or b for a, b in LINK.findall(re.sub(r"```.*?```", "", text, flags=re.S))]
    return [t for t in targets if not re.match(r"[a-z]+:|#", t)]


@pytest.mark.parametrize("path,text", list(_documents()), ids=lambda v: v.name if isinstance(v, Path) else "")
def test_every_relative_link_names_a_file_of_the_kit(path, text):
    dead = [t for t in relative_links(text) if not (path.parent / t.split("#")[0]).resolve().exists()]
    assert not dead, f"{path.relative_to(REPO_ROOT)} links to files that do not exist: {dead}"


def test_the_link_reader_finds_links_images_and_html_images_but_not_code_or_urls():
    text = ("[a](x.md) ![b](img/y.png) <img src=\"z.gif\" width=3> [c](https://e.org) [d](#top) "
            "[e](docs/f.md#part)\n```python\nprint('[g](not_a_link.md)')\n```")
    assert relative_links(text) == ["x.md", "img/y.png", "z.gif", "docs/f.md#part"]
