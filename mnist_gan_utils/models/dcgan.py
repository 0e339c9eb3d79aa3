"""The DCGAN (Radford et al., 2016) at 28x28: the generator and discriminator notebook 02 teaches.

``G`` maps noise to an image through transposed convolutions, each doubling the resolution, with BatchNorm
and ReLU, and ends in Tanh: pixels in [-1, 1], so the real digits are scaled to [-1, 1] too. ``D`` mirrors
it with strided convolutions and LeakyReLU and ends in one logit (no sigmoid: train it with
``binary_cross_entropy_with_logits``, which is numerically stable).
"""
from __future__ import annotations

import torch
from torch import nn

from .common import IMAGE_SHAPE, check_input, check_int, flat_noise


class Generator(nn.Module):
    """Noise ``(N, noise_dim)`` -> images ``(N, 1, 28, 28)`` in [-1, 1].

    Sample in ``eval()`` mode: in train mode BatchNorm normalises each batch with its own statistics, so
    a digit would depend on the other noise vectors of its batch."""

    def __init__(self, noise_dim: int = 64, channels: int = 32):
        super().__init__()
        check_int("noise_dim", noise_dim)
        check_int("channels", channels)
        self.noise_dim, self.channels = noise_dim, channels
        c = channels
        self.net = nn.Sequential(
            # input: (N, noise_dim, 1, 1), the noise as a 1x1 image with noise_dim channels
            nn.ConvTranspose2d(noise_dim, 4 * c, 7, 1, 0, bias=False), nn.BatchNorm2d(4 * c), nn.ReLU(True),
            # state size. (4c) x 7 x 7
            nn.ConvTranspose2d(4 * c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.ReLU(True),
            # state size. (2c) x 14 x 14
            nn.ConvTranspose2d(2 * c, 1, 4, 2, 1, bias=False), nn.Tanh(),
            # state size. 1 x 28 x 28, pixels in [-1, 1]
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = flat_noise(z)  # (N, noise_dim, 1, 1), as pytorch/examples feeds it, works too
        check_input("Generator input z", z, (self.noise_dim,), f"(N, {self.noise_dim})", self)
        return self.net(z[:, :, None, None])


class Discriminator(nn.Module):
    """Images ``(N, 1, 28, 28)`` in [-1, 1] -> one logit per image ``(N,)``: how real each looks.
    ``torch.sigmoid(D(x))`` is the probability ``D(x)``."""

    def __init__(self, channels: int = 64):
        super().__init__()
        check_int("channels", channels)
        self.channels = c = channels
        self.net = nn.Sequential(
            # input: (N, 1, 28, 28)
            nn.Conv2d(1, c, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
            # state size. c x 14 x 14
            nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2, True),
            # state size. (2c) x 7 x 7
            nn.Conv2d(2 * c, 1, 7, 1, 0, bias=False),
            # state size. 1 x 1 x 1: the logit
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input("Discriminator input x", x, IMAGE_SHAPE, "(N, 1, 28, 28)", self)
        return self.net(x).view(-1)
