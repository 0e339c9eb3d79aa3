"""Safe checkpoint I/O: the one place that calls ``torch.save`` and ``torch.load``.

* Writes are atomic (a temporary file, then ``os.replace``): an interrupted save never leaves half a
  file, and the previous checkpoint survives.
* Tensors are moved to the CPU before saving, so weights saved on a GPU load on any machine.
* Loads use ``weights_only=True``: a file holding a pickle that would run code is refused unrun.
* Every kind of bad file gets a :class:`CheckpointError` that names the file, what is wrong and the fix.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .registry import model_class
from .paths import INSTALL_HINT, KIT_FOUND, MANIFEST_PATH, MODELS_DIR


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, hostile, or does not fit the model."""


def sha256_file(path: str | os.PathLike) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


def _missing(path: Path, fix: str) -> str:
    """The message for a missing file: under a non-editable install, models/ is missing because the
    package was installed without the kit, and rebuilding every model is the wrong advice."""
    if not KIT_FOUND and path.resolve().is_relative_to(MODELS_DIR.resolve()):
        return f"{path}: not found; {INSTALL_HINT}."
    return f"{path}: {fix}"


def write_atomically(path: Path, write) -> None:
    """``write(f)`` into a temporary file of this process's own (two processes saving the same file never
    share one), then ``os.replace`` it onto ``path``; a failed write leaves nothing behind."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_checkpoint(obj: Any, path: str | os.PathLike) -> Path:
    """Save ``obj`` (a state dict, or a dict of state dicts, numbers, strings and tensors) atomically.

    An ``nn.Module`` is saved as its ``state_dict()``: a plain dict of tensors, never a pickled class.
    """
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda f: torch.save(_to_cpu(obj), f))
    return path


def load_checkpoint(path: str | os.PathLike, map_location="cpu", expected_sha256: str | None = None) -> Any:
    """Load a checkpoint with ``torch.load(..., weights_only=True)``; every failure is a :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(_missing(path, "no such file. Check the path, or rebuild the pretrained models with "
                                             "`python -m mnist_gan_utils pretrain --all`."))
    if expected_sha256 is not None and (actual := sha256_file(path)) != expected_sha256:
        raise CheckpointError(
            f"{path}: sha256 {actual[:12]}… does not match the manifest's {expected_sha256[:12]}…: the file "
            f"was altered, truncated or replaced. Restore it with `git checkout -- {path.name}` in models/, "
            f"or rebuild it with `python -m mnist_gan_utils pretrain --model {path.stem}`.")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: not a PyTorch checkpoint (not a zip archive): the file is truncated, "
                              f"corrupt or of another format. Download or rebuild it.")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"{path}: refused. It holds Python objects other than tensors and plain containers, which could "
            f"run code when loaded ({str(e).splitlines()[0][:200]}). Only plain state dicts are accepted: "
            f"re-save it with `torch.save(model.state_dict(), path)` if you trust its source.") from None
    except (RuntimeError, EOFError, OSError, KeyError, ValueError) as e:
        raise CheckpointError(f"{path}: cannot be read, the file is truncated or corrupt "
                              f"({type(e).__name__}: {str(e)[:200]}). Download or rebuild it.") from None


def load_state_dict(model: nn.Module, source, map_location="cpu", expected_sha256: str | None = None) -> nn.Module:
    """Load weights into ``model`` from a path or a state dict, with an error that names every
    missing key, unexpected key and shape mismatch (for example a different ``noise_dim``)."""
    name = str(source) if not isinstance(source, dict) else "the state dict"
    state = source if isinstance(source, dict) else load_checkpoint(source, map_location, expected_sha256)
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        hint = ("it is a training checkpoint: pass it to the training loop's resume=, or use its ['models'] entry"
                if isinstance(state, dict) and "models" in state else
                "expected a state dict (a dict of str -> tensor) as written by torch.save(model.state_dict())")
        raise CheckpointError(f"{name}: not a state dict (got {type(state).__name__}); {hint}.")
    own = model.state_dict()
    keys = {"missing": sorted(set(own) - set(state)), "unexpected": sorted(set(state) - set(own))}
    parts = [f"{what} keys {names[:5]}{'…' if len(names) > 5 else ''}" for what, names in keys.items() if names]
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state and state[k].shape != own[k].shape]
    if shapes:
        parts.append("shape mismatches " + "; ".join(shapes[:3]))
    if parts:
        raise CheckpointError(
            f"{name} does not fit {type(model).__name__}({_describe(model)}): " + ", ".join(parts) +
            ". The file was saved from another architecture: build the model with the arguments it was trained "
            "with (see models/manifest.json), or load the matching file.")
    model.load_state_dict(state)
    return model


def _describe(model: nn.Module) -> str:
    keys = ("noise_dim", "latent_dim", "channels", "hidden", "eps_dim", "feature_dim", "embed_dim", "clusters",
            "cluster_embedding")
    return ", ".join(f"{k}={getattr(model, k)}" for k in keys if hasattr(model, k))


# ---------------------------------------------------------------------------------------------
# The manifest of models/
# ---------------------------------------------------------------------------------------------
def read_manifest(path: str | os.PathLike = MANIFEST_PATH) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(_missing(path, "no manifest. Rebuild the models with "
                                             "`python -m mnist_gan_utils pretrain --all`."))
    return json.loads(path.read_text())


def write_manifest(manifest: dict, path: str | os.PathLike = MANIFEST_PATH) -> None:
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    write_atomically(Path(path), lambda f: f.write(text.encode()))


def load_pretrained(name: str, device="cpu", models_dir: str | os.PathLike = MODELS_DIR,
                    verify: bool = True) -> nn.Module:
    """A pretrained model from ``models/``, built with the arguments in the manifest, its sha256
    checked, weights loaded and put in ``eval()`` mode. ``name`` is e.g. ``'generator'``."""
    models_dir = Path(models_dir)
    entries = read_manifest(models_dir / "manifest.json").get("models", {})
    if name not in entries:
        raise ValueError(f"unknown pretrained model {name!r}; the manifest lists {sorted(entries)}")
    entry = entries[name]
    model = model_class(name)(**entry.get("config", {}))
    load_state_dict(model, models_dir / entry["file"], map_location=device,
                    expected_sha256=entry["sha256"] if verify else None)
    return model.to(device).eval()
