"""The conditional DCGAN (cGAN): G and D are told the digit (Mirza & Osindero, 2014)."""
from __future__ import annotations

import torch
from torch import nn

from .common import IMAGE_SHAPE, NUM_CLASSES, check_input, check_int, check_ints, check_labels, flat_noise
from .labelled import _add_label_parts, _generator_net, _labelled_logits


class ConditionalGenerator(nn.Module):
    """Conditional DCGAN generator (cGAN): noise ``(N, noise_dim)`` and digit labels ``(N,)`` -> image
    ``(N, 1, 28, 28)`` in [-1, 1]. The label's embedding (``embed_dim`` numbers) joins the noise in the
    labelled generators' body (``labelled._generator_net``; ``deep`` adds a 3x3 convolution at 14x14), not
    notebook 02's :class:`Generator`."""

    conditional = True

    def __init__(self, noise_dim: int = 64, channels: int = 32, deep: bool = True, embed_dim: int = 16):
        super().__init__()
        check_ints(noise_dim=noise_dim, channels=channels, embed_dim=embed_dim)
        self.noise_dim, self.channels, self.deep, self.embed_dim = noise_dim, channels, deep, embed_dim
        self.embed = nn.Embedding(NUM_CLASSES, embed_dim)                 # (N,) -> (N, embed_dim)
        self.net = _generator_net(noise_dim + embed_dim, channels, deep)

    def decode(self, z: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """Images from noise and label *embeddings* ``(N, embed_dim)``: class interpolation mixes these."""
        z = flat_noise(z)
        check_input("ConditionalGenerator input z", z, (self.noise_dim,), f"(N, {self.noise_dim})", self)
        check_input("ConditionalGenerator embedding", embedding, (self.embed_dim,), f"(N, {self.embed_dim})", self)
        return self.net(torch.cat([z, embedding], 1)[:, :, None, None])  # in: (N, noise_dim + embed_dim, 1, 1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        check_labels("ConditionalGenerator labels", labels, z.shape[0] if isinstance(z, torch.Tensor) else None)
        return self.decode(z, self.embed(labels.long()))


class ConditionalDiscriminator(nn.Module):
    """Conditional DCGAN discriminator: image ``(N, 1, 28, 28)`` in [-1, 1] and labels ``(N,)`` -> one
    logit per image, so D judges "a real *3*", not just "a real digit".

    The label enters twice: embedded as a 28x28 map joined to the image as a second channel (the
    classic cGAN), and as a *projection* on D's last features (Miyato & Koyama, 2018):
    ``logit = head(f) + <embed(y), f>``. Joining alone left a quarter of the samples drawn as the wrong
    digit after 3 epochs here; the projection makes the label count in every logit.
    """

    conditional = True
    num_labels = NUM_CLASSES

    def __init__(self, channels: int = 32, norm: str = "spectral", deep: bool = True):
        super().__init__()
        check_int("channels", channels)
        self.channels, self.norm, self.deep = channels, norm, deep
        _add_label_parts(self, NUM_CLASSES, channels, norm, deep)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        check_input("ConditionalDiscriminator input x", x, IMAGE_SHAPE, "(N, 1, 28, 28)", self)
        check_labels("ConditionalDiscriminator labels", labels, x.shape[0])
        return _labelled_logits(self, x, labels.long())
