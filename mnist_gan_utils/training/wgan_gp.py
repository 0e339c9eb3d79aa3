"""WGAN-GP (Gulrajani et al., 2017), an add-on of the DCGAN: a critic that scores digits instead of a
discriminator that classifies them, kept 1-Lipschitz by a gradient penalty, and ``n_critic`` critic updates
per generator update. The networks are the DCGAN's G and :class:`~mnist_gan_utils.models.Critic`."""
from __future__ import annotations

import dataclasses

import torch

from ..models.common import integer, rule
from . import distributed
from .conditional import _cond

GP_WEIGHT = 10.0  # the paper's weight of the penalty


@dataclasses.dataclass
class WGANGPConfig:
    """WGAN-GP's settings (a part of :class:`~.gan.GANConfig`)."""

    loss: str = "bce"              # 'bce' (the DCGAN's) or 'wgan-gp' (this critic with its gradient penalty)
    n_critic: int = 5              # wgan-gp: critic updates (each on a fresh batch) per generator update

    CHECKS = dict(loss=rule(lambda v: v in ("bce", "wgan-gp"), "'bce' or 'wgan-gp'"), n_critic=integer(1, 100))


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor,
                     labels: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP's penalty: mean over examples of (||grad_x D(x_hat)|| - 1)^2, with x_hat on the line
    between each real and fake image (``eps (B,)`` in [0, 1]). Computed per example, so the critic
    must not mix examples (no BatchNorm)."""
    x_hat = (eps.view(-1, 1, 1, 1) * real + (1 - eps.view(-1, 1, 1, 1)) * fake).requires_grad_(True)
    grad, = torch.autograd.grad(D(x_hat, *_cond(labels)).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def wgan_gp_step(G, D, opt_G, opt_D, real, z, rng: torch.Generator | None = None,
                 labels: torch.Tensor | None = None, update_G: bool = True) -> dict:
    """One WGAN-GP critic update on this batch of real images, then (when ``update_G``) one generator
    update. The loop sets ``update_G`` on every ``n_critic``-th batch, so the critic sees fresh real digits
    at each of its updates. ``D_x`` and ``D_G_z`` are mean critic scores, not probabilities; ``loss_G`` is
    None on the batches without a generator update."""
    c = _cond(labels)
    with torch.no_grad():
        fake = G(z, *c)                                                  # (B, 1, 28, 28), no graph needed
    opt_D.zero_grad(set_to_none=True)
    d_real, d_fake = D(real, *c), D(fake, *c)                            # (B,) critic scores
    eps = torch.rand(real.shape[0], generator=rng).to(real.device)
    # Wasserstein estimate E[D(G(z))] - E[D(x)] plus the penalty that keeps D 1-Lipschitz
    loss_D = d_fake.mean() - d_real.mean() + GP_WEIGHT * gradient_penalty(D, real, fake, eps, labels)
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
