"""What the loop draws and watches after each epoch: the fixed-noise grid, and the signs of mode collapse.

Each is a :class:`~.loop.Callback`. The grid is drawn from the same noise every epoch, so it shows G
changing; the monitors warn (never stop) when G's digits look alike (pixel spread), fall into one or two
classes (the kit's classifier, used to *watch* only, never to train), or collapse inside a cluster.
"""
from __future__ import annotations

import warnings
from typing import Callable

import torch

from .loop import Callback

# A warning from a callback points at the line that started training: the callback's method, the loop
# (fit), the family's train_* function, then the caller.
FROM_A_CALLBACK = 4


@torch.no_grad()
def draw(G, z: torch.Tensor, *labels) -> torch.Tensor:
    """G's images of ``z`` (and ``labels``, for a conditional G) in eval mode, so BatchNorm uses its
    running statistics; on the CPU, in [-1, 1]. G is left in eval mode."""
    G.eval()
    return G(z, *labels).cpu()


def warn_if_collapsed(grid: torch.Tensor, epoch: int, threshold: float = 0.25, stacklevel: int = 2) -> float:
    """Mode collapse shows as fixed-noise samples that look alike. Compare their mean pairwise pixel
    distance with the ~9.5 (in [-1, 1] units) of real MNIST digits; warn below ``threshold`` of it."""
    flat = grid.flatten(1)
    spread = torch.pdist(flat).mean().item() / 9.5 if flat.shape[0] > 1 else 1.0
    if spread < threshold:
        warnings.warn(f"epoch {epoch + 1}: the fixed-noise samples look alike (pixel spread {spread:.2f} of real "
                      f"digits'): a sign of mode collapse. Try a lower lr, betas=(0.5, 0.999), or restart with "
                      f"another seed.", RuntimeWarning, stacklevel=stacklevel)
    return spread


class Grid(Callback):
    """After each epoch: ``sampler()``'s images of the fixed ``z`` (and ``labels``), saved as
    ``epoch_XXX.png`` in the run folder and checked for look-alikes; ``show(epoch, grid, history, G)``,
    if given, runs once the epoch is saved (the notebooks' live grid)."""

    def __init__(self, run, start: int, sampler: Callable, z: torch.Tensor, labels: torch.Tensor | None = None,
                 nrow: int = 8, show: Callable | None = None):
        self.sampler, self.z, self.labels, self.nrow, self.show = sampler, z, labels, nrow, show
        self.paths = sorted(run.dir.glob("epoch_*.png"))[:start]   # a resumed run's earlier grids
        self.grid = None

    def on_epoch_end(self, run, epoch):
        from ..plotting import save_grid
        G = self.sampler()
        self.grid = draw(G, self.z, *(() if self.labels is None else (self.labels,)))
        self.paths.append(save_grid(self.grid, run.dir / f"epoch_{epoch + 1:03d}.png", value_range=(-1, 1),
                                    nrow=self.nrow))
        warn_if_collapsed(self.grid, epoch, stacklevel=FROM_A_CALLBACK + 1)

    def on_epoch_saved(self, run, epoch):
        if self.show is not None:
            self.show(epoch, self.grid, run.history, self.sampler())


class ClassCollapse(Callback):
    """The share of the grid's digits in their two most common classes, as the kit's classifier reads
    them, logged as ``fixed_noise_top2_share``; a warning at ``threshold`` or more (balanced: about 20%)
    from the second epoch on. After one epoch a weight average still draws digit shapes in a noisy texture
    that the classifier reads as one digit with confidence (docs/experiments/plain_dcgan.md): a collapse of
    the classifier's reading, not of G. A real collapse is still there an epoch later."""

    def __init__(self, grid: Grid, classifier, threshold: float = 0.8):
        self.grid, self.classifier, self.threshold = grid, classifier, threshold

    def on_epoch_end(self, run, epoch):
        from ..evaluation import class_histogram, predict_proba
        grid = self.grid.grid
        top2 = class_histogram(predict_proba(self.classifier, ((grid + 1) / 2).clamp(0, 1))).topk(2)
        share = float(top2.values.sum())
        if share >= self.threshold and grid.shape[0] >= 20 and epoch >= 1:
            digits = " and ".join(str(int(d)) for d in top2.indices)
            warnings.warn(f"epoch {epoch + 1}: mode collapse: {share:.0%} of the fixed-noise samples are {digits}s "
                          f"(balanced: about 20%). Try a lower lr, betas=(0.5, 0.999), or restart with another seed.",
                          RuntimeWarning, stacklevel=FROM_A_CALLBACK)
        run.log(fixed_noise_top2_share=share)


def class_check(run, grid: Grid, device) -> list:
    """The loops' class check of ``grid``: ``[ClassCollapse]`` on the main process once the kit's classifier
    exists, else none."""
    judge = judge_if_any(device) if run.main else None
    return [ClassCollapse(grid, judge)] if judge is not None else []


def judge_if_any(device):
    """The kit's pretrained classifier, or None before one is built (the pixel-spread check still runs).
    Building it draws its initial weights: from a forked generator, so that the run's draws stay the same
    whether or not a classifier is found, and in a resumed run as in an uninterrupted one."""
    from ..checkpoints import CheckpointError, load_pretrained
    from ..registry import JUDGE
    with torch.random.fork_rng(devices=[]):
        try:
            return load_pretrained(JUDGE, device)
        except (CheckpointError, ValueError, OSError):
            return None
