"""The one training loop: epochs of steps, with callbacks around it (Keras's callbacks, Lightning's hooks).

A family brings its step, a function of one batch that updates the networks and returns named statistics
(``dcgan_step``'s ``loss_D``, ``loss_G``, ``D_x``, ``D_G_z``); everything else that happens in training is
a :class:`Callback`: the weight average after each step, the fixed-noise grid and the mode-collapse
monitors after each epoch, the notebooks' live display. The loop itself only feeds the step, checks that
the losses stay finite, keeps the history and writes the checkpoint after every epoch.
"""
from __future__ import annotations

from typing import Callable, Iterable

import torch

from . import distributed
from .engine import Run, epoch_generator
from .progress import progress_bar


class Callback:
    """Hooks the loop calls; each does nothing unless a subclass overrides it."""

    def on_step_end(self, run: Run, epoch: int, step: int, stats: dict) -> None:
        """After every step, in every process (under torchrun)."""

    def on_epoch_end(self, run: Run, epoch: int) -> None:
        """After every epoch, before its checkpoint (what it logs is saved with the epoch); main process only."""

    def on_epoch_saved(self, run: Run, epoch: int) -> None:
        """After the epoch's checkpoint is written (a live display); main process only."""


def fit(run: Run, start: int, batches: Callable[[int], Iterable], steps: int,
        step: Callable[[object, torch.Generator, int], dict], models: Iterable[torch.nn.Module],
        callbacks: Iterable[Callback] = (), step_history: bool = False, salt_by_rank: bool = True) -> None:
    """Train ``run`` from epoch ``start`` to ``run.config.epochs``: each epoch, ``step(batch, rng, i)`` on the
    first ``steps`` batches of ``batches(epoch)``, with ``rng`` the epoch's own random generator (a resumed
    run draws the same numbers; under torchrun each process draws its own unless ``salt_by_rank=False``).
    Every statistic whose name starts with ``loss`` must stay finite. ``step_history``: keep every step's
    statistics too (``step_loss_D``, ...), not only each epoch's means."""
    models, callbacks = list(models), list(callbacks)
    config = run.config
    for epoch in range(start, config.epochs):
        for m in models:
            m.train()
        rng = epoch_generator(config.seed, epoch, salt=distributed.rank() if salt_by_rank else 0)
        bar = progress_bar(zip(range(steps), batches(epoch)), steps, f"epoch {epoch + 1}/{config.epochs}",
                           config.progress)
        for i, batch in bar:
            stats = step(batch, rng, i)
            run.check_finite(epoch - 1, i, **{k: v for k, v in stats.items() if k.startswith("loss")})
            if step_history:
                run.log(**{f"step_{k}": v for k, v in stats.items()})
            bar.log(**stats)
            for cb in callbacks:
                cb.on_step_end(run, epoch, i, stats)
        run.log(**bar.means(), seconds=bar.seconds)
        if run.main:
            for cb in callbacks:
                cb.on_epoch_end(run, epoch)
        run.end_epoch(epoch)
        if run.main:
            for cb in callbacks:
                cb.on_epoch_saved(run, epoch)
