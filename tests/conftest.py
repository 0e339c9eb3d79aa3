"""Shared fixtures. Unit tests use no network: MNIST comes from data/ (fetched once by the README's
install command), and the data tests write their own small IDX files."""
import os

import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")
torch.set_num_threads(max(1, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def mnist_train():
    from mnist_gan_utils.data import load_mnist
    return load_mnist("train")


@pytest.fixture(scope="session")
def mnist_test():
    from mnist_gan_utils.data import load_mnist
    return load_mnist("test")


@pytest.fixture
def small_data(mnist_train):
    """The first 512 real training digits: enough for a few steps of any loop."""
    x, y = mnist_train
    return x[:512], y[:512]


@pytest.fixture
def fake_digits():
    """Random uint8 'digits' for tests that need no real data."""
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (64, 28, 28), generator=g, dtype=torch.uint8), torch.arange(64) % 10


@pytest.fixture
def kit_home(tmp_path, monkeypatch):
    """The kit's layout with an ``outputs/`` of its own, for tests that train: run folders land under
    tmp_path, so a second run of the suite trains again instead of finding the first run's checkpoints.
    Child processes (papermill's kernels, the command line) inherit it through MNIST_GAN_KIT_HOME."""
    from mnist_gan_utils.paths import REPO_ROOT
    home = tmp_path / "kit"
    home.mkdir()
    for part in ("models", "data", "mnist_gan_utils", "notebooks"):
        (home / part).symlink_to(REPO_ROOT / part)
    monkeypatch.setenv("MNIST_GAN_KIT_HOME", str(home))
    return home
