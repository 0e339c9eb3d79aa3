"""The kit's judges: a CNN digit classifier whose penultimate features also serve the Fréchet distance,
and a second classifier of another kind (an MLP) for figures a model was trained against the first one for."""
from __future__ import annotations

import torch
from torch import nn

from .common import IMAGE_SHAPE, NUM_CLASSES, check_input, check_int, check_ints

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


class Classifier(nn.Module):
    """CNN digit classifier: image ``(N, 1, 28, 28)`` in [0, 1] -> 10 logits."""

    def __init__(self, channels: int = 32, feature_dim: int = 128, dropout: float = 0.3):
        super().__init__()
        check_ints(channels=channels, feature_dim=feature_dim)
        self.channels, self.feature_dim = c, f = channels, feature_dim

        def block(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]

        self.body = nn.Sequential(
            *block(1, c), *block(c, c), nn.MaxPool2d(2),              # (N, c, 14, 14)
            *block(c, 2 * c), *block(2 * c, 2 * c), nn.MaxPool2d(2),  # (N, 2c, 7, 7)
            nn.Flatten(), nn.Dropout(dropout),                        # (N, 2c * 49)
            nn.Linear(2 * c * 49, f, bias=False), nn.BatchNorm1d(f), nn.ReLU(True),  # (N, f) features
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(f, NUM_CLASSES))  # (N, 10) logits

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate ``(N, feature_dim)`` activations, used for the Fréchet distance."""
        check_input("Classifier input x", x, IMAGE_SHAPE, "(N, 1, 28, 28)", self)
        return self.body((x - MNIST_MEAN) / MNIST_STD)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class MLPClassifier(nn.Module):
    """A second judge, of another kind: pixels ``(N, 1, 28, 28)`` in [0, 1] -> two hidden layers -> 10 logits.

    Never used to train a generator: a model tuned to please the CNN (the latent code predictor is) is
    scored by this one too, so a figure that only the CNN believes shows up as a gap between the two."""

    def __init__(self, hidden: int = 512, dropout: float = 0.2):
        super().__init__()
        check_int("hidden", hidden)
        self.hidden = hidden
        self.net = nn.Sequential(
            nn.Flatten(),                                                   # (N, 784)
            nn.Linear(784, hidden), nn.ReLU(True), nn.Dropout(dropout),     # (N, hidden)
            nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(dropout),  # (N, hidden)
            nn.Linear(hidden, NUM_CLASSES),                                 # (N, 10) logits
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input("MLPClassifier input x", x, IMAGE_SHAPE, "(N, 1, 28, 28)", self)
        return self.net((x - MNIST_MEAN) / MNIST_STD)
