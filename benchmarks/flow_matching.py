"""The flow-matching model's sampling settings against quality and seconds: one table.

    python benchmarks/flow_matching.py              # models/flow_matching.pth; writes docs/flow_matching.md
    python benchmarks/flow_matching.py --n 2000     # more samples per row
    python benchmarks/flow_matching.py --dry-run --out /tmp/fm   # 200 samples, 4 rows: to check it runs

Each row draws ``--n`` digits (every digit equally often) with one combination of solver, steps and
guidance, times the drawing alone, and measures them with the kit's classifier against as many test
digits (the Fréchet floor: as many training digits), so the Fréchet figures compare within the table
only. Rows: the solvers at equal network evaluations, then the guidance scale at the default solver; the second
classifier's label accuracy and recognised rate beside the kit's (settings are chosen on the second).
Run it alone: two jobs halve each other's speed.
"""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

import torch

from mnist_gan_utils import comparison
from mnist_gan_utils.checkpoints import load_pretrained
from mnist_gan_utils.data import load_mnist
from mnist_gan_utils.paths import REPO_ROOT
from mnist_gan_utils.training.engine import set_threads


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="samples per row")
    ap.add_argument("--dry-run", action="store_true", help="200 samples; 1 step of each solver, guidance 1 and 1.5")
    ap.add_argument("--out", type=Path, help="folder for flow_matching.md (default: docs/; with --dry-run: a new "
                                             "temporary folder)")
    a = ap.parse_args(argv)
    out = a.out or (Path(tempfile.mkdtemp(prefix="flow_matching_")) if a.dry_run else REPO_ROOT / "docs")
    # 200, not fewer: the Fréchet distance needs more samples than the classifier has features (128)
    n, (euler, midpoint, scales) = (200, ([1], [1], [1.0, 1.5])) if a.dry_run else \
        (a.n, ([4, 8, 16], [2, 4, 8], [0.0, 1.0, 1.5, 2.0, 3.0]))
    set_threads()
    G, C = load_pretrained("flow_matching"), load_pretrained("classifier")
    judge = load_pretrained("mlp_classifier")  # the second judge: sampling settings are chosen on it
    real_test, real_train = load_mnist("test")[0][:n], load_mnist("train")[0][:n]
    common = dict(n=n, seed=1, real_test=real_test, real_train=real_train, judge=judge)
    solvers = (comparison.sampling_sweep(G, C, solver=["euler"], steps=euler, **common)
               + comparison.sampling_sweep(G, C, solver=["midpoint"], steps=midpoint, **common))
    guidance = comparison.sampling_sweep(G, C, guidance=scales, **common)
    machine = f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    text = "\n".join([
        "# Flow matching: sampling settings against quality and seconds", "",
        f"`python benchmarks/flow_matching.py --n {n}` on {machine}; the model: `models/flow_matching.pth` "
        f"(defaults: {G.steps} {G.solver} steps, guidance {G.guidance}). Seconds: drawing the {n:,} digits "
        "alone. A midpoint step costs two network evaluations, an Euler step one; guidance other than 0 and 1 "
        "doubles each (the velocity with and without the label, in one batch). The last two columns are the "
        "second classifier's (`models/mlp_classifier.pth`), on which the default settings are chosen.", "",
        "## Solver and steps (guidance as the default)", "", comparison.sweep_table(solvers), "",
        "## Guidance (solver and steps as the default)", "", comparison.sweep_table(guidance), ""])
    out.mkdir(parents=True, exist_ok=True)
    (out / "flow_matching.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
