"""The self-conditioned DCGAN: G and D also see which of K clusters of look-alike digits (found by k-means,
without labels) a digit belongs to (Liu et al., 2020). G still draws from noise alone: its first noise number
picks the cluster."""
from __future__ import annotations

import torch
from torch import nn

from .common import (IMAGE_SHAPE, MAX_CLUSTERS, CountedWeights, _slices, _uniform, check_input, check_int,
                     check_labels, flat_noise)
from .labelled import (CentroidEmbedding, _add_label_parts, _embedding_args, _generator_net, _labelled_logits,
                       check_cluster_embedding)


class SelfConditionedGenerator(CountedWeights, nn.Module):
    """Noise ``(N, noise_dim)`` -> image ``(N, 1, 28, 28)`` in [-1, 1], through one of ``clusters`` groups
    of look-alike digits (see :mod:`mnist_gan_utils.clusters`).

    The first noise number picks the cluster (:meth:`code`); its embedding (``cluster_embedding``: a
    :class:`CentroidEmbedding`, or ``'table'``: one vector per cluster) joins the other ``noise_dim - 1``
    numbers in the labelled generators' body (``deep`` adds a 3x3 convolution at 14x14). ``G(z, codes)``
    asks for given clusters instead (training does). Sample in ``eval()`` mode."""

    conditional = False

    def __init__(self, noise_dim: int = 64, channels: int = 32, deep: bool = True, clusters: int = 300,
                 embed_dim: int = 16, cluster_embedding: str = "centroid"):
        super().__init__()
        check_int("noise_dim", noise_dim, low=2)
        check_int("channels", channels)
        check_int("clusters", clusters, low=2, high=MAX_CLUSTERS)
        check_int("embed_dim", embed_dim)
        check_cluster_embedding(cluster_embedding)
        self.noise_dim, self.channels, self.deep = noise_dim, channels, deep
        self.clusters, self.embed_dim, self.cluster_embedding = clusters, embed_dim, cluster_embedding
        self.embed = (CentroidEmbedding(clusters, embed_dim) if cluster_embedding == "centroid"
                      else nn.Embedding(clusters, embed_dim))                  # (N,) -> (N, embed_dim)
        # cumulative share of each cluster in the training set (set by training; uniform until then)
        self.register_buffer("cluster_cdf", torch.arange(1, clusters + 1, dtype=torch.float) / clusters)
        self.net = _generator_net(noise_dim - 1 + embed_dim, channels, deep)

    def _weights_args(self, state_dict: dict) -> dict:
        first = state_dict.get("net.0.weight")  # (in_dim, 4 * channels, 7, 7)
        width = {} if first is None or first.ndim != 4 else {"channels": int(first.shape[1]) // 4}
        return {**width, **_embedding_args(state_dict)}

    def set_prior(self, prior: torch.Tensor, centroids: torch.Tensor | None = None) -> None:
        """Each cluster's share of the training digits ``(clusters,)``: how often ``G(z)`` draws it; and,
        for ``cluster_embedding='centroid'``, the clusters' k-means centroids ``(clusters, pca_dim)``."""
        with torch.no_grad():
            self.cluster_cdf.copy_(prior.to(self.cluster_cdf).cumsum(0) / prior.sum())
        if centroids is not None and isinstance(self.embed, CentroidEmbedding):
            self.embed.set_points(centroids)

    def code(self, z: torch.Tensor) -> torch.Tensor:
        """The cluster each noise vector draws ``(N,)``: its first number's normal quantile, bucketed so
        that each cluster comes up as often as in the training set."""
        z = flat_noise(z)
        check_input("SelfConditionedGenerator input z", z, (self.noise_dim,), f"(N, {self.noise_dim})", self)
        return _slices(_uniform(z[:, 0]), self.cluster_cdf)[0]

    def forward(self, z: torch.Tensor, codes: torch.Tensor | None = None) -> torch.Tensor:
        z = flat_noise(z)
        check_input("SelfConditionedGenerator input z", z, (self.noise_dim,), f"(N, {self.noise_dim})", self)
        codes = self.code(z) if codes is None else codes
        check_labels("SelfConditionedGenerator codes", codes, z.shape[0], self.clusters)
        # (N, noise_dim - 1 + embed_dim, 1, 1): the style numbers and the cluster's embedding
        return self.net(torch.cat([z[:, 1:], self.embed(codes.long())], 1)[:, :, None, None])


class SelfConditionedDiscriminator(CountedWeights, nn.Module):
    """Image ``(N, 1, 28, 28)`` in [-1, 1] and its cluster ``(N,)`` -> one logit per image ``(N,)``:
    ``D(x, codes)`` judges "a real member of cluster c".

    ``D(x)`` finds the nearest cluster itself (the k-means centroids are buffers, set by training), so it
    still scores any image on its own. The cluster enters as the conditional GAN's D takes its label, through
    a :class:`CentroidEmbedding` (``cluster_embedding='centroid'``) or a table per cluster ('table')."""

    conditional = False
    _weights_args = staticmethod(_embedding_args)

    def __init__(self, channels: int = 32, norm: str = "spectral", deep: bool = True, clusters: int = 300,
                 pca_dim: int = 50, cluster_embedding: str = "centroid"):
        super().__init__()
        check_int("channels", channels)
        check_int("clusters", clusters, low=2, high=MAX_CLUSTERS)
        check_int("pca_dim", pca_dim, high=28 * 28)
        check_cluster_embedding(cluster_embedding)
        self.channels, self.norm, self.deep, self.clusters, self.pca_dim = channels, norm, deep, clusters, pca_dim
        self.cluster_embedding, self.num_labels = cluster_embedding, clusters
        _add_label_parts(self, clusters, channels, norm, deep, cluster_embedding, pca_dim)
        self.register_buffer("pca_mean", torch.zeros(28 * 28))
        self.register_buffer("pca_components", torch.zeros(pca_dim, 28 * 28))
        self.register_buffer("centroids", torch.zeros(clusters, pca_dim))

    def set_clusters(self, fitted) -> None:
        """Copy a :class:`~mnist_gan_utils.clusters.PixelClusters`' PCA and centroids into the buffers."""
        with torch.no_grad():
            self.pca_mean.copy_(fitted.mean)
            self.pca_components.copy_(fitted.components)
            self.centroids.copy_(fitted.centroids)
        for part in (self.embed, self.project):
            if isinstance(part, CentroidEmbedding):
                part.set_points(fitted.centroids)

    @torch.no_grad()
    def assign(self, x: torch.Tensor) -> torch.Tensor:
        """The nearest cluster of each image ``(N, 1, 28, 28)`` in [-1, 1] -> ``(N,)``."""
        from ..clusters import nearest_cluster
        return nearest_cluster((x.flatten(1) + 1) / 2, self.pca_mean, self.pca_components, self.centroids)

    def forward(self, x: torch.Tensor, codes: torch.Tensor | None = None) -> torch.Tensor:
        check_input("SelfConditionedDiscriminator input x", x, IMAGE_SHAPE, "(N, 1, 28, 28)", self)
        codes = self.assign(x) if codes is None else codes
        check_labels("SelfConditionedDiscriminator codes", codes, x.shape[0], self.clusters)
        return _labelled_logits(self, x, codes.long())
