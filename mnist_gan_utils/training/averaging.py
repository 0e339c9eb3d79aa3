"""Weight averaging for a generator: an add-on to any GAN loop.

G's weights wander late in training; an exponential moving average (EMA) of them draws cleaner digits
than G's last iterate (Yazici et al., 2019). Two details make it work on short runs: a power-law warm-up,
so that the random initial weights are forgotten (:func:`ema_avg_fn`), and BatchNorm statistics
recomputed for the averaged weights (:func:`recalibrate_bn`). What each is worth on MNIST is measured in
``docs/experiments/``.
"""
from __future__ import annotations

import dataclasses

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, update_bn

from ..models.common import integer, number
from .loop import Callback


@dataclasses.dataclass
class AveragingConfig:
    """The weight average's settings (a part of :class:`~.gan.GANConfig`)."""

    ema_decay: float = 0.999       # G's weight average (0: none); the result is the average
    bn_recalibration: int = 200    # batches of fresh noise that recompute the average's BatchNorm statistics (0: G's)

    CHECKS = dict(ema_decay=number(0.0, 1.0, high_open=True), bn_recalibration=integer(0, 100_000))


def ema_avg_fn(decay: float, power: float = 2.0):
    """The EMA update with a power-law warm-up: the decay used at update ``n`` is
    ``min(decay, (1 + n) / (power + 2 + n))``, so update ``t`` ends up weighted about ``t ** power``
    until ``decay`` takes over (after ~1/(1 - decay) updates: 3,000 for 0.999). Without the warm-up,
    after one epoch a 0.999 average would still hold most of the random initial weights; a smaller
    ``power`` remembers more of a short run."""
    def avg(averaged: torch.Tensor, current: torch.Tensor, num_averaged: torch.Tensor) -> torch.Tensor:
        n = float(num_averaged)
        d = min(decay, (1.0 + n) / (power + 2.0 + n))
        return averaged * d + current * (1.0 - d)
    return avg


def averaged(G: nn.Module, decay: float, power: float) -> AveragedModel:
    """An EMA copy of ``G`` (its ``.module`` is the averaged generator); update it with :func:`update_ema`."""
    return AveragedModel(G, avg_fn=ema_avg_fn(decay, power), use_buffers=False)


def update_ema(G_ema: AveragedModel, G) -> None:
    """Move the EMA generator's weights towards G's, and copy G's BatchNorm running statistics.

    Averaging the statistics too would lag them by ~1/(1 - decay) steps behind the weights: early in a
    run (or in a short one) the EMA generator would then normalise with stale statistics and draw grey
    squares. G's statistics describe G's weights, not the average's: :func:`recalibrate_bn` recomputes
    them for the average after each epoch."""
    G_ema.update_parameters(G)
    with torch.no_grad():
        for b_ema, b in zip(G_ema.module.buffers(), G.buffers()):
            b_ema.copy_(b)


class _BalancedLabels(nn.Module):
    """A conditional generator asked for every digit equally often: ``G(z)`` for ``update_bn``."""

    def __init__(self, G):
        super().__init__()
        self.G = G

    def forward(self, z):
        from ..sampling import balanced_labels
        return self.G(z, balanced_labels(z.shape[0]).to(z.device))


@torch.no_grad()
def recalibrate_bn(G, batches: int = 200, batch_size: int = 64, seed: int = 0, device=None) -> None:
    """Recompute an averaged generator's BatchNorm running statistics for its own weights.

    ``torch.optim.swa_utils.update_bn`` runs ``batches`` batches of fresh noise (seeded) through it in
    train mode and keeps their average, the practice for averaged weights (Izmailov et al., 2018)."""
    rng = torch.Generator().manual_seed(seed)
    noise = (torch.randn(batch_size, G.noise_dim, generator=rng) for _ in range(batches))  # drawn as used
    update_bn(noise, _BalancedLabels(G) if getattr(G, "conditional", False) else G, device)
    G.eval()


class Averaging(Callback):
    """The weight average of ``net`` as a callback of the loop: updated after every step (``decay`` 0: none,
    ``sampler()`` is then ``net`` itself); after each epoch, with ``recalibrate`` > 0, its BatchNorm
    statistics recomputed on that many batches of fresh noise."""

    def __init__(self, net: nn.Module, decay: float, recalibrate: int = 0, batch_size: int = 64, seed: int = 0,
                 device=None):
        self.net, self.decay, self.ema = net, decay, averaged(net, decay, power=2.0)
        self.recalibrate, self.batch_size, self.seed, self.device = recalibrate, batch_size, seed, device

    def sampler(self) -> nn.Module:
        return self.ema.module if self.decay > 0 else self.net

    def on_step_end(self, run, epoch, step, stats):
        if self.decay > 0:
            update_ema(self.ema, self.net)

    def on_epoch_end(self, run, epoch):
        if self.decay > 0 and self.recalibrate:
            recalibrate_bn(self.ema.module, self.recalibrate, self.batch_size, self.seed, self.device)
