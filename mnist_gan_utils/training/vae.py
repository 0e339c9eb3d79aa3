"""VAE training (Bernoulli likelihood, Gaussian prior); the decoder half is what the kit ships, with
a mixture prior fitted after training to where the encoder puts the training digits."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F

from ..data import MNISTBatches
from ..clusters import fit_gaussian_mixture
from ..models import MAX_CLUSTERS, VAE, Decoder
from ..models.common import check_positive_float, integer, is_integer, rule
from . import distributed
from .distributed import wrap
from .engine import BaseConfig, Run, prepare
from .loop import fit


@dataclasses.dataclass
class VAEConfig(BaseConfig):
    epochs: int = 20    # time against quality: docs/experiments/decoder_prior.md
    batch_size: int = 128
    lr: float = 1e-3
    latent_dim: int = 8
    hidden: int = 1024
    beta: float = 2.0   # weight of the KL term (1 is the plain ELBO); 2 gave more recognisable prior samples
    # Gaussians in the decoder's ex-post prior (0: sample N(0, I) as the VAE was trained). 100: the mixture
    # whose mean log density of the test digits' codes was highest of 1, 10, 50 and 100
    # (docs/experiments/decoder_prior.md)
    prior_components: int = 100

    CHECKS = dict(latent_dim=integer(), hidden=integer(), beta=check_positive_float,
                  prior_components=rule(lambda v: is_integer(v, 0, MAX_CLUSTERS),
                                        f"an integer in [0, {MAX_CLUSTERS}] (0: the N(0, I) prior)"))


@dataclasses.dataclass
class VAEResult:
    vae: VAE
    decoder: Decoder
    history: dict
    run_dir: Path


def vae_loss(logits, x, mu, logvar, beta: float = 1.0):
    """Negative ELBO per image: Bernoulli reconstruction + beta * KL(q(z|x) || N(0, I))."""
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / x.shape[0]
    return rec + beta * kl, rec, kl


def train_vae(config: VAEConfig | None = None, data=None, **overrides) -> VAEResult:
    """Train the VAE on MNIST in [0, 1]; ``result.decoder`` maps N(0, I) noise to digits."""
    config, device, images, labels = prepare(VAEConfig, config, overrides, data)
    batches = MNISTBatches(images, labels, config.batch_size, value_range=(0, 1), device=device, seed=config.seed)
    steps = min(len(batches), config.max_steps_per_epoch or len(batches))

    vae = VAE(config.latent_dim, config.hidden, config.prior_components).to(device)
    net = wrap(vae, device)  # DistributedDataParallel under torchrun, else vae itself
    opt = torch.optim.Adam(vae.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs * steps)
    run = Run("vae", config, {"vae": vae}, {"opt": opt}, {"sched": sched})
    start = run.start()

    def step(batch, rng, i):
        x, _ = batch                                                      # (B, 1, 28, 28) in [0, 1]
        logits, mu, logvar = net(x)                                       # (B, 1, 28, 28), (B, latent_dim) x2
        loss, rec, kl = vae_loss(logits, x, mu, logvar, config.beta)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        return {"loss": loss.item(), "reconstruction": rec.item(), "kl": kl.item()}

    fit(run, start, batches.epoch, steps, step, (vae,))
    vae.eval()
    if config.prior_components:
        fit_prior(vae, images, config.prior_components, config.seed)
    return VAEResult(vae, vae.decoder, run.history, run.dir)


@torch.no_grad()
def encode_means(vae: VAE, images: torch.Tensor, batch_size: int = 5000) -> torch.Tensor:
    """The encoder's mean code of each image (uint8 ``(N, 28, 28)`` or float ``(N, 1, 28, 28)`` in [0, 1])."""
    device = next(vae.parameters()).device
    x = images.unsqueeze(1).float() / 255 if images.dtype == torch.uint8 else images.float()
    return torch.cat([vae.encoder(x[i:i + batch_size].to(device))[0].cpu() for i in range(0, x.shape[0], batch_size)])


def fit_prior(vae: VAE, images: torch.Tensor, components: int, seed: int = 0) -> None:
    """Fit the decoder's mixture prior to the mean codes of ``images`` (41-50 s for 60,000 digits and 100 Gaussians on 2 CPU cores).
    Under torchrun every process takes rank 0's fit, so all of them sample the same prior."""
    gm = fit_gaussian_mixture(encode_means(vae, images), components, seed=seed)
    if distributed.world_size() > 1:
        distributed.broadcast_tensors(gm.weights, gm.means, gm.covariances)
    vae.decoder.set_prior(gm.weights, gm.means, gm.covariances)
