"""The classifiers that judge generated digits (the CNN, or the second judge, an MLP): AdamW, a one-cycle
schedule, light augmentation."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F

from ..data import MNISTBatches
from ..models import Classifier, MLPClassifier
from ..models.common import integer, number, rule
from .distributed import wrap
from .engine import BaseConfig, Run, prepare
from .loop import fit


@dataclasses.dataclass
class ClassifierConfig(BaseConfig):
    epochs: int = 6
    batch_size: int = 128
    architecture: str = "cnn"       # 'cnn' (Classifier, the kit's judge) or 'mlp' (MLPClassifier, the second)
    lr: float = 3e-3                # peak of the one-cycle schedule
    weight_decay: float = 1e-4
    channels: int = 32
    feature_dim: int = 128
    dropout: float = 0.3
    rotation: float = 10.0          # small rotations make it robust to imperfect generated digits

    CHECKS = dict(architecture=rule(lambda v: v in ("cnn", "mlp"), "'cnn' or 'mlp'"), weight_decay=number(0.0, 1.0),
                  channels=integer(), feature_dim=integer(), dropout=number(0.0, 1.0, high_open=True),
                  rotation=number(0.0, 180.0))


@dataclasses.dataclass
class ClassifierResult:
    classifier: Classifier | MLPClassifier
    history: dict
    run_dir: Path


def train_classifier(config: ClassifierConfig | None = None, data=None, **overrides) -> ClassifierResult:
    """Train a classifier (the CNN, or ``architecture="mlp"``) on the MNIST training set (``data``: optional ``(images, labels)``)."""
    config, device, images, labels = prepare(ClassifierConfig, config, overrides, data)
    batches = MNISTBatches(images, labels, config.batch_size, rotation=config.rotation, value_range=(0, 1),
                           device=device, seed=config.seed)
    steps = min(len(batches), config.max_steps_per_epoch or len(batches))

    model = (Classifier(config.channels, config.feature_dim, config.dropout) if config.architecture == "cnn"
             else MLPClassifier(dropout=config.dropout)).to(device)
    net = wrap(model, device)  # DistributedDataParallel under torchrun, else model itself
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=config.epochs * steps)
    run = Run("classifier", config, {"classifier": model}, {"opt": opt}, {"sched": sched})
    start = run.start()

    def step(batch, rng, i):
        x, y = batch
        logits = net(x)                                                # (B, 10)
        loss = F.cross_entropy(logits, y)  # no label smoothing: confidences stay honest (recognised: p >= 0.9)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        return {"loss": loss.item(), "train_accuracy": (logits.argmax(1) == y).float().mean().item()}

    fit(run, start, batches.epoch, steps, step, (model,))
    return ClassifierResult(model.eval(), run.history, run.dir)
