"""DCGAN training: BCE with logits, Adam, batch augmentation, an EMA generator, a fixed-noise grid
per epoch, a checkpoint per epoch and resume.

The default recipe is *self-conditioned* (``clusters=300``: G and D also see which of 300 groups of
look-alike digits, found by k-means without labels, a digit belongs to, through a small network of the
group's centroid, ``cluster_embedding='centroid'``) over 3 epochs in batches of 64, returning a power
average of G's weights (``ema_power``, see :func:`ema_avg_fn`): the recipe of ``models/generator.pth``.
``clusters=0`` is the plain DCGAN: more blends of two digits, and a larger Fréchet distance (README, "The
self-conditioned recipe"). The same loop trains the conditional GAN (``conditional=True``: G and D see the
digit label) and the WGAN-GP objective (``loss='wgan-gp'``)."""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, update_bn

from ..data import MNISTBatches
from ..models import ConditionalDiscriminator, ConditionalGenerator, Discriminator, Generator, check_cluster_embedding
from . import distributed
from .engine import (BaseConfig, Run, check_betas, check_positive_float, check_positive_int, check_range,
                     epoch_generator, prepare, progress_bar, shared_clusters)


# GANConfig's batch size and EMA power before 2026-11-23. The WGAN-GP model and the plain DCGAN curve of
# docs/time_to_quality.md were trained with them; their recipes pin them to stay reproducible.
EARLIER_BATCH_AND_AVERAGE = dict(batch_size=128, ema_power=8.0)


@dataclasses.dataclass
class GANConfig(BaseConfig):
    """Hyperparameters of the DCGAN loop; every field is validated when the config is made."""

    epochs: int = 3
    batch_size: int = 64           # 64 rather than 128: twice the updates per epoch, better digits after 3 epochs
    lr: float = 2e-4
    betas: tuple = (0.5, 0.999)
    noise_dim: int = 64
    g_channels: int = 32           # G's width (models/generator.pth's); 64 costs ~1.6x the time per step
    d_channels: int = 32
    g_deep: bool = True            # an extra 3x3 convolution at 14x14 in G
    d_deep: bool = True            # an extra 3x3 convolution at 7x7 in D
    rotation: float = 0.0          # degrees of random rotation per image, done on the whole batch
    real_label: float = 1.0        # < 1 is one-sided label smoothing
    ema_decay: float = 0.999       # 0 turns the EMA generator off
    ema_power: float = 2.0         # the EMA's horizon early on: update t's weight grows as t ** ema_power (a power
                                   # average, Karras et al., 2024) until ema_decay caps it; smaller = longer memory
    bn_recalibration: int = 200    # after each epoch, the EMA generator's BatchNorm statistics are recomputed for
                                   # its own averaged weights from this many batches of fresh noise (0: keep G's)
    lr_decay: bool = True          # decay both learning rates linearly to 0 over the run
    d_norm: str = "spectral"       # normalisation in D: 'batch', 'spectral' or 'none'
    lr_D: float | None = None      # D's learning rate when it differs from G's (two time-scale)
    grid_size: int = 64            # fixed-noise samples drawn each epoch
    init_from: str | None = None   # a models/ folder (or one holding generator.pth) to start from
    loss: str = "bce"              # 'bce' (DCGAN) or 'wgan-gp' (Wasserstein critic with gradient penalty)
    n_critic: int = 5              # wgan-gp: critic updates (each on a fresh batch) per generator update
    gp_weight: float = 10.0        # wgan-gp: weight of the gradient penalty
    monitor_classes: bool = True   # report fixed-noise samples collapsing onto 1-2 digits (uses models/classifier.pth)
    clusters: int | None = None    # self-conditioning: k-means groups of the training digits (no labels) shown
                                   # to G and D; 0 = the plain DCGAN; None: 300, or 0 for a conditional GAN
    conditional: bool = False      # cGAN: the digit label is embedded and joined to G's noise and to D's image
    embed_dim: int = 16            # clusters or conditional: size of G's label embedding
    cluster_embedding: str = "centroid"  # clusters: 'centroid' (a small MLP of each cluster's centroid, shared by
                                   # look-alike clusters) or 'table' (a learned vector per cluster, the recipe until
                                   # 2026-11-24: G then drew about one digit per cluster; README, "The self-conditioned recipe")
    mismatch: float | None = None  # bce, when D sees labels (clusters or conditional): weight of "real digit,
                                   # wrong label = fake" in D's loss; None: 0.5 when D sees labels, else 0
    channels_last: bool = False    # NHWC layout for G, D and the real batches: 1.08-1.18x the plain eager loop on
                                   # 2 CPU cores, within the noise of the kit's own step (docs/benchmarks.md). Off
                                   # by default: the convolutions round differently, and the committed models
                                   # were trained without it

    def validate(self) -> None:
        if self.clusters is None:  # the defaults that depend on other fields, resolved once
            self.clusters = 0 if self.conditional else 300
        if self.mismatch is None:
            self.mismatch = 0.5 if (self.conditional or self.clusters) else 0.0
        super().validate()
        check_betas(self.betas)
        check_positive_int("noise_dim", self.noise_dim)
        check_positive_int("g_channels", self.g_channels)
        check_positive_int("d_channels", self.d_channels)
        check_range("rotation", self.rotation, 0.0, 180.0)
        check_range("real_label", self.real_label, 0.5, 1.0)
        check_range("ema_decay", self.ema_decay, 0.0, 1.0, high_open=True)
        check_range("ema_power", self.ema_power, 0.0, 100.0)
        if not isinstance(self.bn_recalibration, int) or isinstance(self.bn_recalibration, bool) \
                or not 0 <= self.bn_recalibration <= 100_000:
            raise ValueError(f"bn_recalibration must be an integer in [0, 100000] (batches; 0 keeps G's statistics), "
                             f"got {self.bn_recalibration!r}")
        check_positive_int("grid_size", self.grid_size, high=1024)
        check_positive_int("embed_dim", self.embed_dim, high=1024)
        check_range("mismatch", self.mismatch, 0.0, 10.0)
        check_cluster_embedding(self.cluster_embedding)
        if not isinstance(self.clusters, int) or isinstance(self.clusters, bool) or self.clusters == 1 \
                or not 0 <= self.clusters <= 1000:
            raise ValueError(f"clusters must be 0 (the plain DCGAN) or an integer in [2, 1000] (self-conditioned), "
                             f"got {self.clusters!r}")
        if self.mismatch > 0 and not (self.conditional or self.clusters):
            raise ValueError("mismatch > 0 needs a D that sees labels: conditional=True or clusters > 0")
        if self.clusters and self.conditional:
            raise ValueError("clusters > 0 and conditional=True both give D a label: pick one (clusters=0 for "
                             "the conditional GAN)")
        if self.d_norm not in ("batch", "spectral", "none"):
            raise ValueError(f"d_norm must be 'batch', 'spectral' or 'none', got {self.d_norm!r}")
        if self.lr_D is not None:
            check_positive_float("lr_D", self.lr_D)
        if self.loss not in ("bce", "wgan-gp"):
            raise ValueError(f"loss must be 'bce' or 'wgan-gp', got {self.loss!r}")
        check_positive_int("n_critic", self.n_critic, high=100)
        check_range("gp_weight", self.gp_weight, 0.0, 1e6)
        if self.loss == "wgan-gp" and self.d_norm == "batch":
            raise ValueError("loss='wgan-gp' needs d_norm='none' or 'spectral': BatchNorm mixes the examples of a "
                             "batch, so the per-example gradient penalty would be wrong")


@dataclasses.dataclass
class GANResult:
    generator: Generator          # the EMA generator when ema_decay > 0, in eval() mode
    discriminator: Discriminator
    history: dict
    run_dir: Path
    grids: list                   # paths of the per-epoch sample grids


def fixed_noise(config: GANConfig) -> torch.Tensor:
    return torch.randn(config.grid_size, config.noise_dim, generator=torch.Generator().manual_seed(config.seed))


def fixed_labels(config: GANConfig) -> torch.Tensor:
    """The conditional grid's labels: 0, 1, ..., 9, 0, 1, ... so each column of a 10-wide grid is one digit."""
    from ..evaluation import balanced_labels
    return balanced_labels(config.grid_size)


def build_networks(config: GANConfig):
    """G and D as ``config`` describes them (plain, self-conditioned or conditional)."""
    if config.conditional:
        return (ConditionalGenerator(config.noise_dim, config.g_channels, config.g_deep, config.embed_dim),
                ConditionalDiscriminator(config.d_channels, norm=config.d_norm, deep=config.d_deep))
    return (Generator(config.noise_dim, config.g_channels, config.g_deep, config.clusters, config.embed_dim,
                      cluster_embedding=config.cluster_embedding),
            Discriminator(config.d_channels, norm=config.d_norm, deep=config.d_deep, clusters=config.clusters,
                          cluster_embedding=config.cluster_embedding))


def self_condition(G: Generator, D: Discriminator, images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Fit the k-means clusters of ``images`` (uint8 ``(N, 28, 28)``) into G (how often to draw each)
    and D (the centroids, so ``D(x)`` can find a digit's cluster), and return each image's cluster ``(N,)``."""
    fitted = shared_clusters(images, G.clusters, seed)
    G.set_prior(fitted.prior, fitted.centroids)
    D.set_clusters(fitted)
    return fitted.assignments


def train_gan(config: GANConfig | None = None, data=None,
              on_epoch_end: Callable[[int, torch.Tensor, dict, Generator], None] | None = None, **overrides) -> GANResult:
    """Train a DCGAN on MNIST and return the trained networks.

    ``train_gan(GANConfig(epochs=5))`` or ``train_gan(epochs=5, lr=2e-4)``. ``data`` is an optional
    ``(images uint8 (N, 28, 28), labels)`` pair (default: the MNIST training set).
    ``on_epoch_end(epoch, grid_images, history, generator)`` is called after each epoch (notebooks use it
    to show the grid live; ``generator`` is the sampling network, in eval mode). Checkpoints go to ``run_dir/checkpoint.pt``; grids to ``run_dir/epoch_XXX.png``.
    """
    from ..plotting import save_grid

    config, device, images, labels = prepare(GANConfig, config, overrides, data)
    G, D = (m.to(device) for m in build_networks(config))
    layout = torch.channels_last if config.channels_last else torch.contiguous_format
    G, D = G.to(memory_format=layout), D.to(memory_format=layout)
    if config.clusters:  # self-conditioning: D's "label" for a real digit is its k-means cluster
        labels = self_condition(G, D, images, config.seed)
    if config.init_from:
        _init_from(G, D, config.init_from, "conditional_" if config.conditional else "")
        if config.clusters:  # the pretrained networks' clusters, not this run's fit (another seed, other data)
            from ..clusters import nearest_cluster
            labels = nearest_cluster(images.flatten(1).float().div(255).to(device), D.pca_mean, D.pca_components,
                                     D.centroids).cpu()
    batches = MNISTBatches(images, labels, config.batch_size, rotation=config.rotation, value_range=(-1, 1),
                           device=device, seed=config.seed)
    # The EMA averages G's weights only; during training its BatchNorm statistics are copied from G (see
    # update_ema), and after each epoch they are recomputed for the averaged weights (recalibrate_bn).
    G_ema = AveragedModel(G, avg_fn=ema_avg_fn(config.ema_decay, config.ema_power), use_buffers=False)
    opt_G = torch.optim.Adam(G.parameters(), lr=config.lr, betas=tuple(config.betas))
    opt_D = torch.optim.Adam(D.parameters(), lr=config.lr_D or config.lr, betas=tuple(config.betas))
    steps = min(len(batches), config.max_steps_per_epoch or len(batches))
    total = config.epochs * steps
    g_every = config.n_critic if config.loss == "wgan-gp" else 1   # batches per generator update

    def decay(updates):  # linear decay to 0 over the run, counted in each optimizer's own updates
        return (lambda i: max(0.0, 1.0 - i / max(1, updates))) if config.lr_decay else (lambda i: 1.0)
    scheds = {"G": torch.optim.lr_scheduler.LambdaLR(opt_G, decay(total // g_every)),
              "D": torch.optim.lr_scheduler.LambdaLR(opt_D, decay(total))}
    run = Run("gan", config, {"G": G, "D": D, "G_ema": G_ema}, {"G": opt_G, "D": opt_D}, scheds)
    G_train, D_train = distributed.wrap(G, device), distributed.wrap(D, device)  # DDP under torchrun
    start = run.start()
    z_fixed = fixed_noise(config).to(device)
    y_fixed = fixed_labels(config).to(device) if config.conditional else None
    nrow = 10 if config.conditional else 8
    grids = [p for p in sorted(run.dir.glob("epoch_*.png"))][:start]
    judge = _monitor_classifier(device) if config.monitor_classes and run.main else None
    probe = ClusterProbe(images, labels, config.noise_dim, config.seed) if config.clusters and run.main else None
    probe = probe if probe is not None and len(probe.codes) else None  # no cluster with two members to compare

    for epoch in range(start, config.epochs):
        G.train(), D.train()
        g = epoch_generator(config.seed, epoch, salt=distributed.rank())  # each process its own noise
        sums = dict.fromkeys(("loss_D", "loss_G", "D_x", "D_G_z"), 0.0)
        last_loss_G = 0.0
        bar = progress_bar(zip(range(steps), batches.epoch(epoch)), steps, f"epoch {epoch + 1}/{config.epochs}",
                           config.progress)
        for step, (real, y) in bar:
            real = real.contiguous(memory_format=layout)                                # (B, 1, 28, 28)
            z = torch.randn(real.shape[0], config.noise_dim, generator=g).to(device)   # (B, noise_dim)
            # D sees each real digit's label (cGAN) or k-means cluster (self-conditioned), or nothing (plain)
            y = y if config.conditional or config.clusters else None
            # a cGAN's fakes are asked for the batch's own labels; a self-conditioned G draws the clusters
            # its noise picks, as when sampling
            y_fake = G.code(z) if config.clusters else y
            if config.loss == "bce":
                stats = gan_step(G_train, D_train, opt_G, opt_D, real, z, config.real_label, labels=y,
                                 mismatch=config.mismatch, generator=g, fake_labels=y_fake)
            else:
                stats = wgan_gp_step(G_train, D_train, opt_G, opt_D, real, z, config.gp_weight, g, labels=y,
                                     update_G=(step + 1) % g_every == 0)
                if stats["loss_G"] is None:  # no generator update on this batch: carry the last value
                    stats["loss_G"] = last_loss_G
                last_loss_G = stats["loss_G"]
            scheds["D"].step()
            if (step + 1) % g_every == 0:  # after a generator update
                scheds["G"].step()
            if config.ema_decay > 0:
                update_ema(G_ema, G)

            run.check_finite(epoch - 1, step, loss_D=stats["loss_D"], loss_G=stats["loss_G"])
            run.log(**{f"step_{k}": v for k, v in stats.items()})
            for k, v in stats.items():
                sums[k] += v
            bar.log(**stats)
        run.log(**{k: v / steps for k, v in sums.items()})
        if not run.main:  # rank 0 alone draws the grid, checks for collapse and saves
            run.end_epoch(epoch)
            continue

        sampler = G_ema.module if config.ema_decay > 0 else G
        if config.ema_decay > 0 and config.bn_recalibration:
            recalibrate_bn(sampler, config.bn_recalibration, config.batch_size, config.seed, device)
        sampler.eval()  # BatchNorm in eval mode: running statistics, not the batch's
        with torch.no_grad():
            grid = (sampler(z_fixed) if y_fixed is None else sampler(z_fixed, y_fixed)).cpu()
        path = save_grid(grid, run.dir / f"epoch_{epoch + 1:03d}.png", value_range=(-1, 1), nrow=nrow)
        grids.append(path)
        _warn_if_collapsed(grid, epoch)
        if probe is not None:
            run.log(within_cluster_spread=probe.check(sampler, epoch))
        if judge is not None:
            run.log(fixed_noise_top2_share=_warn_if_classes_collapsed(grid, judge, epoch))
        run.end_epoch(epoch)
        if on_epoch_end is not None:
            on_epoch_end(epoch, grid, run.history, sampler)

    final = G_ema.module if config.ema_decay > 0 else G
    return GANResult(final.eval(), D.eval(), run.history, run.dir, grids)


def ema_avg_fn(decay: float, power: float = 2.0):
    """The EMA update with a power-law warm-up: the decay used at update ``n`` is
    ``min(decay, (1 + n) / (power + 2 + n))``, so update ``t`` ends up weighted about ``t ** power``
    until ``decay`` takes over (after ~1/(1 - decay) updates: 3,000 for 0.999). Without the warm-up,
    after one epoch a 0.999 average would still hold most of the random initial weights.

    ``power`` sets how much of a short run the average remembers. On the default recipe (3 epochs,
    2,811 updates, where the cap never binds) the 10,000-sample figures were 94.8% recognised and 11.8x
    the Fréchet floor with power 2, 93.4% and 22.6x with power 8 (TensorFlow's ExponentialMovingAverage
    with ``num_updates``, the kit's rule until 2026-11-23), 90.5% and 37.3x with power 28, 89.0% and 41.0x
    for G itself: G's late iterates wander, and their average draws cleaner digits."""
    def avg(averaged: torch.Tensor, current: torch.Tensor, num_averaged: torch.Tensor) -> torch.Tensor:
        n = float(num_averaged)
        d = min(decay, (1.0 + n) / (power + 2.0 + n))
        return averaged * d + current * (1.0 - d)
    return avg


def update_ema(G_ema: AveragedModel, G) -> None:
    """Move the EMA generator's weights towards G's, and copy G's BatchNorm running statistics.

    Averaging the statistics too would lag them by ~1/(1 - decay) steps behind the weights: early in a
    run (or in a short one) the EMA generator would then normalise with stale statistics and draw grey
    squares. G's own running statistics already average over the last ~10 batches. They describe G's weights,
    not the average's: ``train_gan`` recomputes them for the average after each epoch (:func:`recalibrate_bn`)."""
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
        from ..evaluation import balanced_labels
        return self.G(z, balanced_labels(z.shape[0]).to(z.device))


@torch.no_grad()
def recalibrate_bn(G, batches: int = 200, batch_size: int = 64, seed: int = 0, device=None) -> None:
    """Recompute an averaged generator's BatchNorm running statistics for its own weights.

    The EMA's statistics are G's, measured on G's latest weights; the averaged weights give other
    activations. ``torch.optim.swa_utils.update_bn`` runs ``batches`` batches of fresh noise (seeded) through
    it in train mode and keeps their average, the practice for averaged weights (Izmailov et al., 2018).
    The 64-wide ``generator.pth`` of before 2026-11-24: 95.8% recognised and 11.1x the Fréchet floor with G's
    statistics, 95.4% and 9.9x with their own (README, "The self-conditioned recipe")."""
    g = torch.Generator().manual_seed(seed)
    noise = (torch.randn(batch_size, G.noise_dim, generator=g) for _ in range(batches))  # drawn as used
    update_bn(noise, _BalancedLabels(G) if getattr(G, "conditional", False) else G, device)
    G.eval()


def _cond(labels):
    """Extra arguments of a conditional network: the labels, or nothing for an unconditional one."""
    return () if labels is None else (labels,)


def gan_step(G, D, opt_G, opt_D, real: torch.Tensor, z: torch.Tensor, real_label: float = 1.0,
             labels: torch.Tensor | None = None, mismatch: float = 0.0, generator: torch.Generator | None = None,
             fake_labels: torch.Tensor | None = None) -> dict:
    """One DCGAN update of D then G on a batch of real images ``(B, 1, 28, 28)`` in [-1, 1] and noise
    ``z (B, noise_dim)``; a cGAN also gets the batch's ``labels (B,)``, and its fakes are asked for
    ``fake_labels`` (default: the same labels). Returns the named statistics.

    ``mismatch > 0`` (cGAN) makes D *matching-aware* (Reed et al., 2016): real digits shown with a wrong
    label are fakes too, weighted ``mismatch``. D then learns "a 3 offered as an 8 is fake" from real
    data, and G is pushed away from digits that could pass for two labels."""
    fake_labels = labels if fake_labels is None else fake_labels
    c, c_fake = _cond(labels), _cond(fake_labels)
    fake = G(z, *c_fake)                                                 # (B, 1, 28, 28)
    D_plain = distributed.unwrap(D)  # step (2) needs no gradient sync for D (its weights are frozen there)

    # (1) Update D: maximise log D(x) + log(1 - D(G(z)))
    opt_D.zero_grad(set_to_none=True)
    d_real = D(real, *c)                                                 # (B,) logits
    d_fake = D(fake.detach(), *c_fake)
    loss_D = (F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, real_label))
              + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
    if mismatch > 0 and labels is not None:
        k = D_plain.num_labels
        shift = torch.randint(1, k, labels.shape, generator=generator).to(labels.device)
        wrong = (labels + shift) % k  # never the right label
        d_wrong = D(real, wrong)
        loss_D = loss_D + mismatch * F.binary_cross_entropy_with_logits(d_wrong, torch.zeros_like(d_wrong))
    loss_D.backward()
    opt_D.step()

    # (2) Update G: maximise log D(G(z)) (the non-saturating loss)
    opt_G.zero_grad(set_to_none=True)
    D.requires_grad_(False)  # no D gradients needed here: saves part of D's backward
    d_gen = D_plain(fake, *c_fake)
    loss_G = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))
    loss_G.backward()
    D.requires_grad_(True)
    opt_G.step()
    return {"loss_D": loss_D.item(), "loss_G": loss_G.item(),
            "D_x": torch.sigmoid(d_real).mean().item(), "D_G_z": torch.sigmoid(d_fake).mean().item()}


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor,
                     labels: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP's penalty: mean over examples of (||grad_x D(x_hat)|| - 1)^2, with x_hat on the line
    between each real and fake image (``eps (B,)`` in [0, 1]). Computed per example, so the critic
    must not mix examples (no BatchNorm)."""
    x_hat = (eps.view(-1, 1, 1, 1) * real + (1 - eps.view(-1, 1, 1, 1)) * fake).requires_grad_(True)
    grad, = torch.autograd.grad(D(x_hat, *_cond(labels)).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def wgan_gp_step(G, D, opt_G, opt_D, real, z, gp_weight: float, generator=None,
                 labels: torch.Tensor | None = None, update_G: bool = True) -> dict:
    """One WGAN-GP critic update on this batch of real images, then (when ``update_G``) one generator
    update. The loop sets ``update_G`` on every ``n_critic``-th batch, so the critic sees fresh real digits
    at each of its updates (Gulrajani et al., 2017). ``D_x`` and ``D_G_z`` are mean critic scores, not
    probabilities; ``loss_G`` is None on the batches without a generator update."""
    c = _cond(labels)
    with torch.no_grad():
        fake = G(z, *c)                                                  # (B, 1, 28, 28), no graph needed
    opt_D.zero_grad(set_to_none=True)
    d_real, d_fake = D(real, *c), D(fake, *c)                            # (B,) critic scores
    eps = torch.rand(real.shape[0], generator=generator).to(real.device)
    # Wasserstein estimate E[D(G(z))] - E[D(x)] plus the penalty that keeps D 1-Lipschitz
    loss_D = d_fake.mean() - d_real.mean() + gp_weight * gradient_penalty(D, real, fake, eps, labels)
    loss_D.backward()
    opt_D.step()
    loss_G = None
    if update_G:
        opt_G.zero_grad(set_to_none=True)
        D_plain = distributed.unwrap(D)
        D_plain.requires_grad_(False)
        loss_G = -D_plain(G(z, *c), *c).mean()
        loss_G.backward()
        D_plain.requires_grad_(True)
        opt_G.step()
        loss_G = loss_G.item()
    return {"loss_D": loss_D.item(), "loss_G": loss_G, "D_x": d_real.mean().item(), "D_G_z": d_fake.mean().item()}


def _warn_if_collapsed(grid: torch.Tensor, epoch: int, threshold: float = 0.25) -> float:
    """Mode collapse shows as fixed-noise samples that look alike. Compare their mean pairwise pixel
    distance with the ~9.5 (in [-1, 1] units) of real MNIST digits; warn below ``threshold`` of it."""
    flat = grid.flatten(1)
    spread = torch.pdist(flat).mean().item() / 9.5 if flat.shape[0] > 1 else 1.0
    if spread < threshold:
        warnings.warn(f"epoch {epoch + 1}: the fixed-noise samples look alike (pixel spread {spread:.2f} of real "
                      f"digits'): a sign of mode collapse. Try a lower lr, betas=(0.5, 0.999), or restart with "
                      f"another seed.", RuntimeWarning, stacklevel=3)
    return spread


class ClusterProbe:
    """A self-conditioned G can collapse *inside* each cluster (one digit per cluster, the variety left to
    the clusters) while the whole sample and the fixed-noise grid, which spans many clusters, look varied.
    The probe draws ``n`` samples of each of ``shown`` evenly spaced clusters from fixed noise and compares
    their mean pairwise pixel distance with that of ``n`` real members of the same cluster."""

    def __init__(self, images: torch.Tensor, clusters: torch.Tensor, noise_dim: int, seed: int,
                 shown: int = 10, n: int = 16):
        k = int(clusters.max()) + 1
        picks = [c for c in torch.linspace(0, k - 1, min(shown, k)).long().tolist()
                 if int((clusters == c).sum()) >= 2]
        self.codes = torch.tensor(picks)
        self.z = torch.randn(len(picks), n, noise_dim, generator=torch.Generator().manual_seed(seed + 1))
        self.real = [images[clusters == c][:n] for c in picks]                 # uint8 (n, 28, 28) each

    @torch.no_grad()
    def ratio(self, sampler) -> float:
        """Mean over the probed clusters of (samples' spread) / (real members' spread); 1 = as varied."""
        from ..evaluation import pairwise_distance, to_unit
        device = next(sampler.parameters()).device
        ratios = []
        for code, z, real in zip(self.codes.tolist(), self.z, self.real):
            fake = to_unit(sampler(z.to(device), torch.full((len(z),), code, device=device))).cpu()
            ratios.append(pairwise_distance(fake) / max(pairwise_distance(real), 1e-8))
        return sum(ratios) / len(ratios)

    def check(self, sampler, epoch: int, threshold: float = 0.5) -> float:
        r = self.ratio(sampler)
        if r < threshold:
            warnings.warn(f"epoch {epoch + 1}: the samples of one cluster look alike ({r:.2f} of its real members' "
                          f"pixel spread, below {threshold}): G draws about one digit per cluster, a mode collapse "
                          f"the grid hides. With clusters seen through a table of vectors (cluster_embedding="
                          f"'table', the recipe until 2026-11-24) it fell to about 0.44 after 3 epochs; the default, "
                          f"through their centroids, rises to about 0.6 (README, 'G collapsed inside each "
                          f"cluster'); compare with the plain DCGAN (clusters=0).", RuntimeWarning, stacklevel=3)
        return r


def _monitor_classifier(device):
    """The pretrained classifier, used only to *watch* training for mode collapse (never to train G)."""
    from ..checkpoints import CheckpointError, load_pretrained
    try:
        return load_pretrained("classifier", device)
    except (CheckpointError, ValueError, OSError):
        return None  # no pretrained classifier yet: the pixel-spread check still runs


def _warn_if_classes_collapsed(grid: torch.Tensor, classifier, epoch: int, threshold: float = 0.8) -> float:
    """Share of the fixed-noise samples in their two most common digits; warn when it is >= ``threshold``
    (a balanced generator puts about 20% there)."""
    from ..evaluation import class_histogram, predict_proba
    hist = class_histogram(predict_proba(classifier, ((grid + 1) / 2).clamp(0, 1)))
    top2 = hist.topk(2)
    share = float(top2.values.sum())
    if share >= threshold and grid.shape[0] >= 20:
        digits = " and ".join(str(int(d)) for d in top2.indices)
        warnings.warn(f"epoch {epoch + 1}: mode collapse: {share:.0%} of the fixed-noise samples are {digits}s "
                      f"(balanced: about 20%). Try a lower lr, betas=(0.5, 0.999), or restart with another seed.",
                      RuntimeWarning, stacklevel=3)
    return share


def _init_from(G, D, folder: str, prefix: str = "") -> None:
    """Start from pretrained weights (``models/``'s layout: ``{prefix}generator.pth``, ``{prefix}discriminator.pth``)."""
    from ..checkpoints import load_state_dict, read_manifest

    folder = Path(folder)
    hashes, widths = {}, {}
    if (folder / "manifest.json").exists():
        entries = read_manifest(folder / "manifest.json")["models"].values()
        hashes = {e["file"]: e["sha256"] for e in entries}
        widths = {e["file"]: e.get("config", {}).get("channels") for e in entries}
    g_file, d_file = f"{prefix}generator.pth", f"{prefix}discriminator.pth"
    if widths.get(g_file) not in (None, G.channels):  # say which setting to change, not which shapes differ
        raise ValueError(f"init_from: {folder / g_file} is a generator {widths[g_file]} channels wide, this run's "
                         f"is {G.channels}: set g_channels={widths[g_file]} (notebook 02: G_CHANNELS = "
                         f"{widths[g_file]}) to start from it")
    load_state_dict(G, folder / g_file, expected_sha256=hashes.get(g_file))
    if (folder / d_file).exists():
        load_state_dict(D, folder / d_file, expected_sha256=hashes.get(d_file))
