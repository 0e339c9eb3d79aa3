"""The latent code predictor: asks an unconditional generator for a chosen digit (notebook 05)."""
from __future__ import annotations

import torch
from torch import nn

from .common import MAX_CLUSTERS, NUM_CLASSES, _normal, _uniform, check_input, check_int, check_ints, check_labels


class LatentCodePredictor(nn.Module):
    """Digit label ``(N,)`` plus noise ``(N, eps_dim)`` -> latent code ``(N, noise_dim)`` for an
    *unconditional* :class:`Generator`. The noise gives variety within a class.

    For a self-conditioned generator (``clusters > 0``) the code's first number only picks the cluster
    (a step, with no gradient to learn from), so the predictor picks it outright: the noise's first
    number draws a cluster from ``cluster_given_digit`` (:meth:`set_clusters`), the code's first number is
    set inside that cluster's slice, and the network writes the other ``noise_dim - 1`` numbers, knowing
    digit and cluster."""

    def __init__(self, noise_dim: int = 64, eps_dim: int = 16, hidden: int = 256, clusters: int = 0):
        super().__init__()
        check_int("noise_dim", noise_dim, low=2 if clusters else 1)
        check_ints(eps_dim=eps_dim, hidden=hidden)
        check_int("clusters", clusters, low=0, high=MAX_CLUSTERS)
        self.noise_dim, self.eps_dim, self.hidden, self.clusters = noise_dim, eps_dim, hidden, clusters
        self.embed = nn.Embedding(NUM_CLASSES, hidden)  # (N, hidden)
        if clusters:
            self.cluster_embed = nn.Embedding(clusters, hidden)                     # (N, hidden), added
            # each digit's cumulative cluster probabilities, and the generator's cluster_cdf (set by training)
            self.register_buffer("digit_cluster_cdf", torch.ones(NUM_CLASSES, clusters).cumsum(1) / clusters)
            self.register_buffer("cluster_cdf", torch.arange(1, clusters + 1, dtype=torch.float) / clusters)
        self.net = nn.Sequential(
            nn.Linear(hidden + eps_dim, hidden), nn.LeakyReLU(0.2, True),  # (N, hidden)
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2, True),           # (N, hidden)
            nn.Linear(hidden, noise_dim - (1 if clusters else 0)),         # (N, noise_dim) or the style part
        )

    def set_clusters(self, cluster_given_digit: torch.Tensor, cluster_cdf: torch.Tensor) -> None:
        """``cluster_given_digit (10, clusters)``: how often to draw each cluster for each digit (rows need
        not sum to 1); ``cluster_cdf``: the generator's (:attr:`Generator.cluster_cdf`)."""
        w = cluster_given_digit.to(self.digit_cluster_cdf).clamp_min(0)
        if w.shape != self.digit_cluster_cdf.shape or (w.sum(1) <= 0).any():
            raise ValueError(f"cluster_given_digit must be ({NUM_CLASSES}, {self.clusters}) with a positive "
                             f"weight in every row, got {tuple(w.shape)}")
        with torch.no_grad():
            self.digit_cluster_cdf.copy_(w.cumsum(1) / w.sum(1, keepdim=True))
            self.cluster_cdf.copy_(cluster_cdf)

    def pick_clusters(self, labels: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """The cluster drawn for each digit ``(N,)``: the normal quantile of ``eps[:, 0]`` through the digit's CDF."""
        u = _uniform(eps[:, :1])                                                           # (N, 1) in (0, 1)
        return (self.digit_cluster_cdf[labels.long()] < u).sum(1).clamp_max(self.clusters - 1)

    def forward(self, labels: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        check_labels("labels", labels)
        if eps is None:
            eps = torch.randn(labels.shape[0], self.eps_dim, device=labels.device)
        check_input("LatentCodePredictor eps", eps, (self.eps_dim,), f"(N, {self.eps_dim})", self)
        h = self.embed(labels.long())
        if not self.clusters:
            return self.net(torch.cat([h, eps], dim=1))
        c = self.pick_clusters(labels, eps)                                                # (N,)
        style = self.net(torch.cat([h + self.cluster_embed(c), eps], dim=1))              # (N, noise_dim - 1)
        # the middle of cluster c's slice of (0, 1), as a normal quantile: G.code(z) gives back c
        edges = nn.functional.pad(self.cluster_cdf, (1, 0))                               # (clusters + 1,)
        return torch.cat([_normal((edges[c] + edges[c + 1]) / 2)[:, None], style], dim=1)  # (N, noise_dim)
