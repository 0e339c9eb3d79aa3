"""WGAN-GP's critic (Gulrajani et al., 2017): the DCGAN discriminator without BatchNorm."""
from __future__ import annotations

import torch
from torch import nn

from .common import IMAGE_SHAPE, check_input, check_int


class Critic(nn.Module):
    """Images ``(N, 1, 28, 28)`` in [-1, 1] -> one score per image ``(N,)`` (a number, not a probability).

    No BatchNorm: the gradient penalty is computed per example, and BatchNorm would make each example's
    score depend on the others."""

    def __init__(self, channels: int = 32):
        super().__init__()
        check_int("channels", channels)
        self.channels = c = channels
        self.net = nn.Sequential(
            # input: (N, 1, 28, 28)
            nn.Conv2d(1, c, 4, 2, 1), nn.LeakyReLU(0.2, True),
            # state size. c x 14 x 14
            nn.Conv2d(c, 2 * c, 4, 2, 1), nn.LeakyReLU(0.2, True),
            # state size. (2c) x 7 x 7
            nn.Conv2d(2 * c, 1, 7, 1, 0),
            # state size. 1 x 1 x 1: the score
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input("Critic input x", x, IMAGE_SHAPE, "(N, 1, 28, 28)", self)
        return self.net(x).view(-1)
