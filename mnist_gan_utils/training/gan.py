"""The DCGAN with its add-ons, each its own module, put together on the one loop (:func:`.loop.fit`):

* G's weight average and its BatchNorm recalibration (:mod:`.averaging`), always (``ema_decay=0``: none);
* self-conditioning (``clusters=300``, the default): G and D also see which of 300 groups of look-alike
  digits, found by k-means without labels, a digit belongs to (:mod:`.self_conditioning`);
* the conditional GAN (``conditional=True, clusters=0``): G and D see the digit label (:mod:`.conditional`);
* the WGAN-GP objective (``loss='wgan-gp'``): a critic with a gradient penalty instead of BCE (:mod:`.wgan_gp`);
* with ``clusters=0`` and none of the others, the plain DCGAN's pair with the weight average alone.
What each is worth is measured in ``docs/experiments/``.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Iterable

import torch

from ..data import MNISTBatches
from ..models import (ConditionalDiscriminator, ConditionalGenerator, Critic, Discriminator, Generator,
                      SelfConditionedDiscriminator, SelfConditionedGenerator)
from ..models.common import number
from ..sampling import balanced_labels
from . import conditional, distributed, wgan_gp
from .averaging import Averaging, AveragingConfig
from .conditional import ConditionalConfig
from .dcgan import DCGANConfig, GANResult, fixed_noise
from .engine import BaseConfig, Run, prepare
from .loop import Callback, fit
from .monitors import Grid, class_check
from .self_conditioning import ClusterProbe, SelfConditioningConfig, self_condition
from .wgan_gp import WGANGPConfig


@dataclasses.dataclass
class GANConfig(WGANGPConfig, SelfConditioningConfig, ConditionalConfig, AveragingConfig, BaseConfig):
    """The DCGAN's settings with each add-on's own (:class:`~.averaging.AveragingConfig`,
    :class:`~.conditional.ConditionalConfig`, :class:`~.self_conditioning.SelfConditioningConfig`,
    :class:`~.wgan_gp.WGANGPConfig`), one flat config as the manifest records it; every field is checked
    when the config is made, each add-on's by the add-on's ``CHECKS``."""

    epochs: int = 3
    batch_size: int = 64
    lr: float = 2e-4
    lr_decay: bool = True          # both learning rates fall linearly to 0 over the run
    betas: tuple = (0.5, 0.999)
    noise_dim: int = 64
    g_channels: int = 32
    d_channels: int = 32
    rotation: float = 0.0          # degrees of random rotation per image, done on the whole batch
    grid_size: int = 64            # fixed-noise samples drawn each epoch

    CHECKS = dict(DCGANConfig.CHECKS, rotation=number(0.0, 180.0))

    def validate(self) -> None:
        super().validate()
        if self.clusters and self.conditional:
            raise ValueError("clusters > 0 and conditional=True both give D a label: pick one (clusters=0 for "
                             "the conditional GAN)")
        if self.clusters and self.train_size is not None and self.clusters > self.train_size:
            raise ValueError(f"clusters ({self.clusters}) must not exceed train_size ({self.train_size}): k-means needs "
                             f"an image per cluster (clusters=0 for the plain pair)")


def build_networks(config: GANConfig):
    """G and D as ``config`` describes them: conditional, self-conditioned, or the plain DCGAN's G with
    WGAN-GP's critic or with the DCGAN's own D (the weight average alone)."""
    if config.conditional:
        return (ConditionalGenerator(config.noise_dim, config.g_channels, True, config.embed_dim),
                ConditionalDiscriminator(config.d_channels))
    if config.clusters:
        return (SelfConditionedGenerator(config.noise_dim, config.g_channels, True, config.clusters, config.embed_dim,
                                         cluster_embedding=config.cluster_embedding),
                SelfConditionedDiscriminator(config.d_channels, clusters=config.clusters,
                                             cluster_embedding=config.cluster_embedding))
    if config.loss == "wgan-gp":
        return Generator(config.noise_dim, config.g_channels), Critic(config.d_channels)
    return Generator(config.noise_dim, config.g_channels), Discriminator(config.d_channels)  # the DCGAN's pair


def train_gan(config: GANConfig | None = None, data=None,
              on_epoch_end: Callable[[int, torch.Tensor, dict, torch.nn.Module], None] | None = None,
              callbacks: Iterable[Callback] = (), **overrides) -> GANResult:
    """Train the DCGAN with its add-ons on MNIST (by default self-conditioned); returns the averaged G.

    ``train_gan(GANConfig(conditional=True, clusters=0))`` or ``train_gan(clusters=0, epochs=5)``; ``data``,
    ``on_epoch_end`` and ``callbacks`` as for :func:`~.dcgan.train_dcgan`."""
    config, device, images, labels = prepare(GANConfig, config, overrides, data)
    G, D = (m.to(device) for m in build_networks(config))
    if config.clusters:  # self-conditioning: D's "label" for a real digit is its k-means cluster
        labels = self_condition(G, D, images, config.seed)
    batches = MNISTBatches(images, labels, config.batch_size, rotation=config.rotation, value_range=(-1, 1),
                           device=device, seed=config.seed)
    average = Averaging(G, config.ema_decay, config.bn_recalibration, config.batch_size, config.seed, device)
    opt_G = torch.optim.Adam(G.parameters(), lr=config.lr, betas=tuple(config.betas))
    opt_D = torch.optim.Adam(D.parameters(), lr=config.lr, betas=tuple(config.betas))
    steps = min(len(batches), config.max_steps_per_epoch or len(batches))
    g_every = config.n_critic if config.loss == "wgan-gp" else 1   # batches per generator update

    def decay(updates):  # linear decay to 0 over the run, counted in each optimizer's own updates
        return lambda i: max(0.0, 1.0 - i / max(1, updates)) if config.lr_decay else 1.0
    scheds = {"G": torch.optim.lr_scheduler.LambdaLR(opt_G, decay(config.epochs * steps // g_every)),
              "D": torch.optim.lr_scheduler.LambdaLR(opt_D, decay(config.epochs * steps))}
    run = Run("gan", config, {"G": G, "D": D, "G_ema": average.ema}, {"G": opt_G, "D": opt_D}, scheds)
    G_train, D_train = distributed.wrap(G, device), distributed.wrap(D, device)  # DDP under torchrun
    start = run.start()
    last_loss_G = [0.0]  # a WGAN-GP batch without a generator update shows the epoch's last one (or 0)

    def step(batch, rng, i):
        real, y = batch
        z = torch.randn(real.shape[0], config.noise_dim, generator=rng).to(device)   # (B, noise_dim)
        # D sees each real digit's label (cGAN) or k-means cluster (self-conditioned), or nothing (plain)
        y = y if config.conditional or config.clusters else None
        if config.loss == "wgan-gp":
            stats = wgan_gp.wgan_gp_step(G_train, D_train, opt_G, opt_D, real, z, rng, labels=y,
                                         update_G=(i + 1) % g_every == 0)
            last_loss_G[0] = 0.0 if i == 0 else last_loss_G[0]  # each epoch on its own: a resumed one shows the same
            stats["loss_G"] = last_loss_G[0] = last_loss_G[0] if stats["loss_G"] is None else stats["loss_G"]
        else:  # a self-conditioned G draws the clusters its noise picks, as when sampling
            stats = conditional.gan_step(G_train, D_train, opt_G, opt_D, real, z, labels=y, rng=rng,
                                         mismatch=config.mismatch,
                                         fake_labels=G.code(z) if config.clusters else y)
        scheds["D"].step()
        if (i + 1) % g_every == 0:  # after a generator update
            scheds["G"].step()
        return stats

    z_fixed = fixed_noise(config).to(device)
    # a conditional G's grid asks for 0, 1, ..., 9, 0, 1, ...: each column of its 10-wide grid is one digit
    labels_fixed = balanced_labels(config.grid_size).to(device) if config.conditional else None
    grid = Grid(run, start, average.sampler, z_fixed, labels_fixed, nrow=10 if config.conditional else 8,
                show=on_epoch_end)
    callbacks = [average, grid, *callbacks]
    if config.clusters and run.main:  # a collapse inside each cluster, which the grid hides
        probe = ClusterProbe(images, labels, config.noise_dim, config.seed, sampler=average.sampler)
        callbacks += [probe] if len(probe.codes) else []  # no cluster with two members to compare
    callbacks += class_check(run, grid, device)
    fit(run, start, batches.epoch, steps, step, (G, D), callbacks, step_history=True)
    return GANResult(average.sampler().eval(), D.eval(), run.history, run.dir, grid.paths)
