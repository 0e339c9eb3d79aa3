"""Training the class-conditional flow-matching model: the loss (:func:`flow_matching_loss`) and the loop
(:func:`train_flow_matching`) around it. The loop is the one every model trains in (:func:`.loop.fit`):
seeding, device, a run folder per settings, a checkpoint each epoch, resume, ``torchrun``; the network's
weights are averaged (an EMA, :class:`.averaging.Averaging`), and the average is what draws.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F

from ..data import MNISTBatches
from ..models.common import integer, memory_format, number, rule
from ..models.flow_matching import NULL_LABEL, SOLVERS, FlowMatchingGenerator, VelocityUNet
from . import distributed
from .averaging import Averaging
from .engine import BaseConfig, Run, prepare
from .loop import fit
from .monitors import Grid


@dataclasses.dataclass
class FlowMatchingConfig(BaseConfig):
    epochs: int = 10                # chosen in docs/experiments/flow_matching.md
    batch_size: int = 128
    lr: float = 5e-4
    channels: int = 64              # the U-Net's width at 14x14 (twice that at 7x7)
    emb_dim: int = 128              # size of the time and label embeddings
    label_dropout: float = 0.1      # share of the batch shown no label: the network also learns v without one
    ema_decay: float = 0.999        # the weight average that draws (0: the last weights)
    steps: int = 2                  # sampling: solver steps from noise to digit (docs/experiments/flow_matching.md)
    solver: str = "midpoint"        # sampling: 'euler' (1 evaluation a step) or 'midpoint' (2)
    guidance: float = 1.5           # sampling: 0 no label, 1 the label, > 1 the label, harder
    grid_size: int = 100            # samples drawn after each epoch (each digit in turn)

    CHECKS = dict(channels=integer(1, 512), emb_dim=integer(1, 2048), label_dropout=number(0.0, 1.0, high_open=True),
                  ema_decay=number(0.0, 1.0, high_open=True), steps=integer(1, 1000),
                  solver=rule(lambda v: v in SOLVERS, f"one of {SOLVERS}"), guidance=number(0.0, 20.0),
                  grid_size=integer(1, 1024))

    def validate(self) -> None:
        super().validate()
        if self.channels % 8:
            raise ValueError(f"channels must be a multiple of 8 in [8, 512] (GroupNorm's 8 groups), "
                             f"got {self.channels!r}")


@dataclasses.dataclass
class FlowMatchingResult:
    generator: FlowMatchingGenerator   # the averaged network with the config's sampling settings, in eval()
    history: dict
    run_dir: Path
    grids: list


def straight_path(x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor):
    """The point ``x_t`` at time ``t`` ``(B,)`` of the straight path from noise ``x0`` (t = 0) to the digits ``x1``
    (t = 1), and the path's velocity there (the same everywhere on a straight path)."""
    t = t.view(-1, 1, 1, 1)
    return (1 - t) * x0 + t * x1, x1 - x0


def flow_matching_loss(net, x1: torch.Tensor, labels: torch.Tensor, label_dropout: float = 0.1,
                       rng: torch.Generator | None = None) -> torch.Tensor:
    """Regress the velocity ``x1 - x0`` of the straight path from noise ``x0`` to the digits ``x1``
    ``(B, 1, 28, 28)`` in [-1, 1], at a random point ``x_t`` of it."""
    x0 = torch.randn(x1.shape, generator=rng).to(x1.device)                     # noise, where paths start
    t = torch.rand(x1.shape[0], generator=rng).to(x1.device)                    # a random time per digit
    x_t, velocity = straight_path(x0, x1, t)                                    # the point of the path at t
    drop = torch.rand(x1.shape[0], generator=rng).to(x1.device) < label_dropout
    labels = labels.masked_fill(drop, NULL_LABEL)                               # some digits shown no label
    return F.mse_loss(net(x_t, t, labels), velocity)


def train_flow_matching(config: FlowMatchingConfig | None = None, data=None, **overrides) -> FlowMatchingResult:
    """Train the flow-matching model on MNIST: ``train_flow_matching(epochs=7)``; ``data``: optional
    ``(images uint8 (N, 28, 28), labels)``."""
    from ..sampling import balanced_labels

    config, device, images, labels = prepare(FlowMatchingConfig, config, overrides, data)
    net = VelocityUNet(config.channels, config.emb_dim).to(device, memory_format=memory_format(device))
    average = Averaging(net, config.ema_decay)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    batches = MNISTBatches(images, labels, config.batch_size, value_range=(-1, 1), device=device, seed=config.seed)
    steps = min(len(batches), config.max_steps_per_epoch or len(batches))
    run = Run("flow_matching", config, {"net": net, "net_ema": average.ema}, {"opt": opt})
    net_train = distributed.wrap(net, device)
    start = run.start()
    G = FlowMatchingGenerator(config.channels, config.emb_dim, config.steps, config.solver, config.guidance).to(device)

    def sampler() -> FlowMatchingGenerator:  # the averaged network, with the config's sampling settings
        G.net.load_state_dict(average.sampler().state_dict())
        return G.eval()

    def step(batch, rng, i):
        x1, y = batch                                                            # (B, 1, 28, 28) in [-1, 1]
        loss = flow_matching_loss(net_train, x1, y, config.label_dropout, rng)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    z_fixed = torch.randn(config.grid_size, G.noise_dim, generator=torch.Generator().manual_seed(config.seed))
    grid = Grid(run, start, sampler, z_fixed.to(device), balanced_labels(config.grid_size).to(device), nrow=10)
    fit(run, start, batches.epoch, steps, step, (net,), [average, grid])
    return FlowMatchingResult(sampler(), run.history, run.dir, grid.paths)
