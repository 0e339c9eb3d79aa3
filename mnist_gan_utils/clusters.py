"""Digit clusters found without labels (the self-conditioned GAN), and a Gaussian mixture (the decoder's prior).

k-means on the principal components of the pixels (Lloyd's algorithm from a seeded k-means++ start).
No label is read: the clusters are groups of digits that *look* alike (a slanted 1, an upright 1, a
round 0, ...). The self-conditioned GAN (Liu et al., 2020, "Diverse image generation via
self-conditioned GANs") tells G and D which cluster a digit belongs to, which turns one hard problem
(all of MNIST from one Gaussian) into many easier ones, much as the conditional GAN's labels do.
``training.distributed.shared_clusters`` fits them for a training run (the same clusters in every process).
"""
from __future__ import annotations

import dataclasses
import math

import torch

from .evaluation import _check_images

PCA_DIM = 50          # principal components kept: ~83% of the pixel variance of MNIST
PCA_FIT_SAMPLES = 20_000  # the components are fitted on this many digits (the rest add little)


@dataclasses.dataclass
class PixelClusters:
    """A fitted clustering: ``mean (784,)``, ``components (pca_dim, 784)``, ``centroids (k, pca_dim)``,
    ``prior (k,)`` (each cluster's share of the training digits) and ``assignments (N,)``."""

    mean: torch.Tensor
    components: torch.Tensor
    centroids: torch.Tensor
    prior: torch.Tensor
    assignments: torch.Tensor

    def assign(self, images: torch.Tensor) -> torch.Tensor:
        """The nearest cluster of each image (uint8 ``(N, 28, 28)`` or float ``(N, 1, 28, 28)`` in [0, 1])."""
        return nearest_cluster(_check_images(images).flatten(1), self.mean, self.components, self.centroids)

    def purity(self, labels: torch.Tensor) -> float:
        """Share of digits whose label is their cluster's most common one (a check only; fitting never reads labels)."""
        counts = torch.bincount(self.assignments * 10 + labels.long(), minlength=len(self.centroids) * 10)
        return float(counts.view(-1, 10).max(1).values.sum()) / labels.numel()


def nearest(points: torch.Tensor, centroids: torch.Tensor, batch_size: int = 10_000) -> torch.Tensor:
    """Index of the nearest centroid for each point, in batches (bounded memory)."""
    return torch.cat([torch.cdist(points[i:i + batch_size], centroids).argmin(1)
                      for i in range(0, points.shape[0], batch_size)])


def nearest_cluster(pixels: torch.Tensor, mean: torch.Tensor, components: torch.Tensor,
                    centroids: torch.Tensor) -> torch.Tensor:
    """The cluster of each image ``pixels (N, 784)`` in [0, 1]: its nearest centroid in the principal components."""
    return nearest((pixels - mean) @ components.T, centroids)


def fit_clusters(images: torch.Tensor, k: int = 50, pca_dim: int = PCA_DIM, seed: int = 0) -> PixelClusters:
    """Cluster ``images`` (uint8 ``(N, 28, 28)`` or float ``(N, 1, 28, 28)`` in [0, 1]) into ``k`` groups.

    Deterministic for a given ``seed``; ~3 s for the 60,000 training digits on 2 CPU cores."""
    if not isinstance(k, int) or isinstance(k, bool) or not 2 <= k <= images.shape[0]:
        raise ValueError(f"k must be an integer in [2, {images.shape[0]}] (the number of images), got {k!r}")
    rng = torch.Generator().manual_seed(seed)
    x = _check_images(images).flatten(1)
    mean = x.mean(0)
    fit_rows = torch.randperm(x.shape[0], generator=rng)[:PCA_FIT_SAMPLES]
    _, _, v = torch.linalg.svd(x[fit_rows] - mean, full_matrices=False)
    components = v[:pca_dim]                                   # (pca_dim, 784)
    p = (x - mean) @ components.T                              # (N, pca_dim)

    centroids = kmeans(p, k, iterations=30, rng=rng)
    assign = nearest(p, centroids)
    prior = torch.bincount(assign, minlength=k).float() / assign.numel()
    return PixelClusters(mean, components, centroids, prior, assign)


def kmeans(points: torch.Tensor, k: int, iterations: int, rng: torch.Generator) -> torch.Tensor:
    """Centroids ``(k, D)`` of ``points (N, D)``: a k-means++ start, then Lloyd's iterations."""
    # k-means++ start: each new centroid drawn with probability proportional to its squared distance
    centroids = points[torch.randint(points.shape[0], (1,), generator=rng)]
    d2 = torch.cdist(points, centroids).squeeze(1) ** 2
    for _ in range(k - 1):
        centroids = torch.cat([centroids, points[torch.multinomial(d2 / d2.sum(), 1, generator=rng)]])
        d2 = torch.minimum(d2, torch.cdist(points, centroids[-1:]).squeeze(1) ** 2)
    for _ in range(iterations):  # Lloyd: assign, then move each centroid to its members' mean
        assign = nearest(points, centroids)
        sums = torch.zeros_like(centroids).index_add_(0, assign, points)
        counts = torch.bincount(assign, minlength=k)
        keep = counts > 0  # an empty cluster keeps its centroid
        centroids[keep] = sums[keep] / counts[keep, None]
    return centroids


@dataclasses.dataclass
class GaussianMixture:
    """A fitted mixture: ``weights (k,)``, ``means (k, D)``, ``covariances (k, D, D)``."""

    weights: torch.Tensor
    means: torch.Tensor
    covariances: torch.Tensor

    def log_likelihood(self, x: torch.Tensor) -> float:
        """Mean log density of the rows of ``x (N, D)`` (nats): compare mixtures on held-out points."""
        return _mixture_log_prob(x.double(), self.weights.double(), self.means.double(),
                                 self.covariances.double()).logsumexp(1).mean().item()


def _outer(x):
    """``(N, D * D)``: each row's outer product with itself, flattened."""
    return (x[:, :, None] * x[:, None, :]).reshape(x.shape[0], -1)


def _mixture_log_prob(x, weights, means, covariances, xx=None):
    """``(N, k)``: log w_k + log N(x_n; m_k, S_k), as matrix products (fast for small D); ``xx`` is
    ``_outer(x)`` if already computed."""
    d = x.shape[1]
    precision = torch.linalg.inv(covariances)                                      # (k, D, D)
    pm = (precision @ means[:, :, None])[:, :, 0]                                  # (k, D)
    quad = ((_outer(x) if xx is None else xx) @ precision.reshape(-1, d * d).T
            - 2 * x @ pm.T + (means * pm).sum(1))                                  # (N, k) Mahalanobis^2
    logdet = torch.linalg.slogdet(covariances)[1]
    return weights.clamp_min(1e-12).log() - 0.5 * (quad + logdet + d * math.log(2 * math.pi))


def fit_gaussian_mixture(x: torch.Tensor, k: int, iterations: int = 100, seed: int = 0,
                         reg: float = 1e-4, tol: float = 1e-6) -> GaussianMixture:
    """Fit ``k`` full-covariance Gaussians to the rows of ``x (N, D)`` by EM from a k-means start.

    ``reg`` is added to every covariance's diagonal (no component collapses onto a point); EM stops when
    the mean log-likelihood gains less than ``tol``. Deterministic for a given ``seed``."""
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= x.shape[0]:
        raise ValueError(f"k must be an integer in [1, {x.shape[0]}] (the number of points), got {k!r}")
    x = x.detach().double()
    n, d = x.shape
    eye, xx = torch.eye(d, dtype=x.dtype), _outer(x)                               # (D, D), (N, D * D)
    resp = torch.zeros(n, k, dtype=x.dtype)                                        # (N, k) responsibilities
    resp[torch.arange(n), nearest(x, kmeans(x, k, 20, torch.Generator().manual_seed(seed)))] = 1
    last = -math.inf
    for _ in range(iterations):
        # M step: each component's share, mean and covariance, weighted by the responsibilities
        nk = resp.sum(0) + 1e-10                                                   # (k,)
        weights, means = nk / n, (resp.T @ x) / nk[:, None]                       # (k,), (k, D)
        second = (resp.T @ xx).reshape(k, d, d) / nk[:, None, None]
        covariances = second - means[:, :, None] * means[:, None, :] + reg * eye  # (k, D, D)
        # E step: responsibilities from the new parameters
        log_p = _mixture_log_prob(x, weights, means, covariances, xx)             # (N, k)
        ll = log_p.logsumexp(1, keepdim=True)
        resp = (log_p - ll).exp()
        if ll.mean().item() - last < tol:
            break
        last = ll.mean().item()
    return GaussianMixture(weights.float(), means.float(), covariances.float())
