"""What every training loop needs: config validation, seeding, the device, the run folder,
a checkpoint each epoch, resume, and a history of named statistics."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import random
import weakref
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from ..models.common import check_positive_float, integer, optional
from ..paths import MODELS_DIR, OUTPUTS_DIR, relative
from . import distributed
from .run_lock import RunFolderInUseError, RunLock

CHECKPOINT_NAME = "checkpoint.pt"


class TrainingDivergedError(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint was kept."""


# ---------------------------------------------------------------------------------------------
# Devices and seeds
# ---------------------------------------------------------------------------------------------
def _available(kind: str) -> bool:
    mps = getattr(torch.backends, "mps", None)
    return {"cpu": True, "cuda": torch.cuda.is_available(), "mps": mps is not None and mps.is_available()}[kind]


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` or ``'auto'`` picks cuda -> mps -> cpu; otherwise the device asked for, checked."""
    if device is None or device == "auto":
        return torch.device(next(kind for kind in ("cuda", "mps", "cpu") if _available(kind)))
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as e:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r} ({e})") from None
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}")
    if not _available(dev.type):
        raise ValueError(f"device {device!r} was asked for but {dev.type.upper()} is not available here; use "
                         f"device='auto' or 'cpu'")
    return dev


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def epoch_generator(seed: int, epoch: int, salt: int = 0) -> torch.Generator:
    """A CPU generator for one epoch's noise: epoch ``k`` draws the same numbers in a resumed run."""
    return torch.Generator().manual_seed((seed * 1_000_003 + epoch * 7919 + salt) % 2**63)


@dataclasses.dataclass
class BaseConfig:
    """Fields every loop shares. A config class lists each field's check in ``CHECKS`` (field -> check); every
    check of the class and its bases runs when a config is made, and :meth:`validate` adds what relates fields."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    device: str | None = None
    run_dir: str | None = None      # default: a folder per settings, outputs/<kind>/<digest> (run_folder)
    resume: bool = False            # continue from run_dir/checkpoint.pt (always, in the default folder)
    overwrite: bool = False         # start over in a run folder that holds a checkpoint
    max_steps_per_epoch: int | None = None  # cap for quick runs (CI, tests)
    train_size: int | None = None   # train on the first N images only (quick runs)
    progress: bool = True

    CHECKS = dict(epochs=integer(), batch_size=integer(1, 60_000), lr=check_positive_float,
                  seed=integer(0, 2**32 - 1),  # numpy's seeds; torch.manual_seed overflows past 2**64
                  max_steps_per_epoch=optional(integer()), train_size=optional(integer(1, 60_000)))

    def __post_init__(self):
        for cls in reversed(type(self).__mro__):  # the base's checks first
            for name, check in vars(cls).get("CHECKS", {}).items():
                check(name, getattr(self, name))
        self.validate()

    def validate(self) -> None:
        if self.train_size is not None and self.batch_size > self.train_size:
            raise ValueError(f"batch_size ({self.batch_size}) must not exceed train_size ({self.train_size})")
        if self.resume and self.overwrite:
            raise ValueError("resume and overwrite cannot both be True: resume continues a run, overwrite starts over")
        pick_device(self.device)  # raises ValueError for an unknown or unavailable device

    def __str__(self) -> str:
        """As ``repr``, with the run folder relative to the kit: what a notebook prints and stores."""
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.repr}
        if shown.get("run_dir"):
            shown["run_dir"] = relative(shown["run_dir"])
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}

    # Fields that may differ between an interrupted run and its resumption.
    RESUMABLE_CHANGES = ("epochs", "resume", "overwrite", "progress", "device", "run_dir")


# ---------------------------------------------------------------------------------------------
# The run: folder, checkpoint and resume
# ---------------------------------------------------------------------------------------------
class Run:
    """One training run's folder, checkpoint and history.

    ``Run(kind, config, modules, optimizers)``; ``start()`` returns the first epoch to train (0, or the
    epoch after the checkpoint when resuming); ``end_epoch(epoch)`` writes the checkpoint atomically.
    Under ``torchrun`` every process keeps the same state and only rank 0 (``run.main``) writes.
    """

    def __init__(self, kind: str, config: BaseConfig, modules: dict[str, nn.Module],
                 optimizers: dict[str, torch.optim.Optimizer], schedulers: dict | None = None):
        self.kind, self.config = kind, config
        self.modules = modules  # the networks by name: what callbacks look at
        # what a checkpoint saves and a resumed run loads, by name: {"models": {"G": G, ...}, ...}
        self.parts = {"models": modules, "optimizers": optimizers, "schedulers": schedulers or {}}
        self.derived = not config.run_dir  # a folder of its own for these settings: always continued
        self.dir = (run_folder(kind, config) if self.derived else Path(config.run_dir)).resolve()
        if self.dir == MODELS_DIR.resolve() or MODELS_DIR.resolve() in self.dir.parents:
            raise ValueError(f"run_dir {self.dir} is inside models/: training never writes there. Pick another "
                             f"run_dir and export the result with `python -m mnist_gan_utils pretrain --model NAME`.")
        self.checkpoint_path = self.dir / CHECKPOINT_NAME
        self.history: dict[str, list] = {}
        self.main = distributed.is_main()
        self.close = lambda: None  # release run.lock now; set by start()

    def start(self) -> int:
        """The first epoch to train: 0 for a new run, or the one after the checkpoint's. Says which."""
        refused = torch.zeros(1)
        if self.main:  # the lock before the checkpoint is looked at: two runs started together cannot both start
            self.dir.mkdir(parents=True, exist_ok=True)
            try:  # released after the last epoch, or when a Run that raised is collected or the process exits
                self.close = weakref.finalize(self, RunLock(self.dir).acquire().release)
            except RunFolderInUseError:
                refused += 1
                distributed.broadcast_tensors(refused)  # under torchrun the other processes stop too
                raise
        distributed.broadcast_tensors(refused)
        if refused.item():
            raise RunFolderInUseError(f"{self.dir} is in use by another training run (process rank 0 says why)")
        start, replacing = 0, self.config.overwrite and self.checkpoint_path.exists()
        try:
            if self.checkpoint_path.exists() and not self.config.overwrite:
                if not (self.config.resume or self.derived):
                    raise FileExistsError(
                        f"{self.dir} already holds a training run ({CHECKPOINT_NAME}). Pass resume=True to continue "
                        f"it, overwrite=True to start over there, or choose another run_dir.")
                start = self._load()
        except BaseException:
            self.close()
            raise
        if start >= self.config.epochs:  # nothing to train
            self.close()
        if self.main and self.config.progress:
            print(f"{relative(self.dir)}: {self._status(start, replacing)}", flush=True)
        return start

    def _status(self, start: int, replacing: bool) -> str:
        epochs = self.config.epochs
        if start == 0:
            return "a new run" + (" (overwriting the run that was there)" if replacing else "")
        if start >= epochs:
            return f"the run with these settings has finished {start} epoch{'s' * (start != 1)}: loaded, nothing to train"
        return f"continuing the run with these settings after its epoch {start}, up to {epochs}"

    def _load(self) -> int:
        ckpt = load_checkpoint(self.checkpoint_path)
        if not isinstance(ckpt, dict) or ckpt.get("kind") != self.kind:
            raise CheckpointError(f"{self.checkpoint_path} is not a {self.kind} training checkpoint")
        new = self.config.to_dict()
        # A setting the checkpoint does not name had its default value when the checkpoint was written.
        defaults = {f.name: f.default for f in dataclasses.fields(self.config)}
        old = {k: ckpt["config"].get(k, list(defaults[k]) if isinstance(defaults[k], tuple) else defaults[k])
               for k in new}
        changed = {k: (old[k], v) for k, v in new.items() if k not in self.config.RESUMABLE_CHANGES and old[k] != v}
        if changed:
            raise ValueError(f"cannot resume {self.checkpoint_path}: these settings differ from the interrupted run "
                             f"(old, new): {changed}. Use the same settings, or overwrite=True to start over.")
        for part, objects in self.parts.items():
            for name, obj in objects.items():
                obj.load_state_dict(ckpt[part][name])
        self.history = ckpt["history"]
        _set_rng_state(ckpt["rng"])
        return int(ckpt["epoch"]) + 1

    def end_epoch(self, epoch: int) -> Path:
        if not self.main:  # every process holds the same weights: one writes them
            return self.checkpoint_path
        state = {"kind": self.kind, "epoch": epoch, "config": self.config.to_dict(), "history": self.history,
                 "rng": _rng_state(), **{part: {name: obj.state_dict() for name, obj in objects.items()}
                                         for part, objects in self.parts.items()}}
        path = save_checkpoint(state, self.checkpoint_path)
        if epoch == self.config.epochs - 1:  # the last checkpoint: the folder is free for the next run
            self.close()
        return path

    def log(self, **stats: float) -> None:
        """Append named statistics (floats) to the history."""
        for k, v in stats.items():
            self.history.setdefault(k, []).append(float(v))

    def check_finite(self, epoch: int, step: int, **losses: float) -> None:
        """Raise :class:`TrainingDivergedError` if a loss is NaN or infinite; ``epoch`` is the last
        finished (0-based) epoch, -1 before the first."""
        bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
        if bad:
            kept = (f"the last good checkpoint (end of epoch {epoch + 1}) is kept at {self.checkpoint_path}"
                    if self.checkpoint_path.exists() else "no epoch had finished, so no checkpoint was written")
            raise TrainingDivergedError(
                f"training diverged: {', '.join(f'{k}={v}' for k, v in bad.items())} at epoch {epoch + 2}, "
                f"step {step}; {kept}. Try a lower learning rate (e.g. half), check that the data range matches "
                f"the model's output (Tanh needs [-1, 1]), then resume=True or overwrite=True.")


def _rng_state() -> dict:
    """The random generators a resumed run continues: the CPU's, and each GPU's once CUDA is in use."""
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")  # absent from CPU runs and from checkpoints written before it was saved
    if cuda and torch.cuda.is_available():
        if distributed.world_size() > 1:  # one GPU per process, all drawing alike: rank 0's (cuda:0) was saved
            torch.cuda.set_rng_state(cuda[0], torch.cuda.current_device())
        else:
            torch.cuda.set_rng_state_all(cuda[:torch.cuda.device_count()])


def run_folder(kind: str, config: BaseConfig) -> Path:
    """``outputs/<kind>/<digest>``: a folder per combination of the settings that shape a run (all but
    those of ``RESUMABLE_CHANGES``, such as ``epochs``). Running again with the same settings continues
    the run there (more epochs train on); any other setting starts a run of its own."""
    shaping = {k: v for k, v in config.to_dict().items() if k not in config.RESUMABLE_CHANGES}
    digest = hashlib.sha256(json.dumps(shaping, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return OUTPUTS_DIR / kind / digest


def prepare(config_cls, config, overrides: dict, data=None):
    """What every loop does first: the config (with overrides, validated), threads, device, seed, and the
    training data ``(images, labels)`` (default: the MNIST training set, cut to ``train_size``; under
    ``torchrun``, this process's shard of it)."""
    from ..data import load_mnist

    config = dataclasses.replace(config, **overrides) if config else config_cls(**overrides)
    set_threads()
    device = distributed.setup(pick_device(config.device))
    seed_everything(config.seed)  # the same seed everywhere: DDP starts every process from rank 0's weights anyway
    images, labels = data if data is not None else load_mnist("train")
    if config.train_size is not None:
        images, labels = images[:config.train_size], labels[:config.train_size]
    return config, device, *distributed.shard(images, labels)


def set_threads() -> None:
    """Use every core for intra-op parallelism (torch's default can be lower in containers); processes
    started together by ``torchrun`` on one machine share the cores."""
    n = max(1, (os.cpu_count() or 1) // distributed.local_world_size())
    if torch.get_num_threads() < n:
        torch.set_num_threads(n)
