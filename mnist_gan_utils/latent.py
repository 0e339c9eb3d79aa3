"""Walking the latent space: linear and spherical interpolation between noise vectors."""
from __future__ import annotations

import torch


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int = 10, method: str = "slerp") -> torch.Tensor:
    """``steps`` codes from ``z0`` to ``z1`` (each ``(D,)``), returned as ``(steps, D)``.

    ``'linear'`` walks the straight line; its midpoints have a smaller norm than Gaussian noise usually
    has, so they can look washed out. ``'slerp'`` (spherical) walks the great circle and keeps the norm
    typical, which usually gives sharper midpoints.
    """
    if method not in ("linear", "slerp"):
        raise ValueError(f"method must be 'linear' or 'slerp', got {method!r}")
    if not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be an integer >= 2, got {steps!r}")
    if z0.shape != z1.shape or z0.ndim != 1:
        raise ValueError(f"z0 and z1 must be two vectors of the same size, got {tuple(z0.shape)} and {tuple(z1.shape)}")
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)[:, None]
    if method == "linear":
        return (1 - t) * z0 + t * z1
    cos = torch.dot(z0 / z0.norm(), z1 / z1.norm()).clamp(-1 + 1e-7, 1 - 1e-7)
    omega = torch.arccos(cos)
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
