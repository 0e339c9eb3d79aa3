"""The DCGAN (Radford et al., 2016) at 28x28: the generator and discriminator notebook 02 teaches.

The pair is the one the published MNIST GAN of this kit's loading idiom used (``Generator(noise_dim=64)``).
``D`` ends in a logit, not a sigmoid: ``binary_cross_entropy_with_logits`` is numerically stable.
A transposed convolution with kernel k and stride s turns size n into (n - 1) * s + k, and a convolution
turns n into (n - k) // s + 1. 28 is not a power of two, so the kernels are odd where they need to be:
G goes 1 -> 3 -> 6 -> 13 -> 28 and D goes 28 -> 13 -> 5 -> 1. Why this pair and not another:
docs/experiments/plain_dcgan.md.
"""
from __future__ import annotations

import torch
from torch import nn

from .common import IMAGE_SHAPE, check_input, check_int, flat_noise


def _up(c_in: int, c_out: int, kernel: int, stride: int) -> list:
    """One block of G: a transposed convolution, then BatchNorm and ReLU."""
    return [nn.ConvTranspose2d(c_in, c_out, kernel, stride), nn.BatchNorm2d(c_out), nn.ReLU(True)]


def _down(c_in: int, c_out: int, kernel: int) -> list:
    """One block of D: a convolution of stride 2, then BatchNorm and LeakyReLU."""
    return [nn.Conv2d(c_in, c_out, kernel, 2), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, True)]


class Generator(nn.Module):
    """Noise ``(N, noise_dim)`` -> images ``(N, 1, 28, 28)`` in [-1, 1].

    Sample in ``eval()`` mode: in train mode BatchNorm normalises each batch with its own statistics, so
    a digit would depend on the other noise vectors of its batch."""

    def __init__(self, noise_dim: int = 64, channels: int = 64):
        super().__init__()
        check_int("noise_dim", noise_dim)
        check_int("channels", channels)
        self.noise_dim, self.channels = noise_dim, channels
        c = channels
        self.net = nn.Sequential(
            # input: (N, noise_dim, 1, 1), the noise as a 1x1 image with noise_dim channels
            *_up(noise_dim, 4 * c, 3, 2),
            # state size. (4c) x 3 x 3: (1 - 1) * 2 + 3
            *_up(4 * c, 2 * c, 4, 1),
            # state size. (2c) x 6 x 6: stride 1, the kernel alone adds 3
            *_up(2 * c, c, 3, 2),
            # state size. c x 13 x 13: (6 - 1) * 2 + 3
            nn.ConvTranspose2d(c, 1, 4, 2), nn.Tanh(),
            # state size. 1 x 28 x 28: (13 - 1) * 2 + 4, pixels in [-1, 1]
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = flat_noise(z)  # (N, noise_dim, 1, 1), as pytorch/examples feeds it, works too
        check_input("Generator input z", z, (self.noise_dim,), f"(N, {self.noise_dim})", self)
        return self.net(z[:, :, None, None])


class Discriminator(nn.Module):
    """Images ``(N, 1, 28, 28)`` in [-1, 1] -> one logit per image ``(N,)``: how real each looks.
    ``torch.sigmoid(D(x))`` is the probability ``D(x)``.

    BatchNorm is on every block, the first too (the DCGAN paper leaves it off D's first layer): the step
    shows D the real batch and the fake batch in separate calls, so neither is normalised with the
    other's statistics."""

    def __init__(self, channels: int = 16):
        super().__init__()
        check_int("channels", channels)
        self.channels = c = channels
        self.net = nn.Sequential(
            # input: (N, 1, 28, 28)
            *_down(1, c, 3),
            # state size. c x 13 x 13: (28 - 3) // 2 + 1
            *_down(c, 2 * c, 5),
            # state size. (2c) x 5 x 5: (13 - 5) // 2 + 1
            *_down(2 * c, 4 * c, 5),
            # state size. (4c) x 1 x 1: (5 - 5) // 2 + 1
            nn.Flatten(), nn.Linear(4 * c, 1),
            # state size. 1: the logit
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input("Discriminator input x", x, IMAGE_SHAPE, "(N, 1, 28, 28)", self)
        return self.net(x).view(-1)
