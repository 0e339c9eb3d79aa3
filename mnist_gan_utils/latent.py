"""Walking the latent space: linear and spherical interpolation between noise vectors."""
from __future__ import annotations

import torch

from .models.common import check_int
from .sampling import sample, to_unit


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int = 10, method: str = "slerp") -> torch.Tensor:
    """``steps`` codes from ``z0`` to ``z1`` (each ``(D,)``), returned as ``(steps, D)``.

    ``'linear'`` walks the straight line; its midpoints have a smaller norm than Gaussian noise usually
    has, so they can look washed out. ``'slerp'`` (spherical) walks the great circle and keeps the norm
    typical, which usually gives sharper midpoints.
    """
    if method not in ("linear", "slerp"):
        raise ValueError(f"method must be 'linear' or 'slerp', got {method!r}")
    check_int("steps", steps, low=2)
    if z0.shape != z1.shape or z0.ndim != 1:
        raise ValueError(f"z0 and z1 must be two vectors of the same size, got {tuple(z0.shape)} and {tuple(z1.shape)}")
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)[:, None]
    if method == "linear":
        return (1 - t) * z0 + t * z1
    omega = torch.arccos(torch.dot(z0 / z0.norm(), z1 / z1.norm()).clamp(-1 + 1e-7, 1 - 1e-7))  # their angle
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def latent_walk(generator, z0: torch.Tensor, z1: torch.Tensor, steps: int = 10, method: str = "slerp",
                label: int | None = None) -> torch.Tensor:
    """Images in [0, 1] ``(steps, 1, 28, 28)`` along the path from ``z0`` to ``z1``. A conditional
    generator keeps the digit ``label`` fixed while the noise (its style) changes."""
    conditional = getattr(generator, "conditional", False)
    if conditional and label is None:
        raise ValueError("a conditional generator needs the digit to draw: pass label=0..9")
    labels = torch.full((steps,), int(label), dtype=torch.long) if conditional else None
    return sample(generator, steps, z=interpolate(z0, z1, steps, method), labels=labels)


@torch.no_grad()
def class_interpolation(generator, z: torch.Tensor, digit_a: int, digit_b: int, steps: int = 10) -> torch.Tensor:
    """Class interpolation for a ``ConditionalGenerator``: the same noise ``z (noise_dim,)`` (the same
    style) while the label embedding moves in a straight line from ``digit_a``'s to ``digit_b``'s.
    Returns images in [0, 1] ``(steps, 1, 28, 28)``; the midpoints show what lies between two classes."""
    if not getattr(generator, "conditional", False):
        raise TypeError("class interpolation needs a ConditionalGenerator (an unconditional one has no label input)")
    for name, d in (("digit_a", digit_a), ("digit_b", digit_b)):
        if not isinstance(d, int) or not 0 <= d <= 9:
            raise ValueError(f"{name} must be a digit 0..9, got {d!r}")
    generator.eval()
    device = next(generator.parameters()).device
    e = generator.embed(torch.tensor([digit_a, digit_b], device=device))       # (2, embed_dim)
    embedding = interpolate(e[0], e[1], steps, "linear")                         # (steps, embed_dim)
    return to_unit(generator.decode(z.to(device).expand(steps, -1), embedding), generator).cpu()
