"""The parts shared by the DCGANs that see a label, either a digit (the conditional GAN) or a k-means
cluster of look-alike digits (the self-conditioned GAN): G's and D's bodies, and a cluster's vector."""
from __future__ import annotations

import torch
from torch import nn

from .common import IMAGE_SHAPE

CLUSTER_EMBEDDINGS = ("centroid", "table")  # how a self-conditioned G and D turn a cluster number into a vector


class CentroidEmbedding(nn.Module):
    """A cluster's vector computed from where the cluster lies, not looked up in a table: a small MLP of
    its k-means centroid (``points``, the standardised principal components, set by training). Cluster
    numbers ``(N,)`` -> ``(N, out_dim)``, like ``nn.Embedding``.

    Neighbouring clusters get neighbouring vectors, so what G and D learn of one cluster carries to its
    look-alikes; with a table (``nn.Embedding``), each cluster's vector learns only from its own digits."""

    hidden = 256

    def __init__(self, clusters: int, out_dim: int, pca_dim: int = 50, spectral: bool = False):
        super().__init__()
        wrap = nn.utils.parametrizations.spectral_norm if spectral else (lambda m: m)
        # until training sets the centroids: fixed random points, so that every cluster already differs
        self.register_buffer("points", torch.randn(clusters, pca_dim, generator=torch.Generator().manual_seed(0)))
        self.net = nn.Sequential(wrap(nn.Linear(pca_dim, self.hidden)), nn.LeakyReLU(0.2),
                                 wrap(nn.Linear(self.hidden, out_dim)))

    def set_points(self, centroids: torch.Tensor) -> None:
        """Store the centroids ``(clusters, pca_dim)``, standardised (zero mean, unit overall spread)."""
        with torch.no_grad():
            c = centroids.to(self.points)
            c = c - c.mean(0)
            self.points.copy_(c / c.std().clamp_min(1e-8))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        # each cluster of the batch once through the MLP: (U, pca_dim) -> (U, out_dim) -> (N, out_dim)
        # (F.embedding's backward sums the rows' gradients in a fixed order: plain indexing's need not)
        unique, inverse = torch.unique(codes, return_inverse=True)
        return nn.functional.embedding(inverse, self.net(self.points[unique]))


def check_cluster_embedding(kind: str) -> None:
    if kind not in CLUSTER_EMBEDDINGS:
        raise ValueError(f"cluster_embedding must be one of {CLUSTER_EMBEDDINGS}, got {kind!r}")


def _embedding_args(state_dict: dict) -> dict:
    """``clusters`` and ``cluster_embedding`` from a self-conditioned network's weights."""
    for key, kind in (("embed.points", "centroid"), ("embed.weight", "table")):
        if key in state_dict:
            return {"clusters": int(state_dict[key].shape[0]), "cluster_embedding": kind}
    return {"clusters": 0}


def _generator_net(in_dim: int, c: int, deep: bool) -> nn.Sequential:
    """The DCGAN generator body: ``(N, in_dim, 1, 1)`` -> ``(N, 1, 28, 28)`` in [-1, 1]."""
    return nn.Sequential(
        # (N, in_dim, 1, 1) -> (N, 4c, 7, 7)
        nn.ConvTranspose2d(in_dim, 4 * c, 7, 1, 0, bias=False), nn.BatchNorm2d(4 * c), nn.ReLU(True),
        # (N, 4c, 7, 7) -> (N, 2c, 14, 14)
        nn.ConvTranspose2d(4 * c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.ReLU(True),
        # deep: (N, 2c, 14, 14) -> (N, 2c, 14, 14), a 3x3 convolution at the same resolution: more capacity
        *([nn.Conv2d(2 * c, 2 * c, 3, 1, 1, bias=False), nn.BatchNorm2d(2 * c), nn.ReLU(True)] if deep else []),
        # (N, 2c, 14, 14) -> (N, 1, 28, 28)
        nn.ConvTranspose2d(2 * c, 1, 4, 2, 1), nn.Tanh(),
    )


def _add_label_parts(module: nn.Module, num: int, channels: int, norm: str, deep: bool,
                     embedding: str = "table", pca_dim: int = 50) -> None:
    """A D that knows each image's label (a digit, or a cluster), as :class:`.ConditionalDiscriminator`
    describes; ``embedding='centroid'`` computes the label's map and projection with :class:`CentroidEmbedding`."""
    if norm not in ("batch", "spectral", "none"):
        raise ValueError(f"norm must be 'batch', 'spectral' or 'none', got {norm!r}")
    spectral, centroid = norm == "spectral", embedding == "centroid"
    sn = nn.utils.parametrizations.spectral_norm if spectral else (lambda m: m)
    bn = nn.BatchNorm2d if norm == "batch" else (lambda ch: nn.Identity())
    c, top = channels, (4 if deep else 2) * channels
    module.embed = (CentroidEmbedding(num, 28 * 28, pca_dim, spectral) if centroid    # (N,) -> (N, 784) label map
                    else nn.Embedding(num, 28 * 28))
    module.features = nn.Sequential(
        # (N, 2, 28, 28): the image and its label's map -> (N, c, 14, 14)
        sn(nn.Conv2d(2, c, 4, 2, 1)), nn.LeakyReLU(0.2, True),
        # (N, c, 14, 14) -> (N, 2c, 7, 7)
        sn(nn.Conv2d(c, 2 * c, 4, 2, 1, bias=norm != "batch")), bn(2 * c), nn.LeakyReLU(0.2, True),
        # deep: (N, 2c, 7, 7) -> (N, 4c, 7, 7)
        *([sn(nn.Conv2d(2 * c, 4 * c, 3, 1, 1, bias=norm != "batch")), bn(4 * c), nn.LeakyReLU(0.2, True)]
          if deep else []),
        nn.Flatten(),  # (N, top * 49)
    )
    module.head = sn(nn.Linear(top * 49, 1))                                  # (N, 1) logit
    if centroid:                                                              # (N,) -> (N, top * 49)
        module.project = CentroidEmbedding(num, top * 49, pca_dim, spectral)
    else:
        module.project = project = sn(nn.Embedding(num, top * 49))            # (N,) -> (N, top * 49)
        nn.init.normal_(project.parametrizations.weight.original if spectral else project.weight, std=0.02)


def _labelled_logits(module: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    label_map = module.embed(labels).view(-1, *IMAGE_SHAPE)                   # (N, 1, 28, 28)
    f = module.features(torch.cat([x, label_map], 1))                         # (N, 2, 28, 28) -> (N, top * 49)
    return module.head(f).view(-1) + (module.project(labels) * f).sum(1)      # (N,) logits
