"""Drawing digits from the kit's generative models: noise in, images in [0, 1] out."""
from __future__ import annotations

import torch
from torch import nn

from .models import NUM_CLASSES, Decoder


def to_unit(images: torch.Tensor, model: nn.Module | None = None) -> torch.Tensor:
    """Map a model's output to [0, 1]: Tanh outputs (Generator) from [-1, 1]; Decoder outputs as they are."""
    return images if isinstance(model, Decoder) else (images + 1) / 2


def latent_size(model: nn.Module) -> int:
    for attr in ("noise_dim", "latent_dim"):
        if hasattr(model, attr):
            return getattr(model, attr)
    raise TypeError(f"{type(model).__name__} has no noise_dim or latent_dim: is it a generator?")


def balanced_labels(n: int) -> torch.Tensor:
    """``0, 1, ..., 9, 0, 1, ...``: ``n`` labels, every digit as often as the others (to within one)."""
    return torch.arange(n) % NUM_CLASSES


@torch.no_grad()
def sample(model: nn.Module, n: int, seed: int = 0, device=None, batch_size: int = 1000,
           z: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> torch.Tensor:
    """``n`` images in [0, 1] from a ``Generator`` or ``Decoder`` fed standard Gaussian noise (seeded).
    A ``ConditionalGenerator`` draws ``labels`` (default: :func:`balanced_labels`).
    The model is put in ``eval()`` mode first, so BatchNorm uses its running statistics."""
    if not isinstance(n, int) or n <= 0:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    model.eval()
    device = device or next(model.parameters()).device
    if z is None:
        z = torch.randn(n, latent_size(model), generator=torch.Generator().manual_seed(seed))
    conditional = getattr(model, "conditional", False)
    if conditional and labels is None:
        labels = balanced_labels(z.shape[0])
    inputs = (z, labels) if conditional else (z,)
    return torch.cat([to_unit(model(*(x[i:i + batch_size].to(device) for x in inputs)), model).cpu()
                      for i in range(0, z.shape[0], batch_size)])


@torch.no_grad()
def sample_digits(predictor: nn.Module | None, generator: nn.Module, digits, n_per_digit: int = 10, seed: int = 0):
    """Images in [0, 1] of the digits asked for: through the latent code predictor and the unconditional
    generator, or (``predictor=None``) straight from a ``ConditionalGenerator``.
    Returns ``(images (len(digits) * n_per_digit, 1, 28, 28), labels)``."""
    labels = torch.as_tensor(list(digits), dtype=torch.long).repeat_interleave(n_per_digit)
    if predictor is None:
        if not getattr(generator, "conditional", False):
            raise TypeError("an unconditional Generator cannot be asked for a digit by itself: pass the latent "
                            "code predictor as `predictor`, or use a ConditionalGenerator")
        return sample(generator, labels.shape[0], seed, labels=labels), labels
    predictor.eval(), generator.eval()
    device = next(generator.parameters()).device
    eps = torch.randn(labels.shape[0], predictor.eps_dim, generator=torch.Generator().manual_seed(seed))
    z = predictor(labels.to(device), eps.to(device))
    return to_unit(generator(z), generator).cpu(), labels
