"""The latent code predictor: ask an *unconditional* generator for a chosen digit.

1. Sample many codes z ~ N(0, I), draw G(z) and keep the codes whose image the classifier is sure of
   (top probability >= ``keep_threshold``): a bank of codes per digit.
2. Train ``LatentCodePredictor(label, eps) -> z`` so that G(z) is classified as ``label`` (cross-entropy
   through the frozen generator and classifier) while its codes stay distributed like the bank's codes
   for that digit (a maximum mean discrepancy term): the first term makes it accurate, the second keeps
   the variety and keeps z where the generator was trained.

A self-conditioned generator's code starts with its cluster choice, a step with no gradient: the bank
also says how often each cluster gave each digit, and the predictor draws clusters that often (see
:class:`~mnist_gan_utils.models.LatentCodePredictor`); the two terms then shape the other numbers.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F

from ..evaluation import predict_proba, to_unit
from ..models import NUM_CLASSES, Classifier, Generator, LatentCodePredictor, SelfConditionedGenerator
from ..models.common import integer, number
from .engine import BaseConfig, Run, pick_device, seed_everything, set_threads
from .loop import fit


@dataclasses.dataclass
class PredictorConfig(BaseConfig):
    epochs: int = 2                 # chosen in docs/experiments/self_conditioned.md
    batch_size: int = 250
    lr: float = 1e-3
    eps_dim: int = 16
    hidden: int = 256
    candidates: int = 20_000        # codes sampled to build the bank
    keep_threshold: float = 0.99    # classifier confidence for a code to enter the bank
    steps_per_epoch: int = 150
    mmd_weight: float = 20.0      # higher keeps more of the bank's variety; 5 gave 0.66-0.77 of real variety
    min_bank: int = 10              # fewest bank codes a digit may have

    CHECKS = dict(eps_dim=integer(), hidden=integer(), candidates=integer(), keep_threshold=number(0.0, 1.0),
                  steps_per_epoch=integer(), mmd_weight=number(0.0, 1e6), min_bank=integer(0))

    def validate(self) -> None:
        super().validate()
        if self.train_size is not None:  # a BaseConfig setting that means nothing here
            raise ValueError(f"train_size must be None for the predictor (it trains on codes its generator draws, "
                             f"not on images), got {self.train_size}")


@dataclasses.dataclass
class PredictorResult:
    predictor: LatentCodePredictor
    history: dict
    run_dir: Path
    bank_sizes: list


@torch.no_grad()
def code_bank(generator: Generator, classifier: Classifier, n: int, threshold: float, seed: int = 0):
    """Codes ``z (M, noise_dim)`` whose images the classifier labels with confidence >= threshold, and labels."""
    device = next(generator.parameters()).device
    z = torch.randn(n, generator.noise_dim, generator=torch.Generator().manual_seed(seed))
    generator.eval()
    images = torch.cat([to_unit(generator(z[i:i + 1000].to(device)), generator).cpu() for i in range(0, n, 1000)])
    probs = predict_proba(classifier, images)
    conf, label = probs.max(1)
    keep = conf >= threshold
    return z[keep], label[keep]


def mmd(x: torch.Tensor, y: torch.Tensor, scales=(2.0, 5.0, 10.0)) -> torch.Tensor:
    """Maximum mean discrepancy with a sum of Gaussian kernels (biased estimate)."""
    xy = torch.cat([x, y])
    d2 = torch.cdist(xy, xy).pow(2)
    k = sum(torch.exp(-d2 / (2 * s * s)) for s in scales)
    n = x.shape[0]
    return k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean()


def train_predictor(generator: Generator, classifier: Classifier, config: PredictorConfig | None = None,
                    **overrides) -> PredictorResult:
    """Train a :class:`LatentCodePredictor` for ``generator``, guided by ``classifier``."""
    config = dataclasses.replace(config, **overrides) if config else PredictorConfig(**overrides)
    if not isinstance(generator, (Generator, SelfConditionedGenerator)):
        raise TypeError(f"generator must be an unconditional Generator or SelfConditionedGenerator, got "
                        f"{type(generator).__name__}")
    clusters = getattr(generator, "clusters", 0)
    if not isinstance(classifier, Classifier):
        raise TypeError(f"classifier must be a Classifier, got {type(classifier).__name__}")
    set_threads()
    device = pick_device(config.device)
    seed_everything(config.seed)
    generator, classifier = generator.to(device).eval(), classifier.to(device).eval()
    for p in list(generator.parameters()) + list(classifier.parameters()):
        p.requires_grad_(False)  # frozen: only the predictor learns

    bank_z, bank_y = code_bank(generator, classifier, config.candidates, config.keep_threshold, config.seed)
    sizes = [int((bank_y == d).sum()) for d in range(NUM_CLASSES)]
    if min(sizes) < config.min_bank:
        raise ValueError(f"too few confident samples for some digits (bank sizes {sizes}); raise candidates or "
                         f"lower keep_threshold")
    # A digit with no bank codes (only in tiny test runs, min_bank=0) falls back to the prior.
    by_class = [(bank_z[bank_y == d] if sizes[d] else torch.randn(100, generator.noise_dim)).to(device)
                for d in range(NUM_CLASSES)]

    P = LatentCodePredictor(generator.noise_dim, config.eps_dim, config.hidden, clusters).to(device)
    style = slice(1 if clusters else 0, None)  # the numbers the network writes (and MMD compares)
    if clusters:  # how often each cluster gave each digit (a digit with no bank: any cluster)
        counts = torch.zeros(NUM_CLASSES, clusters)
        counts.index_put_((bank_y, generator.code(bank_z.to(device)).cpu()), torch.ones(len(bank_y)), accumulate=True)
        P.set_clusters(torch.where(counts.sum(1, keepdim=True) > 0, counts, 1.0), generator.cluster_cdf)
    opt = torch.optim.Adam(P.parameters(), lr=config.lr)
    run = Run("predictor", config, {"predictor": P}, {"opt": opt})
    start = run.start()
    per_class = config.batch_size // NUM_CLASSES
    steps = min(config.steps_per_epoch, config.max_steps_per_epoch or config.steps_per_epoch)

    def step(_, rng, i):  # no data: the batch is every digit, per_class times
        labels = torch.arange(NUM_CLASSES).repeat_interleave(per_class).to(device)              # (B,)
        eps = torch.randn(labels.shape[0], config.eps_dim, generator=rng).to(device)          # (B, eps_dim)
        z = P(labels, eps)                                                                     # (B, noise_dim)
        logits = classifier(to_unit(generator(z), generator))                                 # (B, 10)
        loss_cls = F.cross_entropy(logits, labels)
        loss_mmd = sum(mmd(z[labels == d][:, style], by_class[d][torch.randint(len(by_class[d]), (per_class,),
                                                                                generator=rng).to(device)][:, style])
                       for d in range(NUM_CLASSES)) / NUM_CLASSES
        loss = loss_cls + config.mmd_weight * loss_mmd
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "loss_cls": loss_cls.item(), "mmd": loss_mmd.item(),
                "label_accuracy": (logits.argmax(1) == labels).float().mean().item()}

    fit(run, start, lambda epoch: range(steps), steps, step, (P,), salt_by_rank=False)
    return PredictorResult(P.eval(), run.history, run.dir, sizes)
