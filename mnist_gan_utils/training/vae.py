"""VAE training (Bernoulli likelihood, Gaussian prior); the decoder half is what the kit ships."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F

from ..data import MNISTBatches
from ..models import VAE, Decoder
from .distributed import wrap
from .engine import (BaseConfig, Run, check_positive_float, check_positive_int, prepare, progress_bar)


@dataclasses.dataclass
class VAEConfig(BaseConfig):
    epochs: int = 40
    batch_size: int = 128
    lr: float = 1e-3
    latent_dim: int = 8
    hidden: int = 1024
    beta: float = 2.0   # weight of the KL term (1 is the plain ELBO); 2 gave more recognisable prior samples

    def validate(self) -> None:
        super().validate()
        check_positive_int("latent_dim", self.latent_dim)
        check_positive_int("hidden", self.hidden)
        check_positive_float("beta", self.beta)


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

    vae = VAE(config.latent_dim, config.hidden).to(device)
    net = wrap(vae, device)  # DistributedDataParallel under torchrun, else vae itself
    opt = torch.optim.Adam(vae.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs * steps)
    run = Run("vae", config, {"vae": vae}, {"opt": opt}, {"sched": sched})
    start = run.start()
    for epoch in range(start, config.epochs):
        vae.train()
        sums = {"loss": 0.0, "reconstruction": 0.0, "kl": 0.0}
        bar = progress_bar(zip(range(steps), batches.epoch(epoch)), steps, f"epoch {epoch + 1}/{config.epochs}",
                           config.progress)
        for step, (x, _) in bar:
            logits, mu, logvar = net(x)                                   # (B, 1, 28, 28), (B, latent_dim) x2
            loss, rec, kl = vae_loss(logits, x, mu, logvar, config.beta)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            run.check_finite(epoch - 1, step, loss=loss.item())
            for k, v in zip(sums, (loss, rec, kl)):
                sums[k] += v.item()
        run.log(**{k: v / steps for k, v in sums.items()})
        run.end_epoch(epoch)
    vae.eval()
    return VAEResult(vae, vae.decoder, run.history, run.dir)
