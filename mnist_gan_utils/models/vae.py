"""The variational autoencoder: an MLP encoder and decoder, and the decoder's prior (notebook 01)."""
from __future__ import annotations

import torch
from torch import nn

from .common import IMAGE_SHAPE, MAX_CLUSTERS, CountedWeights, _normal, _slices, _uniform, check_input, check_int


class Decoder(CountedWeights, nn.Module):
    """MLP decoder: noise ``(N, latent_dim)`` -> image ``(N, 1, 28, 28)`` in [0, 1].

    :meth:`prior` turns the noise into a *code* of the VAE's latent space, :meth:`decode` draws its digit.
    With ``components=K`` the prior is not the VAE's N(0, I) but a mixture of K Gaussians fitted, after
    training, to where the encoder puts real digits (an *ex-post* prior, Ghosh et al., 2020): the KL term
    only pushes those codes *towards* N(0, I), and noise that falls between the digits' regions decodes to
    blends. ``decoder(z)`` is still a plain function of Gaussian noise."""

    def __init__(self, latent_dim: int = 8, hidden: int = 1024, components: int = 0):
        super().__init__()
        check_int("latent_dim", latent_dim)
        check_int("hidden", hidden)
        check_int("components", components, low=0, high=MAX_CLUSTERS)
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

    def _weights_args(self, state_dict: dict) -> dict:
        means = state_dict.get("prior_means")
        return {"components": 0 if means is None else int(means.shape[0])}

    def set_prior(self, weights: torch.Tensor, means: torch.Tensor, covariances: torch.Tensor) -> None:
        """The mixture of K Gaussians: ``weights (K,)``, ``means (K, d)``, ``covariances (K, d, d)``, d = latent_dim."""
        k, d = self.components, self.latent_dim
        shapes = tuple(weights.shape), tuple(means.shape), tuple(covariances.shape)
        if not k or shapes != ((k,), (k, d), (k, d, d)):
            raise ValueError(f"this Decoder takes a mixture of {k} Gaussians in {d} dimensions, got weights "
                             f"{shapes[0]}, means {shapes[1]}, covariances {shapes[2]}")
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
        check_input("Decoder input z", z, (self.latent_dim,), f"(N, {self.latent_dim})", self)
        if not self.components:
            return temperature * z
        u = _uniform(z[:, 0])                                                           # (N,) in (0, 1)
        k, edges = _slices(u, self.prior_cdf)                                           # (N,), (K + 1,)
        inside = (u - edges[k]) / (edges[k + 1] - edges[k]).clamp_min(1e-12)            # (N,) in (0, 1) again
        z = torch.cat([_normal(inside)[:, None], z[:, 1:]], 1)                          # (N, latent_dim) ~ N(0, I)
        return self.prior_means[k] + temperature * (self.prior_scale_tril[k] @ z[:, :, None])[:, :, 0]

    def decode_logits(self, codes: torch.Tensor) -> torch.Tensor:
        """Pixel logits ``(N, 1, 28, 28)`` of latent codes (the VAE trains through this)."""
        check_input("Decoder codes", codes, (self.latent_dim,), f"(N, {self.latent_dim})", self)
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
        return self.net(x).chunk(2, dim=1)  # (mu, logvar)


class VAE(nn.Module):
    """Variational autoencoder whose ``decoder`` half is the kit's :class:`Decoder`."""

    def __init__(self, latent_dim: int = 8, hidden: int = 1024, prior_components: int = 0):
        super().__init__()
        check_int("latent_dim", latent_dim)
        self.latent_dim, self.hidden = latent_dim, hidden
        self.encoder = Encoder(latent_dim, hidden)
        self.decoder = Decoder(latent_dim, hidden, prior_components)

    def forward(self, x):
        check_input("VAE input x", x, IMAGE_SHAPE, "(N, 1, 28, 28)", self)
        mu, logvar = self.encoder(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)  # reparameterisation trick
        return self.decoder.decode_logits(z), mu, logvar
