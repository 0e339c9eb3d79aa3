"""The DCGAN step with labels, the conditional GAN's (Mirza and Osindero, 2014) and the self-conditioned
GAN's (whose labels are k-means clusters): G draws the digit of a label, D judges an image with its label.
With ``labels=None`` it is the DCGAN's own step, D's weights frozen while G learns (one backward less)."""
from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from ..models.common import integer, number, rule
from . import distributed


@dataclasses.dataclass
class ConditionalConfig:
    """The conditional GAN's settings (a part of :class:`~.gan.GANConfig`); ``embed_dim`` and ``mismatch``
    also serve self-conditioning, whose labels are clusters."""

    conditional: bool = False      # cGAN: the digit label is embedded and joined to G's noise and to D's image
    embed_dim: int = 16            # size of G's label (or cluster) embedding
    mismatch: float = 0.5          # bce, when D sees labels: weight of "real digit, wrong label = fake" in D's loss

    CHECKS = dict(conditional=rule(lambda v: isinstance(v, bool), "True or False"), embed_dim=integer(1, 1024),
                  mismatch=number(0.0, 10.0))


def _cond(labels):
    """Extra arguments of a conditional network: the labels, or nothing for an unconditional one."""
    return () if labels is None else (labels,)


def gan_step(G, D, opt_G, opt_D, real: torch.Tensor, z: torch.Tensor, labels: torch.Tensor | None = None,
             mismatch: float = 0.0, rng: torch.Generator | None = None,
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
        shift = torch.randint(1, k, labels.shape, generator=rng).to(labels.device)
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
