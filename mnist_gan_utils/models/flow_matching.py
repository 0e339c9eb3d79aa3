"""Class-conditional flow matching (Lipman et al., 2023; Liu et al., 2023): a network that learns the velocity
of straight paths from Gaussian noise to digits, and the ODE solvers that follow it.

A path from noise ``x0 ~ N(0, I)`` to a digit ``x1`` is the straight line ``x_t = (1 - t) x0 + t x1``, whose
velocity is ``x1 - x0`` at every ``t``. :class:`VelocityUNet` ``v(x_t, t, label)`` is trained to predict it
(``mnist_gan_utils.training.flow_matching``); to draw a digit, start from noise at ``t = 0`` and follow
``v`` to ``t = 1`` in a few steps (:func:`euler_step`, :func:`midpoint_step`). Classifier-free guidance
(Ho & Salimans, 2022): the network also learns the velocity with no label (the *null label*,
``NUM_CLASSES``), and the sampler moves along ``v_none + w (v_label - v_none)``: ``w = 0`` draws without
a label, ``w = 1`` follows the label, ``w > 1`` follows it harder (cleaner digits, less variety).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .common import IMAGE_SHAPE, NUM_CLASSES, check_input, check_int, check_ints, memory_format

NULL_LABEL = NUM_CLASSES   # the label of "no label": what guidance compares the label with
SOLVERS = ("euler", "midpoint")


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features of the times ``t (N,)`` in [0, 1] -> ``(N, dim)`` (as a transformer embeds positions)."""
    half = dim // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half, device=t.device) / half)
    angles = 1000.0 * t[:, None] * freqs[None, :]
    return torch.cat([angles.sin(), angles.cos()], 1)


class ResBlock(nn.Module):
    """Two 3x3 convolutions with GroupNorm and SiLU, the time and label embedding added in between, and a
    skip connection: ``(N, c_in, H, W) -> (N, c_out, H, W)``."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(8, c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2, self.conv2 = nn.GroupNorm(8, c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]        # where on the path, and which digit: every block is told
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class VelocityUNet(nn.Module):
    """``v(x, t, labels)``: images ``(N, 1, 28, 28)`` on the path, times ``(N,)`` in [0, 1] and labels ``(N,)``
    in 0..10 (10: no label) -> velocities ``(N, 1, 28, 28)``.

    A small U-Net on 2x2 patches (shapes on the layers): starting at 14x14 rather than 28x28 makes it several
    times cheaper on a CPU, which matters because drawing a digit takes many evaluations."""

    def __init__(self, channels: int = 64, emb_dim: int = 128):
        super().__init__()
        check_ints(low=8, channels=channels, emb_dim=emb_dim)
        if channels % 8:
            raise ValueError(f"channels must be a multiple of 8 (GroupNorm's 8 groups), got {channels}")
        self.channels, self.emb_dim = c, e = channels, emb_dim
        self.time_mlp = nn.Sequential(nn.Linear(e, e), nn.SiLU(), nn.Linear(e, e))
        self.label_emb = nn.Embedding(NUM_CLASSES + 1, e)             # 10 digits and the null label
        self.patches = nn.Conv2d(1, c, 2, stride=2)                   # (N, c, 14, 14): one position per 2x2 patch
        self.down = ResBlock(c, c, e)                                 # (N, c, 14, 14)
        self.mid1 = ResBlock(c, 2 * c, e)                             # (N, 2c, 7, 7) after pooling
        self.mid2 = ResBlock(2 * c, 2 * c, e)                         # (N, 2c, 7, 7)
        self.up = ResBlock(3 * c, c, e)                               # (N, c, 14, 14): upsampled mid + down
        self.out = nn.Sequential(nn.GroupNorm(8, c), nn.SiLU(),
                                 nn.ConvTranspose2d(c, 1, 2, stride=2))  # (N, 1, 28, 28): back to pixels
        nn.init.zeros_(self.out[-1].weight), nn.init.zeros_(self.out[-1].bias)  # start as "no velocity"

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        check_input("VelocityUNet input x", x, IMAGE_SHAPE, "(N, 1, 28, 28)", self)
        emb = self.time_mlp(time_embedding(t, self.emb_dim)) + self.label_emb(labels)    # (N, emb_dim)
        h1 = self.down(self.patches(x), emb)                                            # (N, c, 14, 14)
        h = self.mid2(self.mid1(F.avg_pool2d(h1, 2), emb), emb)                         # (N, 2c, 7, 7)
        h = self.up(torch.cat([F.interpolate(h, scale_factor=2.0), h1], 1), emb)        # (N, c, 14, 14)
        return self.out(h)                                                              # (N, 1, 28, 28)


def guided_velocity(net: VelocityUNet, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor,
                    guidance: float) -> torch.Tensor:
    """``v_none + w (v_label - v_none)``, both velocities from one batch of twice the size."""
    if guidance == 0:
        return net(x, t, torch.full_like(labels, NULL_LABEL))
    if guidance == 1:
        return net(x, t, labels)
    v_label, v_none = net(torch.cat([x, x]), torch.cat([t, t]),
                          torch.cat([labels, torch.full_like(labels, NULL_LABEL)])).chunk(2)
    return v_none + guidance * (v_label - v_none)


def euler_step(velocity, x: torch.Tensor, t: float, dt: float) -> torch.Tensor:
    """Follow the velocity at ``(x, t)`` for ``dt``: one network evaluation."""
    return x + dt * velocity(x, t)


def midpoint_step(velocity, x: torch.Tensor, t: float, dt: float) -> torch.Tensor:
    """Take half a step, and the whole step with the velocity found there: second order, two evaluations."""
    x_half = x + 0.5 * dt * velocity(x, t)
    return x + dt * velocity(x_half, t + 0.5 * dt)


@torch.no_grad()
def solve(net: VelocityUNet, x0: torch.Tensor, labels: torch.Tensor, steps: int = 2, solver: str = "midpoint",
          guidance: float = 1.5, trajectory: bool = False):
    """From noise ``x0 (N, 1, 28, 28)`` at t = 0 to images at t = 1 in ``steps`` equal steps; with
    ``trajectory=True`` also every intermediate state ``[x0, ..., x1]``."""
    check_int("steps", steps)
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    step = euler_step if solver == "euler" else midpoint_step
    device = next(net.parameters()).device  # noise and labels drawn on the CPU follow the network (a GPU)
    x0, labels = x0.to(device), labels.to(device)

    def velocity(x, t):
        return guided_velocity(net, x, torch.full((x.shape[0],), t, device=x.device), labels, guidance)
    states = [x0]
    for i in range(steps):
        states.append(step(velocity, states[-1], i / steps, 1 / steps))
    return (states[-1], states) if trajectory else states[-1]


class FlowMatchingGenerator(nn.Module):
    """The flow-matching model as a generator: ``G(z, labels)`` with noise ``z (N, 784)`` -> images
    ``(N, 1, 28, 28)`` in [-1, 1], by :func:`solve` with the sampling settings ``steps``, ``solver`` and
    ``guidance`` (attributes: change them between draws; guidance 0 ignores the labels)."""

    conditional = True

    def __init__(self, channels: int = 64, emb_dim: int = 128, steps: int = 2, solver: str = "midpoint",
                 guidance: float = 1.5):
        super().__init__()
        self.net = VelocityUNet(channels, emb_dim)
        self.channels, self.emb_dim, self.noise_dim = channels, emb_dim, 28 * 28
        self.steps, self.solver, self.guidance = steps, solver, guidance

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        check_input("FlowMatchingGenerator input z", z.flatten(1), (self.noise_dim,), "(N, 784)", self)
        if labels is None:
            labels = torch.full((z.shape[0],), NULL_LABEL, dtype=torch.long, device=z.device)
        layout = memory_format(z.device)  # channels-last on a CPU: faster drawing (docs/benchmarks.md), same numbers
        self.net.to(memory_format=layout)
        x0 = z.reshape(-1, *IMAGE_SHAPE).contiguous(memory_format=layout)
        return solve(self.net, x0, labels, self.steps, self.solver, self.guidance).clamp(-1, 1).contiguous()
