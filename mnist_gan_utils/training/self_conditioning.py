"""Self-conditioning (Liu et al., 2020), an add-on of the DCGAN: k-means finds groups of look-alike digits
without labels, and G and D are told each digit's group, as a conditional GAN is told its label
(:mod:`mnist_gan_utils.models.self_conditioned`; the step is :func:`.conditional.gan_step`)."""
from __future__ import annotations

import dataclasses
import warnings

import torch

from ..models import SelfConditionedDiscriminator, SelfConditionedGenerator, check_cluster_embedding
from ..models.common import MAX_CLUSTERS, is_integer, rule
from . import distributed
from .loop import Callback


@dataclasses.dataclass
class SelfConditioningConfig:
    """Self-conditioning's settings (a part of :class:`~.gan.GANConfig`; its embedding size and mismatch
    weight are the conditional GAN's, :class:`~.conditional.ConditionalConfig`)."""

    clusters: int = 300            # k-means groups of the training digits shown to G and D (0: none)
    cluster_embedding: str = "centroid"  # 'centroid' (a small network of each cluster's centroid, shared by
                                   # look-alike clusters) or 'table' (a learned vector per cluster)

    CHECKS = dict(clusters=rule(lambda v: is_integer(v, 0, 0) or is_integer(v, 2, MAX_CLUSTERS),
                                f"0 or an integer in [2, {MAX_CLUSTERS}] (self-conditioned)"),
                  cluster_embedding=lambda name, value: check_cluster_embedding(value))


def self_condition(G: SelfConditionedGenerator, D: SelfConditionedDiscriminator, images: torch.Tensor,
                   seed: int = 0) -> torch.Tensor:
    """Fit the k-means clusters of ``images`` (uint8 ``(N, 28, 28)``) into G (how often to draw each)
    and D (the centroids, so ``D(x)`` can find a digit's cluster), and return each image's cluster ``(N,)``."""
    fitted = distributed.shared_clusters(images, G.clusters, seed)
    G.set_prior(fitted.prior, fitted.centroids)
    D.set_clusters(fitted)
    return fitted.assignments


class ClusterProbe(Callback):
    """A self-conditioned G can collapse *inside* each cluster (one digit per cluster, the variety left to
    the clusters) while the whole sample and the fixed-noise grid, which spans many clusters, look varied.
    The probe draws ``n`` samples of each of ``shown`` evenly spaced clusters from fixed noise and compares
    their mean pairwise pixel distance with that of ``n`` real members of the same cluster."""

    def __init__(self, images: torch.Tensor, clusters: torch.Tensor, noise_dim: int, seed: int,
                 shown: int = 10, n: int = 16, sampler=None):
        self.sampler = sampler  # the loop's callback calls it for the generator to probe
        k = int(clusters.max()) + 1
        picks = [c for c in torch.linspace(0, k - 1, min(shown, k)).long().tolist()
                 if int((clusters == c).sum()) >= 2]
        self.codes = torch.tensor(picks)
        self.z = torch.randn(len(picks), n, noise_dim, generator=torch.Generator().manual_seed(seed + 1))
        self.real = [images[clusters == c][:n] for c in picks]                 # uint8 (n, 28, 28) each

    @torch.no_grad()
    def ratio(self, sampler) -> float:
        """Mean over the probed clusters of (samples' spread) / (real members' spread); 1 = as varied."""
        from ..evaluation import pairwise_distance, to_unit
        device = next(sampler.parameters()).device
        ratios = []
        for code, z, real in zip(self.codes.tolist(), self.z, self.real):
            fake = to_unit(sampler(z.to(device), torch.full((len(z),), code, device=device))).cpu()
            ratios.append(pairwise_distance(fake) / max(pairwise_distance(real), 1e-8))
        return sum(ratios) / len(ratios)

    def check(self, sampler, epoch: int, threshold: float = 0.5, stacklevel: int = 2) -> float:
        r = self.ratio(sampler)
        if r < threshold:
            warnings.warn(f"epoch {epoch + 1}: the samples of one cluster look alike ({r:.2f} of its real members' "
                          f"pixel spread, below {threshold}): G draws about one digit per cluster, a mode collapse "
                          f"the grid hides (docs/experiments/self_conditioned.md: the clusters seen through their "
                          f"centroids, the default, keep it higher than a table of vectors).", RuntimeWarning,
                          stacklevel=stacklevel)
        return r

    def on_epoch_end(self, run, epoch):
        from .monitors import FROM_A_CALLBACK
        run.log(within_cluster_spread=self.check(self.sampler(), epoch, stacklevel=FROM_A_CALLBACK + 1))
