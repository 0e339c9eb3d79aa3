"""The flow-matching model's sampling settings against quality and seconds: one table.

    python benchmarks/flow_matching.py              # models/flow_matching.pth; writes docs/flow_matching.md
    python benchmarks/flow_matching.py --n 2000     # more samples per row

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
    ap.add_argument("--out", default=str(REPO_ROOT / "docs" / "flow_matching.md"))
    a = ap.parse_args(argv)
    set_threads()
    G, C = load_pretrained("flow_matching"), load_pretrained("classifier")
    judge = load_pretrained("mlp_classifier")  # the second judge: sampling settings are chosen on it
    real_test, real_train = load_mnist("test")[0][:a.n], load_mnist("train")[0][:a.n]
    common = dict(n=a.n, seed=1, real_test=real_test, real_train=real_train, judge=judge)
    solvers = (comparison.sampling_sweep(G, C, solver=["euler"], steps=[4, 8, 16], **common)
               + comparison.sampling_sweep(G, C, solver=["midpoint"], steps=[2, 4, 8], **common))
    guidance = comparison.sampling_sweep(G, C, guidance=[0.0, 1.0, 1.5, 2.0, 3.0], **common)
    machine = f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    text = "\n".join([
        "# Flow matching: sampling settings against quality and seconds", "",
        f"`python benchmarks/flow_matching.py --n {a.n}` on {machine}; the model: `models/flow_matching.pth` "
        f"(defaults: {G.steps} {G.solver} steps, guidance {G.guidance}). Seconds: drawing the {a.n:,} digits "
        "alone. A midpoint step costs two network evaluations, an Euler step one; guidance other than 0 and 1 "
        "doubles each (the velocity with and without the label, in one batch). The last two columns are the "
        "second classifier's (`models/mlp_classifier.pth`), on which the default settings are chosen.", "",
        "## Solver and steps (guidance as the default)", "", comparison.sweep_table(solvers), "",
        "## Guidance (solver and steps as the default)", "", comparison.sweep_table(guidance), ""])
    Path(a.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
