"""The kit's networks: ``nn.Module``s only, configured by constructor arguments. No training, no I/O.

Image conventions (one per model, stated once here):
  * ``Generator`` outputs Tanh images in [-1, 1] and is trained on data scaled to [-1, 1];
  * ``Decoder`` outputs sigmoid images in [0, 1] (the VAE's Bernoulli likelihood);
  * ``Discriminator`` takes [-1, 1] images and returns one logit per image (use BCE *with logits*);
  * ``Classifier`` takes [0, 1] images (the pixel scale) and returns 10 logits.
:func:`mnist_gan_utils.evaluation.to_unit` maps any generator's output to [0, 1].
"""
from __future__ import annotations

import torch
from torch import nn

NUM_CLASSES = 10
MAX_CLUSTERS = 1000
CLUSTER_EMBEDDINGS = ("centroid", "table")  # how a self-conditioned G and D turn a cluster number into a vector
IMAGE_SHAPE = (1, 28, 28)


def _check_int(name, value, low=1, high=None):
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        rng = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {rng}, got {value!r}")


def _check_input(name: str, x, trailing: tuple, what: str, module: nn.Module | None = None):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor of shape {what}, got {type(x).__name__}")
    if module is not None:
        p = next(module.parameters(), None)
        if p is not None and p.device != x.device:
            raise ValueError(f"{name}: expected a tensor on {p.device} (where the model is), got one on {x.device}; "
                             f"move it with .to({str(p.device)!r})")
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got {x.dtype}; convert with .float()")
    if x.ndim != len(trailing) + 1 or tuple(x.shape[1:]) != trailing:
        raise ValueError(f"{name}: expected shape {what}, got {tuple(x.shape)}")


def _uniform(z: torch.Tensor) -> torch.Tensor:
    """Standard normal numbers -> their quantiles, uniform in (0, 1)."""
    return 0.5 * (1 + torch.erf(z / 2 ** 0.5))


def _normal(u: torch.Tensor) -> torch.Tensor:
    """Quantiles in (0, 1) -> standard normal numbers (kept off the infinite ends)."""
    return 2 ** 0.5 * torch.erfinv(2 * u.clamp(1e-6, 1 - 1e-6) - 1)


def _slices(u: torch.Tensor, cdf: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The slice of (0, 1) each quantile ``u`` falls in, when slice k ends at ``cdf[k]`` (cumulative shares),
    and the edges of the slices ``(K + 1,)``. A self-conditioned G's clusters and the decoder's prior
    components are picked this way from the first noise number."""
    k = torch.bucketize(u, cdf[:-1].contiguous()).clamp_max(cdf.numel() - 1)
    return k, nn.functional.pad(cdf, (1, 0))


class _CountedWeights:
    """``load_state_dict`` that names a file of another number of clusters (or prior components, or another
    width), and the fix, instead of listing mismatched keys (the published idiom
    ``Generator(noise_dim=64).load_state_dict(...)``)."""

    _count_key, _count_arg = "embed.weight", "clusters"

    def _weights_args(self, state_dict: dict) -> dict:
        """The constructor arguments that ``state_dict``'s shapes reveal."""
        counted = state_dict.get(self._count_key)
        return {self._count_arg: 0 if counted is None else int(counted.shape[0])}

    def load_state_dict(self, state_dict, *args, **kwargs):
        if isinstance(state_dict, dict) and kwargs.get("strict", args[0] if args else True):
            found = self._weights_args(state_dict)
            wrong = {k: v for k, v in found.items() if getattr(self, k) != v}
            if wrong:
                name = type(self).__name__
                theirs = ", ".join(f"{k}={v!r}" for k, v in wrong.items())
                ours = ", ".join(f"{k}={getattr(self, k)!r}" for k in wrong)
                raise RuntimeError(f"these weights are of a {name} with {theirs}, this one has {ours}: build it as "
                                   f"{name}(..., {theirs}) (models/manifest.json lists each file's arguments), "
                                   f"or load it with mnist_gan_utils.load_pretrained")
        return super().load_state_dict(state_dict, *args, **kwargs)


# ---------------------------------------------------------------------------------------------
# VAE: encoder and decoder are MLPs
# ---------------------------------------------------------------------------------------------
class Decoder(_CountedWeights, nn.Module):
    """MLP decoder: noise ``(N, latent_dim)`` -> image ``(N, 1, 28, 28)`` in [0, 1].

    Two steps: :meth:`prior` turns standard Gaussian noise into a *code* (a point of the VAE's latent
    space), :meth:`decode` draws the code's digit. With ``components=0`` the prior is the VAE's own
    N(0, I) and a code is the noise itself. With ``components=K`` it is a mixture of K Gaussians fitted,
    after training, to where the encoder puts real digits (an *ex-post* prior, Ghosh et al., 2020): the
    KL term only pushes those codes *towards* N(0, I), and noise that falls between the digits' regions
    decodes to blends. ``decoder(z)`` is still a plain function of Gaussian noise.
    """

    _count_key, _count_arg = "prior_means", "components"

    def __init__(self, latent_dim: int = 8, hidden: int = 1024, components: int = 0):
        super().__init__()
        _check_int("latent_dim", latent_dim)
        _check_int("hidden", hidden)
        _check_int("components", components, low=0, high=MAX_CLUSTERS)
        self.latent_dim, self.hidden, self.components = latent_dim, hidden, components
        if components:
            # the mixture (set by training; until then K copies of N(0, I)): cumulative weights, means and
            # Cholesky factors of the covariances
            self.register_buffer("prior_cdf", torch.arange(1, components + 1, dtype=torch.float) / components)
            self.register_buffer("prior_means", torch.zeros(components, latent_dim))
            self.register_buffer("prior_scale_tril", torch.eye(latent_dim).repeat(components, 1, 1))
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden // 2), nn.ReLU(inplace=True),  # (N, hidden/2)
            nn.Linear(hidden // 2, hidden), nn.ReLU(inplace=True),      # (N, hidden)
            nn.Linear(hidden, 28 * 28),                                 # (N, 784) logits
        )

    def set_prior(self, weights: torch.Tensor, means: torch.Tensor, covariances: torch.Tensor) -> None:
        """The mixture prior: ``weights (K,)``, ``means (K, latent_dim)``, ``covariances (K, latent_dim, latent_dim)``."""
        k, d = self.components, self.latent_dim
        if not k or tuple(weights.shape) != (k,) or tuple(means.shape) != (k, d) or tuple(covariances.shape) != (k, d, d):
            raise ValueError(f"this Decoder takes a mixture of {k} Gaussians in {d} dimensions, got weights "
                             f"{tuple(weights.shape)}, means {tuple(means.shape)}, covariances {tuple(covariances.shape)}")
        with torch.no_grad():
            w = weights.to(self.prior_cdf).clamp_min(0)
            self.prior_cdf.copy_(w.cumsum(0) / w.sum())
            self.prior_means.copy_(means)
            self.prior_scale_tril.copy_(torch.linalg.cholesky(covariances.to(self.prior_scale_tril)))

    def prior(self, z: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """Codes ``(N, latent_dim)`` from standard Gaussian noise ``z`` of the same shape.

        With a mixture, the first number's normal quantile picks component k (each as often as its
        weight) and, stretched back over (0, 1) inside k's slice, is again a standard normal number: so
        ``m_k + temperature * L_k z'`` uses all the noise, and N(0, I) noise gives exact mixture samples.
        ``temperature < 1`` keeps codes nearer each component's centre (cleaner, less varied digits)."""
        _check_input("Decoder input z", z, (self.latent_dim,), f"(N, {self.latent_dim})", self)
        if not self.components:
            return temperature * z
        u = _uniform(z[:, 0])                                                           # (N,) in (0, 1)
        k, edges = _slices(u, self.prior_cdf)                                           # (N,), (K + 1,)
        inside = (u - edges[k]) / (edges[k + 1] - edges[k]).clamp_min(1e-12)            # (N,) in (0, 1) again
        z = torch.cat([_normal(inside)[:, None], z[:, 1:]], 1)                          # (N, latent_dim) ~ N(0, I)
        return self.prior_means[k] + temperature * (self.prior_scale_tril[k] @ z[:, :, None])[:, :, 0]

    def decode_logits(self, codes: torch.Tensor) -> torch.Tensor:
        """Pixel logits ``(N, 1, 28, 28)`` of latent codes (the VAE trains through this)."""
        _check_input("Decoder codes", codes, (self.latent_dim,), f"(N, {self.latent_dim})", self)
        return self.net(codes).view(-1, *IMAGE_SHAPE)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Images ``(N, 1, 28, 28)`` in [0, 1] of latent codes (a latent walk interpolates these)."""
        return torch.sigmoid(self.decode_logits(codes))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.decode(self.prior(z))  # (N, 1, 28, 28) in [0, 1]


class Encoder(nn.Module):
    """MLP encoder: image ``(N, 1, 28, 28)`` in [0, 1] -> ``(mu, logvar)``, each ``(N, latent_dim)``."""

    def __init__(self, latent_dim: int = 8, hidden: int = 1024):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),                                              # (N, 784)
            nn.Linear(28 * 28, hidden), nn.ReLU(inplace=True),         # (N, hidden)
            nn.Linear(hidden, hidden // 2), nn.ReLU(inplace=True),     # (N, hidden/2)
            nn.Linear(hidden // 2, 2 * latent_dim),                    # (N, 2 * latent_dim)
        )

    def forward(self, x):
        mu, logvar = self.net(x).chunk(2, dim=1)
        return mu, logvar


class VAE(nn.Module):
    """Variational autoencoder whose ``decoder`` half is the kit's :class:`Decoder`."""

    def __init__(self, latent_dim: int = 8, hidden: int = 1024, prior_components: int = 0):
        super().__init__()
        _check_int("latent_dim", latent_dim)
        self.latent_dim, self.hidden = latent_dim, hidden
        self.encoder = Encoder(latent_dim, hidden)
        self.decoder = Decoder(latent_dim, hidden, prior_components)

    def forward(self, x):
        _check_input("VAE input x", x, IMAGE_SHAPE, "(N, 1, 28, 28)", self)
        mu, logvar = self.encoder(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)  # reparameterisation trick
        return self.decoder.decode_logits(z), mu, logvar


# ---------------------------------------------------------------------------------------------
# DCGAN at 28x28
# ---------------------------------------------------------------------------------------------
class CentroidEmbedding(nn.Module):
    """A cluster's vector computed from where the cluster lies, not looked up in a table: a small MLP of
    its k-means centroid (``points``, the standardised principal components, set by training).

    Neighbouring clusters get neighbouring vectors, so what G and D learn of one cluster carries to its
    look-alikes; with a table (``nn.Embedding``), each cluster's vector learns only from its own digits.
    ``forward(codes)`` maps cluster numbers ``(N,)`` to ``(N, out_dim)``, like ``nn.Embedding``."""

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
    """Refuse a ``cluster_embedding`` other than those of :data:`CLUSTER_EMBEDDINGS`."""
    if kind not in CLUSTER_EMBEDDINGS:
        raise ValueError(f"cluster_embedding must be one of {CLUSTER_EMBEDDINGS}, got {kind!r}")


def _cluster_embedding(kind: str, clusters: int, out_dim: int) -> nn.Module:
    check_cluster_embedding(kind)
    return CentroidEmbedding(clusters, out_dim) if kind == "centroid" else nn.Embedding(clusters, out_dim)


def _embedding_args(state_dict: dict, prefix: str = "embed.") -> dict:
    """``clusters`` and ``cluster_embedding`` from a self-conditioned network's weights."""
    points, table = state_dict.get(prefix + "points"), state_dict.get(prefix + "weight")
    if points is not None:
        return {"clusters": int(points.shape[0]), "cluster_embedding": "centroid"}
    if table is not None:
        return {"clusters": int(table.shape[0]), "cluster_embedding": "table"}
    return {"clusters": 0}


def _generator_net(in_dim: int, c: int, deep: bool) -> nn.Sequential:
    """The DCGAN generator body: ``(N, in_dim, 1, 1)`` -> ``(N, 1, 28, 28)`` in [-1, 1]."""
    def refine(ch):  # a 3x3 convolution at the same resolution: more capacity, same shape
        return [nn.Conv2d(ch, ch, 3, 1, 1, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True)] if deep else []

    return nn.Sequential(
        # (N, in_dim, 1, 1) -> (N, 4c, 7, 7)
        nn.ConvTranspose2d(in_dim, 4 * c, 7, 1, 0, bias=False), nn.BatchNorm2d(4 * c), nn.ReLU(True),
        # (N, 4c, 7, 7) -> (N, 2c, 14, 14)
        nn.ConvTranspose2d(4 * c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.ReLU(True),
        *refine(2 * c),
        # (N, 2c, 14, 14) -> (N, 1, 28, 28)
        nn.ConvTranspose2d(2 * c, 1, 4, 2, 1), nn.Tanh(),
    )


def _flat_noise(z):
    if isinstance(z, torch.Tensor) and z.ndim == 4 and tuple(z.shape[2:]) == (1, 1):
        return z.flatten(1)
    return z


class Generator(_CountedWeights, nn.Module):
    """DCGAN generator: noise ``(N, noise_dim)`` (or ``(N, noise_dim, 1, 1)``) -> image ``(N, 1, 28, 28)``
    in [-1, 1]. Transposed convolutions with BatchNorm and ReLU, ending in Tanh.

    ``clusters > 0`` makes it *self-conditioned* (see :mod:`mnist_gan_utils.clusters`). The first noise
    number picks one of ``clusters`` groups of look-alike digits (found without labels, each as often as
    in the training set), whose embedding joins the other ``noise_dim - 1`` numbers. It is still a plain
    function of Gaussian noise: ``G(z)``. ``G(z, codes)`` asks for given clusters instead (training does).
    ``cluster_embedding='centroid'`` computes the embedding from the cluster's centroid (a
    :class:`CentroidEmbedding`: look-alike clusters share what they learn); ``'table'`` learns one
    vector per cluster (``generator.pth`` until 2026-11-24).

    Sample in ``eval()`` mode: in train mode BatchNorm normalises with the batch's own statistics.
    """

    conditional = False

    def __init__(self, noise_dim: int = 64, channels: int = 32, deep: bool = True, clusters: int = 0,
                 embed_dim: int = 16, cluster_embedding: str = "centroid"):
        super().__init__()
        _check_int("noise_dim", noise_dim, low=2 if clusters else 1)
        _check_int("channels", channels)
        _check_int("clusters", clusters, low=0, high=MAX_CLUSTERS)
        _check_int("embed_dim", embed_dim)
        check_cluster_embedding(cluster_embedding)
        self.noise_dim, self.channels, self.deep = noise_dim, channels, deep
        self.clusters, self.embed_dim, self.cluster_embedding = clusters, embed_dim, cluster_embedding
        in_dim = noise_dim
        if clusters:
            self.embed = _cluster_embedding(cluster_embedding, clusters, embed_dim)  # (N,) -> (N, embed_dim)
            # cumulative share of each cluster in the training set (set by training; uniform until then)
            self.register_buffer("cluster_cdf", torch.arange(1, clusters + 1, dtype=torch.float) / clusters)
            in_dim = noise_dim - 1 + embed_dim
        self.net = _generator_net(in_dim, channels, deep)

    def _weights_args(self, state_dict: dict) -> dict:
        first = state_dict.get("net.0.weight")  # (in_dim, 4 * channels, 7, 7)
        width = {} if first is None or first.ndim != 4 else {"channels": int(first.shape[1]) // 4}
        return {**width, **_embedding_args(state_dict)}

    def set_prior(self, prior: torch.Tensor, centroids: torch.Tensor | None = None) -> None:
        """Each cluster's share of the training digits ``(clusters,)``: how often ``G(z)`` draws it; and,
        for ``cluster_embedding='centroid'``, the clusters' k-means centroids ``(clusters, pca_dim)``."""
        with torch.no_grad():
            self.cluster_cdf.copy_(prior.to(self.cluster_cdf).cumsum(0) / prior.sum())
        if centroids is not None and isinstance(getattr(self, "embed", None), CentroidEmbedding):
            self.embed.set_points(centroids)

    def code(self, z: torch.Tensor) -> torch.Tensor:
        """The cluster each noise vector draws ``(N,)``: its first number's normal quantile, bucketed so
        that each cluster comes up as often as in the training set."""
        z = _flat_noise(z)
        _check_input("Generator input z", z, (self.noise_dim,), f"(N, {self.noise_dim})", self)
        return self._code(z)

    def _code(self, z: torch.Tensor) -> torch.Tensor:
        return _slices(_uniform(z[:, 0]), self.cluster_cdf)[0]

    def forward(self, z: torch.Tensor, codes: torch.Tensor | None = None) -> torch.Tensor:
        z = _flat_noise(z)
        _check_input("Generator input z", z, (self.noise_dim,), f"(N, {self.noise_dim})", self)
        if not self.clusters:
            if codes is not None:
                raise ValueError("this Generator has no clusters (clusters=0): call it as G(z)")
            return self.net(z[:, :, None, None])
        if codes is None:
            codes = self._code(z)
        _check_labels("Generator codes", codes, z.shape[0], self.clusters)
        # (N, noise_dim - 1 + embed_dim, 1, 1): the style numbers and the cluster's embedding
        return self.net(torch.cat([z[:, 1:], self.embed(codes.long())], 1)[:, :, None, None])


def _check_labels(name: str, labels, n: int | None = None, num: int = NUM_CLASSES) -> None:
    if not isinstance(labels, torch.Tensor) or labels.dtype not in (torch.int64, torch.int32) or labels.ndim != 1:
        raise TypeError(f"{name} must be an integer tensor of shape (N,), got "
                        f"{getattr(labels, 'dtype', type(labels).__name__)} {tuple(getattr(labels, 'shape', ()))}")
    if labels.numel() and (labels.min() < 0 or labels.max() >= num):
        what = "digits in [0, 9]" if num == NUM_CLASSES else f"cluster numbers in [0, {num - 1}]"
        raise ValueError(f"{name} must be {what}, got values in [{int(labels.min())}, {int(labels.max())}]")
    if n is not None and labels.shape[0] != n:
        raise ValueError(f"{name}: expected one label per image ({n}), got {labels.shape[0]}")


class ConditionalGenerator(nn.Module):
    """Conditional DCGAN generator (cGAN): noise ``(N, noise_dim)`` and digit labels ``(N,)`` -> image
    ``(N, 1, 28, 28)`` in [-1, 1]. The label is embedded (``embed_dim`` numbers) and joined to the
    noise; the body is the unconditional :class:`Generator`'s.
    """

    conditional = True

    def __init__(self, noise_dim: int = 64, channels: int = 32, deep: bool = True, embed_dim: int = 16):
        super().__init__()
        _check_int("noise_dim", noise_dim)
        _check_int("channels", channels)
        _check_int("embed_dim", embed_dim)
        self.noise_dim, self.channels, self.deep, self.embed_dim = noise_dim, channels, deep, embed_dim
        self.embed = nn.Embedding(NUM_CLASSES, embed_dim)                 # (N,) -> (N, embed_dim)
        self.net = _generator_net(noise_dim + embed_dim, channels, deep)

    def decode(self, z: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """Images from noise and label *embeddings* ``(N, embed_dim)``: class interpolation mixes these."""
        z = _flat_noise(z)
        _check_input("ConditionalGenerator input z", z, (self.noise_dim,), f"(N, {self.noise_dim})", self)
        _check_input("ConditionalGenerator embedding", embedding, (self.embed_dim,), f"(N, {self.embed_dim})", self)
        return self.net(torch.cat([z, embedding], 1)[:, :, None, None])  # (N, noise_dim + embed_dim, 1, 1) in

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        _check_labels("ConditionalGenerator labels", labels, z.shape[0] if isinstance(z, torch.Tensor) else None)
        return self.decode(z, self.embed(labels.long()))


def _discriminator_features(in_channels: int, c: int, norm: str, deep: bool):
    """The DCGAN discriminator body: ``(N, in_channels, 28, 28)`` -> ``(N, top * 49)`` features."""
    if norm not in ("batch", "spectral", "none"):
        raise ValueError(f"norm must be 'batch', 'spectral' or 'none', got {norm!r}")
    sn = nn.utils.parametrizations.spectral_norm if norm == "spectral" else (lambda m: m)
    bn = (lambda ch: nn.BatchNorm2d(ch)) if norm == "batch" else (lambda ch: nn.Identity())
    top = 4 * c if deep else 2 * c
    features = nn.Sequential(
        # (N, in_channels, 28, 28) -> (N, c, 14, 14)
        sn(nn.Conv2d(in_channels, c, 4, 2, 1)), nn.LeakyReLU(0.2, True),
        # (N, c, 14, 14) -> (N, 2c, 7, 7)
        sn(nn.Conv2d(c, 2 * c, 4, 2, 1, bias=norm != "batch")), bn(2 * c), nn.LeakyReLU(0.2, True),
        # deep: (N, 2c, 7, 7) -> (N, 4c, 7, 7)
        *([sn(nn.Conv2d(2 * c, 4 * c, 3, 1, 1, bias=norm != "batch")), bn(4 * c), nn.LeakyReLU(0.2, True)]
          if deep else []),
        nn.Flatten(),  # (N, top * 49)
    )
    return features, sn(nn.Linear(top * 49, 1))  # head: (N, 1) logit


def _add_label_parts(module: nn.Module, num: int, channels: int, norm: str, deep: bool,
                     embedding: str = "table", pca_dim: int = 50) -> None:
    """A D that knows each image's label (a digit, or a cluster): the label's 28x28 map joined to the
    image as a second channel, and its *projection* on D's last features (Miyato & Koyama, 2018).
    ``embedding='centroid'`` computes both from the cluster's centroid (:class:`CentroidEmbedding`)."""
    spectral = norm == "spectral"
    centroid = embedding == "centroid"
    module.embed = (CentroidEmbedding(num, 28 * 28, pca_dim, spectral) if centroid    # (N,) -> (N, 784) label map
                    else nn.Embedding(num, 28 * 28))
    module.features, module.head = _discriminator_features(2, channels, norm, deep)
    if centroid:                                                              # (N,) -> (N, top * 49)
        module.project = CentroidEmbedding(num, module.head.in_features, pca_dim, spectral)
        return
    sn = nn.utils.parametrizations.spectral_norm if spectral else (lambda m: m)
    module.project = sn(nn.Embedding(num, module.head.in_features))           # (N,) -> (N, top * 49)
    nn.init.normal_(module.project.weight if not spectral else module.project.parametrizations.weight.original,
                    std=0.02)


def _labelled_logits(module: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    label_map = module.embed(labels).view(-1, *IMAGE_SHAPE)                   # (N, 1, 28, 28)
    f = module.features(torch.cat([x, label_map], 1))                         # (N, 2, 28, 28) -> (N, top * 49)
    return module.head(f).view(-1) + (module.project(labels) * f).sum(1)      # (N,) logits


class Discriminator(_CountedWeights, nn.Module):
    """DCGAN discriminator: image ``(N, 1, 28, 28)`` in [-1, 1] -> one logit per image ``(N,)``.

    Strided convolutions with LeakyReLU; no sigmoid, so train with ``BCEWithLogitsLoss``
    (numerically stable) and read probabilities as ``torch.sigmoid(D(x))``.

    ``clusters > 0`` (the self-conditioned GAN's D) also sees each image's cluster: ``D(x, codes)`` judges "a real member of cluster c". ``D(x)`` finds the nearest cluster itself (the k-means
    centroids are buffers, set by training), so it still scores any image on its own. The cluster enters
    through :class:`CentroidEmbedding` (``cluster_embedding='centroid'``) or a table per cluster ('table').
    """

    conditional = False

    def __init__(self, channels: int = 32, norm: str = "spectral", deep: bool = True, clusters: int = 0,
                 pca_dim: int = 50, cluster_embedding: str = "centroid"):
        super().__init__()
        _check_int("channels", channels)
        _check_int("clusters", clusters, low=0, high=MAX_CLUSTERS)
        _check_int("pca_dim", pca_dim, high=28 * 28)
        check_cluster_embedding(cluster_embedding)
        self.channels, self.norm, self.deep, self.clusters, self.pca_dim = channels, norm, deep, clusters, pca_dim
        self.cluster_embedding = cluster_embedding
        if not clusters:
            self.features, self.head = _discriminator_features(1, channels, norm, deep)
            return
        _add_label_parts(self, clusters, channels, norm, deep, cluster_embedding, pca_dim)
        self.register_buffer("pca_mean", torch.zeros(28 * 28))
        self.register_buffer("pca_components", torch.zeros(pca_dim, 28 * 28))
        self.register_buffer("centroids", torch.zeros(clusters, pca_dim))

    def set_clusters(self, fitted) -> None:
        """Copy a :class:`~mnist_gan_utils.clusters.PixelClusters`' PCA and centroids into the buffers."""
        with torch.no_grad():
            for name, value in (("pca_mean", fitted.mean), ("pca_components", fitted.components),
                                ("centroids", fitted.centroids)):
                getattr(self, name).copy_(value)
        for part in (self.embed, self.project):
            if isinstance(part, CentroidEmbedding):
                part.set_points(fitted.centroids)

    def _weights_args(self, state_dict: dict) -> dict:
        return _embedding_args(state_dict)

    @torch.no_grad()
    def assign(self, x: torch.Tensor) -> torch.Tensor:
        """The nearest cluster of each image ``(N, 1, 28, 28)`` in [-1, 1] -> ``(N,)``."""
        from .clusters import nearest_cluster
        return nearest_cluster((x.flatten(1) + 1) / 2, self.pca_mean, self.pca_components, self.centroids)

    def forward(self, x: torch.Tensor, codes: torch.Tensor | None = None) -> torch.Tensor:
        _check_input("Discriminator input x", x, IMAGE_SHAPE, "(N, 1, 28, 28)", self)
        if not self.clusters:
            if codes is not None:
                raise ValueError("this Discriminator has no clusters (clusters=0): call it as D(x)")
            return self.head(self.features(x)).view(-1)
        codes = self.assign(x) if codes is None else codes
        _check_labels("Discriminator codes", codes, x.shape[0], self.clusters)
        return _labelled_logits(self, x, codes.long())

    @property
    def num_labels(self) -> int:
        return self.clusters


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
        _check_int("channels", channels)
        self.channels, self.norm, self.deep = channels, norm, deep
        _add_label_parts(self, NUM_CLASSES, channels, norm, deep)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        _check_input("ConditionalDiscriminator input x", x, IMAGE_SHAPE, "(N, 1, 28, 28)", self)
        _check_labels("ConditionalDiscriminator labels", labels, x.shape[0])
        return _labelled_logits(self, x, labels.long())


# ---------------------------------------------------------------------------------------------
# Classifier (the kit's judge) and the latent code predictor
# ---------------------------------------------------------------------------------------------
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


class Classifier(nn.Module):
    """CNN digit classifier: image ``(N, 1, 28, 28)`` in [0, 1] -> 10 logits.

    ``features(x)`` returns the penultimate ``(N, feature_dim)`` activations used for the
    Fréchet distance.
    """

    def __init__(self, channels: int = 32, feature_dim: int = 128, dropout: float = 0.3):
        super().__init__()
        _check_int("channels", channels)
        _check_int("feature_dim", feature_dim)
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
        _check_input("Classifier input x", x, IMAGE_SHAPE, "(N, 1, 28, 28)", self)
        return self.body((x - MNIST_MEAN) / MNIST_STD)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class LatentCodePredictor(nn.Module):
    """Digit label ``(N,)`` plus noise ``(N, eps_dim)`` -> latent code ``(N, noise_dim)`` for an
    *unconditional* :class:`Generator`. The noise gives variety within a class.

    For a self-conditioned generator (``clusters > 0``) the code's first number only picks the cluster
    (a step, with no gradient to learn from), so the predictor picks it outright: the noise's first
    number draws a cluster from ``cluster_given_digit`` (how often each cluster gave that digit, measured
    by training), the code's first number is set inside that cluster's slice, and the network writes the
    other ``noise_dim - 1`` numbers, knowing digit and cluster.
    """

    def __init__(self, noise_dim: int = 64, eps_dim: int = 16, hidden: int = 256, clusters: int = 0):
        super().__init__()
        _check_int("noise_dim", noise_dim, low=2 if clusters else 1)
        _check_int("eps_dim", eps_dim)
        _check_int("hidden", hidden)
        _check_int("clusters", clusters, low=0, high=MAX_CLUSTERS)
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
        _check_labels("labels", labels)
        if eps is None:
            eps = torch.randn(labels.shape[0], self.eps_dim, device=labels.device)
        _check_input("LatentCodePredictor eps", eps, (self.eps_dim,), f"(N, {self.eps_dim})", self)
        h = self.embed(labels.long())
        if not self.clusters:
            return self.net(torch.cat([h, eps], dim=1))
        c = self.pick_clusters(labels, eps)                                                # (N,)
        style = self.net(torch.cat([h + self.cluster_embed(c), eps], dim=1))              # (N, noise_dim - 1)
        # the middle of cluster c's slice of (0, 1), as a normal quantile: G.code(z) gives back c
        edges = nn.functional.pad(self.cluster_cdf, (1, 0))                               # (clusters + 1,)
        return torch.cat([_normal((edges[c] + edges[c + 1]) / 2)[:, None], style], dim=1)  # (N, noise_dim)
