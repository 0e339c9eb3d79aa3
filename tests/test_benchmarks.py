"""The benchmarks the README and docs quote (``benchmarks/*.py``), each run in its ``--dry-run`` form: a few
steps, a few hundred samples, written under ``tmp_path``. They call the package's public functions, so a
renamed or changed function fails here, not in a 45-minute measurement weeks later."""
import ast
import importlib.util
import re
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
DOCS = BENCHMARKS.parent / "docs"
README = BENCHMARKS.parent / "README.md"


def module(name: str):
    """``benchmarks/<name>.py``, loaded as a module of its own (benchmarks/ is no package)."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def main(name: str):
    return module(name).main


def run_dry(name: str, out: Path, *args: str) -> None:
    """Run ``name`` in its dry-run form into ``out``, and check that it left docs/ and the README as they were."""
    before = {p: p.read_bytes() for p in [README, *DOCS.glob("*.*")]}
    assert main(name)(["--dry-run", "--out", str(out), *args]) == 0
    assert {p: p.read_bytes() for p in [README, *DOCS.glob("*.*")]} == before, f"{name} --dry-run wrote outside --out"


def test_speed_tables(tmp_path):
    run_dry("run", tmp_path)
    text = (tmp_path / "benchmarks.md").read_text()
    for row in ("| kit: MNISTBatches (in memory, no augmentation) |", "| published: torchvision MNIST",
                "| kit step (reference) |", "| kit step, D frozen in G's update |",
                "| sampling (generator, eval mode, batches of 500) |"):
        assert row in text


@pytest.mark.slow
def test_notebook_times_fill_the_readme_column(tmp_path, capsys):
    """``--notebooks`` writes the time of each lesson it ran (the dry run: 01) into the README table's column,
    as the table writes times, and leaves every other line as it was."""
    run_dry("run", tmp_path, "--notebooks")
    printed = re.search(r"01_decoder_inference\.ipynb: [\d.]+ s \((\d+ s|\d+\.\d min)\)", capsys.readouterr().out)
    old, new = README.read_text().split("\n"), (tmp_path / "README.md").read_text().split("\n")
    assert printed and len(old) == len(new)
    assert [a for a, b in zip(old, new) if a != b] in ([], [next(a for a in old if "[`01_decoder_inference" in a)])
    row = next(line for line in new if line.startswith("| [`01_decoder_inference.ipynb`]"))
    assert row.split("|")[3].strip() == printed.group(1), row
    import prose_figures  # the test that holds prose run times to this table reads it back
    assert prose_figures.times_table("\n".join(new)).keys() == prose_figures.times_table("\n".join(old)).keys()


def test_time_to_quality(tmp_path):
    run_dry("time_to_quality", tmp_path)
    text = (tmp_path / "time_to_quality.md").read_text()
    assert "| 0.5 |" in text and "| 1.0 |" in text and "| 1 |" in text  # the kit's half epochs, the published epoch
    assert "## Targets" in text and (tmp_path / "time_to_quality.png").stat().st_size > 0
    assert "published notebook recipe, seed 0" in text and "published notebook recipe, seed 1" in text


def test_time_to_quality_never_counts_a_collapsed_generator_as_reaching_quality():
    ttq = module("time_to_quality")
    point = lambda epoch, rec, fd, rarest: dict(epoch=epoch, seconds=10.0 * epoch, recognised_rate=rec,
                                                frechet_ratio=fd, min_class_fraction=rarest)
    collapsed = [point(1, 1.0, 80.0, 0.0), point(2, 1.0, 70.0, 0.0)]
    kit = [point(1, 1.0, 60.0, 0.0), point(2, 0.8, 5.0, 0.08)]
    assert ttq.first_reaching(kit, 0.9, 70.0) is None  # 100% recognised at epoch 1, but one digit only
    assert ttq.first_reaching(kit, 0.8, 70.0)["epoch"] == 2
    assert "collapsed" in ttq._against(kit, 0, collapsed) and "sooner" not in ttq._against(kit, 0, collapsed)
    learned = [point(1, 0.5, 30.0, 0.06), point(2, 0.7, 9.0, 0.07)]
    assert "reaches both at epoch 2" in ttq._against(kit, 1, learned)


def test_flow_matching_sampling_table(tmp_path):
    run_dry("flow_matching", tmp_path)
    text = (tmp_path / "flow_matching.md").read_text()
    assert "| euler | 1 |" in text and "| midpoint | 1 |" in text and "| 1.5 |" in text


def test_every_benchmark_has_a_dry_run_test():
    tested = {"run", "time_to_quality", "flow_matching"}
    assert {p.stem for p in BENCHMARKS.glob("*.py")} == tested, "a new benchmark needs a dry-run test here"


def _root(node):
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _package_definitions() -> set:
    """The names of the package's functions, classes and methods."""
    names = set()
    for path in (BENCHMARKS.parent / "mnist_gan_utils").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
    return names


@pytest.mark.parametrize("script", sorted(BENCHMARKS.glob("*.py")), ids=lambda p: p.name)
def test_no_benchmark_replaces_a_package_attribute(script):
    """A benchmark composes the package's public pieces; one that swaps a package function at run time
    measures something the package no longer is, and breaks silently when the name changes. Caught: an
    assignment to an attribute of anything imported from the package, or to an attribute named as one of the
    package's functions, classes or methods (``module.update_ema = ...`` on a module passed in)."""
    tree = ast.parse(script.read_text())
    imported, defined = set(), _package_definitions()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith("mnist_gan_utils")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mnist_gan_utils"):
            imported |= {a.asname or a.name for a in node.names}
    replaced = [ast.unparse(n) for n in ast.walk(tree)
                if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store)
                and (_root(n) in imported or n.attr in defined and _root(n) != "self")
                or isinstance(n, ast.Call) and getattr(n.func, "id", None) == "setattr" and len(n.args) == 3
                and (_root(n.args[0]) in imported or getattr(n.args[1], "value", None) in defined)]
    assert not replaced, f"{script.name} replaces package attributes: {replaced}"
