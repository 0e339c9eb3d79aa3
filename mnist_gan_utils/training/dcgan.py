"""The DCGAN's training: one step (:func:`dcgan_step`), the whole of the method: D learns to tell real digits
from G's fakes, then G learns to fool D, both with binary cross-entropy and Adam. :func:`train_dcgan` feeds it
MNIST scaled to [-1, 1] (G ends in Tanh) and noise on the one loop (:func:`.loop.fit`), which does the rest."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Iterable

import torch
import torch.nn.functional as F

from ..data import MNISTBatches
from ..models import Discriminator, Generator
from . import distributed
from ..models.common import check_betas, integer
from .engine import BaseConfig, Run, prepare
from .loop import Callback, fit
from .monitors import Grid, class_check


@dataclasses.dataclass
class DCGANConfig(BaseConfig):
    """The DCGAN's hyperparameters (with :class:`~.engine.BaseConfig`'s epochs, batch size, seed, device,
    run folder and resume), each checked when the config is made."""

    epochs: int = 6                # notebook 02's default run stays under 5 minutes on 2 CPU cores (docs/experiments/plain_dcgan.md)
    batch_size: int = 128
    lr: float = 2e-4               # Adam's step size for G and D (Radford et al., 2016)
    betas: tuple = (0.5, 0.999)    # beta1 = 0.5: less momentum than Adam's 0.9, steadier in the two-player game
    noise_dim: int = 64
    g_channels: int = 64           # G's width: its last hidden layer has g_channels feature maps
    d_channels: int = 16           # D's width: a quarter of G's (why: docs/experiments/plain_dcgan.md)
    grid_size: int = 64            # fixed-noise samples drawn after each epoch
    init_from: str | None = None   # a folder with generator.pth and discriminator.pth to start from (models/)

    CHECKS = dict(betas=lambda name, value: check_betas(value), noise_dim=integer(1, 4096),
                  g_channels=integer(1, 4096), d_channels=integer(1, 4096), grid_size=integer(1, 1024))


@dataclasses.dataclass
class GANResult:
    generator: torch.nn.Module      # in eval() mode, ready to sample
    discriminator: torch.nn.Module
    history: dict                   # per epoch: loss_D, loss_G, D_x, D_G_z, seconds; per step: step_loss_D, ...
    run_dir: Path
    grids: list                     # paths of the per-epoch sample grids


def dcgan_step(G, D, opt_G, opt_D, real: torch.Tensor, z: torch.Tensor) -> dict:
    """One update of D, then one of G, on real images ``(B, 1, 28, 28)`` in [-1, 1] and noise ``(B, noise_dim)``."""
    fake = G(z)                                                          # (B, 1, 28, 28)

    # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
    opt_D.zero_grad(set_to_none=True)
    d_real = D(real)                                                     # (B,) logits
    d_fake = D(fake.detach())                                            # detach: this loss does not train G
    loss_D = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
              + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
    loss_D.backward()
    opt_D.step()

    # (2) Update G: maximize log(D(G(z))), the non-saturating form of minimizing log(1 - D(G(z)))
    opt_G.zero_grad(set_to_none=True)
    d_gen = D(fake)                                                      # D just improved: judge the fakes again
    loss_G = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))
    loss_G.backward()
    opt_G.step()

    return {"loss_D": loss_D.item(), "loss_G": loss_G.item(),
            "D_x": torch.sigmoid(d_real).mean().item(), "D_G_z": torch.sigmoid(d_fake).mean().item()}


def fixed_noise(config) -> torch.Tensor:
    """The noise of the per-epoch grid: the same vectors every epoch, so the grid shows G changing."""
    return torch.randn(config.grid_size, config.noise_dim, generator=torch.Generator().manual_seed(config.seed))


def train_dcgan(config: DCGANConfig | None = None, data=None,
                on_epoch_end: Callable[[int, torch.Tensor, dict, torch.nn.Module], None] | None = None,
                callbacks: Iterable[Callback] = (), **overrides) -> GANResult:
    """Train the DCGAN on MNIST: ``train_dcgan(DCGANConfig(epochs=5))`` or ``train_dcgan(epochs=5)``.

    ``data``: optional ``(images uint8 (N, 28, 28), labels)`` (default: the MNIST training set).
    ``on_epoch_end(epoch, grid, history, G)`` runs after each epoch (notebooks show the grid live);
    ``callbacks``: more :class:`~.loop.Callback` s for the loop (a benchmark's measurements).
    The run folder (``run_dir``; by default one per setting, see :func:`~.engine.run_folder`) holds
    ``checkpoint.pt`` and the grids ``epoch_XXX.png``."""
    config, device, images, labels = prepare(DCGANConfig, config, overrides, data)
    G = Generator(config.noise_dim, config.g_channels).to(device)
    D = Discriminator(config.d_channels).to(device)
    if config.init_from:
        init_from(G, D, config.init_from)
    opt_G = torch.optim.Adam(G.parameters(), lr=config.lr, betas=tuple(config.betas))
    opt_D = torch.optim.Adam(D.parameters(), lr=config.lr, betas=tuple(config.betas))
    batches = MNISTBatches(images, labels, config.batch_size, value_range=(-1, 1), device=device, seed=config.seed)
    steps = min(len(batches), config.max_steps_per_epoch or len(batches))
    run = Run("dcgan", config, {"G": G, "D": D}, {"G": opt_G, "D": opt_D})
    G_train, D_train = distributed.wrap(G, device), distributed.wrap(D, device)  # DDP under torchrun
    start = run.start()

    def step(batch, rng, i):
        real, _ = batch                                                          # (B, 1, 28, 28) in [-1, 1]
        z = torch.randn(real.shape[0], config.noise_dim, generator=rng).to(device)   # (B, noise_dim)
        return dcgan_step(G_train, D_train, opt_G, opt_D, real, z)

    grid = Grid(run, start, lambda: G, fixed_noise(config).to(device), show=on_epoch_end)
    monitors = [grid, *class_check(run, grid, device)]  # the grid's digits as the kit's classifier reads them
    fit(run, start, batches.epoch, steps, step, (G, D), [*monitors, *callbacks], step_history=True)
    return GANResult(G.eval(), D.eval(), run.history, run.dir, grid.paths)


def init_from(G, D, folder) -> None:
    """Start from pretrained weights in ``folder`` (``models/``'s layout: the kit's generator and its
    discriminator, checked against the manifest's sha256 when there is one)."""
    from ..checkpoints import load_state_dict, read_manifest
    from ..registry import GENERATOR, file_name, partners

    folder = Path(folder)
    hashes, widths = {}, {}
    if (folder / "manifest.json").exists():
        entries = read_manifest(folder / "manifest.json")["models"].values()
        hashes = {e["file"]: e["sha256"] for e in entries}
        widths = {e["file"]: e.get("config", {}).get("channels") for e in entries}
    g_file, d_file = file_name(GENERATOR), file_name(partners()[GENERATOR])
    if widths.get(g_file) not in (None, G.channels):  # say which setting to change, not which shapes differ
        raise ValueError(f"init_from: {folder / g_file} is a generator {widths[g_file]} channels wide, this run's "
                         f"is {G.channels}: set g_channels={widths[g_file]} (notebook 02: G_CHANNELS = "
                         f"{widths[g_file]}) to start from it")
    load_state_dict(G, folder / g_file, expected_sha256=hashes.get(g_file))
    if (folder / d_file).exists():
        load_state_dict(D, folder / d_file, expected_sha256=hashes.get(d_file))
