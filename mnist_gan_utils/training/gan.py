"""The DCGAN's add-ons, trained by one loop beside the plain DCGAN's (:mod:`.dcgan`):

* self-conditioning (``clusters=300``): G and D also see which of 300 groups of look-alike digits, found by
  k-means without labels, a digit belongs to (:mod:`mnist_gan_utils.models.self_conditioned`);
* the conditional GAN (``conditional=True``): G and D see the digit label;
* the WGAN-GP objective (``loss='wgan-gp'``): a critic with a gradient penalty instead of BCE;
* with each, G's weight average and its BatchNorm recalibration (:mod:`.averaging`); with none of them
  (``clusters=0``), the plain DCGAN's pair with the weight average alone (notebook 06's rung 1).
What each is worth is measured in ``docs/experiments/``.
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import Callable

import torch
import torch.nn.functional as F

from ..data import MNISTBatches
from ..models import (ConditionalDiscriminator, ConditionalGenerator, Critic, Discriminator, Generator,
                      SelfConditionedDiscriminator, SelfConditionedGenerator, check_cluster_embedding)
from ..registry import PRETRAINED_PARTNER
from . import distributed
from .averaging import averaged, recalibrate_bn, update_ema
from .dcgan import GANResult, check_networks, draw, fixed_noise, init_from, warn_if_collapsed
from .engine import BaseConfig, Run, check_positive_int, check_range, epoch_generator, prepare
from .progress import progress_bar


@dataclasses.dataclass
class GANConfig(BaseConfig):
    """Hyperparameters of the add-on loop; every field is validated when the config is made."""

    epochs: int = 3
    batch_size: int = 64
    lr: float = 2e-4
    lr_decay: bool = True          # both learning rates fall linearly to 0 over the run
    betas: tuple = (0.5, 0.999)
    noise_dim: int = 64
    g_channels: int = 32
    d_channels: int = 32
    rotation: float = 0.0          # degrees of random rotation per image, done on the whole batch
    ema_decay: float = 0.999       # G's weight average (0: none); the result is the average
    ema_power: float = 2.0         # the average's warm-up: update t weighs about t ** ema_power until ema_decay caps it
    bn_recalibration: int = 200    # batches of fresh noise that recompute the average's BatchNorm statistics (0: G's)
    grid_size: int = 64            # fixed-noise samples drawn each epoch
    init_from: str | None = None   # a models/ folder (or one holding the generator's files) to start from
    loss: str = "bce"              # 'bce' or 'wgan-gp' (Wasserstein critic with gradient penalty)
    n_critic: int = 5              # wgan-gp: critic updates (each on a fresh batch) per generator update
    gp_weight: float = 10.0        # wgan-gp: weight of the gradient penalty
    monitor_classes: bool = True   # warn when fixed-noise samples collapse onto 1-2 digits (models/classifier.pth)
    clusters: int | None = None    # self-conditioning: k-means groups of the training digits shown to G and D;
                                   # None: 300, or 0 for a conditional GAN or a plain WGAN-GP
    conditional: bool = False      # cGAN: the digit label is embedded and joined to G's noise and to D's image
    embed_dim: int = 16            # clusters or conditional: size of G's label embedding
    cluster_embedding: str = "centroid"  # clusters: 'centroid' (a small network of each cluster's centroid,
                                   # shared by look-alike clusters) or 'table' (a learned vector per cluster)
    mismatch: float | None = None  # bce with labels: weight of "real digit, wrong label = fake" in D's loss;
                                   # None: 0.5 when D sees labels, else 0

    def validate(self) -> None:
        if self.clusters is None:  # the defaults that depend on other fields, resolved once
            self.clusters = 0 if (self.conditional or self.loss == "wgan-gp") else 300
        if self.mismatch is None:
            self.mismatch = 0.5 if (self.conditional or self.clusters) and self.loss == "bce" else 0.0
        super().validate()
        check_networks(self)
        check_range("rotation", self.rotation, 0.0, 180.0)
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
            raise ValueError(f"clusters must be 0 or an integer in [2, 1000] (self-conditioned), got {self.clusters!r}")
        if self.loss not in ("bce", "wgan-gp"):
            raise ValueError(f"loss must be 'bce' or 'wgan-gp', got {self.loss!r}")
        if self.mismatch > 0 and not (self.conditional or self.clusters):
            raise ValueError(f"mismatch must be 0 for a D that sees no labels (conditional=True or clusters > 0 "
                             f"give it some), got {self.mismatch!r}")
        if self.clusters and self.conditional:
            raise ValueError("clusters > 0 and conditional=True both give D a label: pick one (clusters=0 for "
                             "the conditional GAN)")
        check_positive_int("n_critic", self.n_critic, high=100)
        check_range("gp_weight", self.gp_weight, 0.0, 1e6)


def fixed_labels(config: GANConfig) -> torch.Tensor:
    """The conditional grid's labels: 0, 1, ..., 9, 0, 1, ... so each column of a 10-wide grid is one digit."""
    from ..sampling import balanced_labels
    return balanced_labels(config.grid_size)


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


def self_condition(G: SelfConditionedGenerator, D: SelfConditionedDiscriminator, images: torch.Tensor,
                   seed: int = 0) -> torch.Tensor:
    """Fit the k-means clusters of ``images`` (uint8 ``(N, 28, 28)``) into G (how often to draw each)
    and D (the centroids, so ``D(x)`` can find a digit's cluster), and return each image's cluster ``(N,)``."""
    fitted = distributed.shared_clusters(images, G.clusters, seed)
    G.set_prior(fitted.prior, fitted.centroids)
    D.set_clusters(fitted)
    return fitted.assignments


def train_gan(config: GANConfig | None = None, data=None,
              on_epoch_end: Callable[[int, torch.Tensor, dict, torch.nn.Module], None] | None = None,
              **overrides) -> GANResult:
    """Train a DCGAN add-on (self-conditioned, conditional or WGAN-GP; with ``clusters=0`` and the BCE loss,
    the plain DCGAN with the weight average alone) on MNIST; returns the averaged G.

    ``train_gan(GANConfig(conditional=True))`` or ``train_gan(conditional=True, epochs=5)``; ``data`` and
    ``on_epoch_end`` as for :func:`~.dcgan.train_dcgan`."""
    from ..plotting import save_grid

    config, device, images, labels = prepare(GANConfig, config, overrides, data)
    G, D = (m.to(device) for m in build_networks(config))
    if config.clusters:  # self-conditioning: D's "label" for a real digit is its k-means cluster
        labels = self_condition(G, D, images, config.seed)
    if config.init_from:
        kind = ("conditional" if config.conditional else "self_conditioned" if config.clusters
                else "wgan_gp" if config.loss == "wgan-gp" else "averaged")
        init_from(G, D, config.init_from, (f"{kind}_generator", PRETRAINED_PARTNER[f"{kind}_generator"]))
        if config.clusters:  # the pretrained networks' clusters, not this run's fit (another seed, other data)
            from ..clusters import nearest_cluster
            labels = nearest_cluster(images.flatten(1).float().div(255).to(device), D.pca_mean, D.pca_components,
                                     D.centroids).cpu()
    batches = MNISTBatches(images, labels, config.batch_size, rotation=config.rotation, value_range=(-1, 1),
                           device=device, seed=config.seed)
    G_ema = averaged(G, config.ema_decay, config.ema_power)
    opt_G = torch.optim.Adam(G.parameters(), lr=config.lr, betas=tuple(config.betas))
    opt_D = torch.optim.Adam(D.parameters(), lr=config.lr, betas=tuple(config.betas))
    steps = min(len(batches), config.max_steps_per_epoch or len(batches))
    total = config.epochs * steps
    g_every = config.n_critic if config.loss == "wgan-gp" else 1   # batches per generator update

    def decay(updates):  # linear decay to 0 over the run, counted in each optimizer's own updates
        return lambda i: max(0.0, 1.0 - i / max(1, updates)) if config.lr_decay else 1.0
    scheds = {"G": torch.optim.lr_scheduler.LambdaLR(opt_G, decay(total // g_every)),
              "D": torch.optim.lr_scheduler.LambdaLR(opt_D, decay(total))}
    run = Run("gan", config, {"G": G, "D": D, "G_ema": G_ema}, {"G": opt_G, "D": opt_D}, scheds)
    G_train, D_train = distributed.wrap(G, device), distributed.wrap(D, device)  # DDP under torchrun
    start = run.start()
    z_fixed = fixed_noise(config).to(device)
    y_fixed = fixed_labels(config).to(device) if config.conditional else None
    nrow = 10 if config.conditional else 8
    grids = sorted(run.dir.glob("epoch_*.png"))[:start]
    judge = _monitor_classifier(device) if config.monitor_classes and run.main else None
    probe = ClusterProbe(images, labels, config.noise_dim, config.seed) if config.clusters and run.main else None
    probe = probe if probe is not None and len(probe.codes) else None  # no cluster with two members to compare

    for epoch in range(start, config.epochs):
        G.train(), D.train()
        g = epoch_generator(config.seed, epoch, salt=distributed.rank())  # each process its own noise
        last_loss_G = 0.0
        bar = progress_bar(zip(range(steps), batches.epoch(epoch)), steps, f"epoch {epoch + 1}/{config.epochs}",
                           config.progress)
        for step, (real, y) in bar:
            z = torch.randn(real.shape[0], config.noise_dim, generator=g).to(device)   # (B, noise_dim)
            # D sees each real digit's label (cGAN) or k-means cluster (self-conditioned), or nothing (plain)
            y = y if config.conditional or config.clusters else None
            # a cGAN's fakes are asked for the batch's own labels; a self-conditioned G draws the clusters
            # its noise picks, as when sampling
            y_fake = G.code(z) if config.clusters else y
            if config.loss == "bce":
                stats = gan_step(G_train, D_train, opt_G, opt_D, real, z, labels=y, mismatch=config.mismatch,
                                 generator=g, fake_labels=y_fake)
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
            bar.log(**stats)
        run.log(**bar.means(), seconds=bar.seconds)
        if not run.main:  # rank 0 alone draws the grid, checks for collapse and saves
            run.end_epoch(epoch)
            continue

        sampler = G_ema.module if config.ema_decay > 0 else G
        if config.ema_decay > 0 and config.bn_recalibration:
            recalibrate_bn(sampler, config.bn_recalibration, config.batch_size, config.seed, device)
        grid = draw(sampler, z_fixed) if y_fixed is None else draw(sampler, z_fixed, y_fixed)
        grids.append(save_grid(grid, run.dir / f"epoch_{epoch + 1:03d}.png", value_range=(-1, 1), nrow=nrow))
        warn_if_collapsed(grid, epoch)
        if probe is not None:
            run.log(within_cluster_spread=probe.check(sampler, epoch))
        if judge is not None:
            run.log(fixed_noise_top2_share=_warn_if_classes_collapsed(grid, judge, epoch))
        run.end_epoch(epoch)
        if on_epoch_end is not None:
            on_epoch_end(epoch, grid, run.history, sampler)

    final = G_ema.module if config.ema_decay > 0 else G
    return GANResult(final.eval(), D.eval(), run.history, run.dir, grids)


def _cond(labels):
    """Extra arguments of a conditional network: the labels, or nothing for an unconditional one."""
    return () if labels is None else (labels,)


def gan_step(G, D, opt_G, opt_D, real: torch.Tensor, z: torch.Tensor, labels: torch.Tensor | None = None,
             mismatch: float = 0.0, generator: torch.Generator | None = None,
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
    loss_D = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
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
                          f"the grid hides (docs/experiments/self_conditioned.md: the clusters seen through their "
                          f"centroids, the default, keep it higher than a table of vectors).", RuntimeWarning,
                          stacklevel=3)
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
