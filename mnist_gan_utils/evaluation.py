"""Classifier-based figures for generated digits: pure functions over tensors and models.

The recognised rate makes the published notebooks' S0/S1 "error" precise (error = 1 - recognised rate);
mode dropping shows in the class histogram; the Fréchet distance is torchmetrics' FID with the kit's
classifier as the feature network, reported beside the real-data floor. Drawing the samples is
:mod:`mnist_gan_utils.sampling`'s.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .models import NUM_CLASSES
from .models.common import memory_format
from .sampling import balanced_labels, sample, sample_digits, to_unit  # noqa: F401 - here for the lessons' `ev.sample`

RECOGNISED_THRESHOLD = 0.9


def _check_images(images: torch.Tensor, name="images") -> torch.Tensor:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (N, 1, 28, 28), got {type(images).__name__}")
    if images.dtype == torch.uint8:
        images = images.float() / 255
    if images.ndim == 3:
        images = images.unsqueeze(1)
    if images.ndim != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ValueError(f"{name} must have shape (N, 1, 28, 28) or (N, 28, 28), got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise TypeError(f"{name} must be float in [0, 1] or uint8, got {images.dtype}")
    if images.numel() and (images.min() < -1e-3 or images.max() > 1 + 1e-3):
        raise ValueError(f"{name} must be in [0, 1] (got [{images.min():.2f}, {images.max():.2f}]); "
                         f"map Generator outputs with to_unit()")
    return images


@torch.no_grad()
def _in_batches(model: nn.Module, fn, images: torch.Tensor, batch_size: int) -> torch.Tensor:
    """``fn(batch)`` over checked images in [0, 1], batch by batch on the model's device, in ``eval()`` mode."""
    images = _check_images(images)
    model.eval()
    device = next(model.parameters()).device
    layout = memory_format(device)  # channels-last on the CPU, where it is faster (docs/benchmarks.md)
    model.to(memory_format=layout)
    return torch.cat([fn(images[i:i + batch_size].to(device).contiguous(memory_format=layout)).cpu()
                      for i in range(0, images.shape[0], batch_size)])


def predict_proba(classifier: nn.Module, images: torch.Tensor, batch_size: int = 250) -> torch.Tensor:
    """Class probabilities ``(N, 10)`` for images in [0, 1] (or uint8), in ``eval()`` mode."""
    return _in_batches(classifier, lambda x: torch.softmax(classifier(x), 1), images, batch_size)


def features(classifier: nn.Module, images: torch.Tensor, batch_size: int = 250) -> torch.Tensor:
    """The classifier's penultimate features ``(N, feature_dim)``."""
    return _in_batches(classifier, classifier.features, images, batch_size)


def accuracy(classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    return label_accuracy(classifier, images, labels)["label_accuracy"]


def confusion_matrix(classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    pred = predict_proba(classifier, images).argmax(1)
    return torch.bincount(labels.cpu() * NUM_CLASSES + pred, minlength=NUM_CLASSES ** 2).view(NUM_CLASSES, NUM_CLASSES)


def recognised_rate(probs: torch.Tensor, threshold: float = RECOGNISED_THRESHOLD) -> float:
    """Share of digits whose top class probability is >= ``threshold``."""
    return (probs.max(1).values >= threshold).float().mean().item()


def blend_split(probs: torch.Tensor, threshold: float = RECOGNISED_THRESHOLD) -> dict:
    """Shares of digits that are ``recognised`` (top class >= ``threshold``), ``blends`` of two digits (not
    recognised, but the two likeliest classes together reach ``threshold``) and ``other`` (neither)."""
    top = probs.topk(2, dim=1).values
    recognised = top[:, 0] >= threshold
    blends = ~recognised & (top.sum(1) >= threshold)
    return {"recognised": recognised.float().mean().item(), "blends": blends.float().mean().item(),
            "other": (~recognised & ~blends).float().mean().item()}


def class_histogram(probs: torch.Tensor) -> torch.Tensor:
    """Fraction of samples predicted as each digit, ``(10,)``."""
    return torch.bincount(probs.argmax(1), minlength=NUM_CLASSES).float() / probs.shape[0]


def kl_to_uniform(fractions: torch.Tensor) -> float:
    """KL(p || uniform) in nats; 0 for perfectly balanced classes, log 10 = 2.30 for a single class."""
    p = fractions[fractions > 0]
    return float((p * (p * NUM_CLASSES).log()).sum())


def frechet_distance_features(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """Fréchet distance between two sets of features ``(N, D)`` (torchmetrics' FID, float64 statistics)."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    precomputed = nn.Identity()  # the "feature network" of features computed already, of this size
    precomputed.num_features = features_a.shape[1]
    fd = FrechetInceptionDistance(feature=precomputed)
    fd.update(features_a, real=True)
    fd.update(features_b, real=False)
    return float(fd.compute())


def frechet_distance(classifier: nn.Module, images_a: torch.Tensor, images_b: torch.Tensor) -> float:
    """Fréchet distance between two image sets on the classifier's penultimate features."""
    return frechet_distance_features(features(classifier, images_a), features(classifier, images_b))


def proportion_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion ``successes / n`` (z = 1.96).

    A share measured on ``n`` digits is an estimate: 5 errors in 100 digits is compatible with a true rate
    anywhere from about 2% to 11%, 500 in 10,000 with 4.6% to 5.5%. Wilson's interval stays inside [0, 1]
    and is sensible at 0 or ``n`` successes, where the textbook ``p ± 1.96 sqrt(p(1 - p) / n)`` says ± 0."""
    if n <= 0:
        raise ValueError(f"n must be a positive number of digits, got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n] = [0, {n}], got {successes}")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def share_with_interval(successes: int, n: int) -> str:
    """``"5.0% of 100 (95% interval 2.2%-11.2%)"``: a measured share and how far to trust it."""
    low, high = proportion_interval(successes, n)
    return f"{successes / n:.1%} of {n:,} (95% interval {low:.1%}-{high:.1%})"


def pairwise_distance(images: torch.Tensor) -> float:
    """Mean Euclidean distance between all pairs of images (in [0, 1] pixel units): variety."""
    return torch.pdist(_check_images(images).flatten(1)).mean().item()


def s0_s1(classifier: nn.Module, real: torch.Tensor, real_labels: torch.Tensor, fake: torch.Tensor) -> dict:
    """The published notebooks' S0 (real digits) and S1 (generated digits) figures.

    ``S0_error``/``S1_error`` = share *not* recognised (top probability < 0.9), ``S0_errors``/``S1_errors``
    the counts behind them (for :func:`share_with_interval`); ``S0_wrong`` = share of real digits given the
    wrong label."""
    p0, p1 = predict_proba(classifier, real), predict_proba(classifier, fake)
    e0, e1 = (int((p.max(1).values < RECOGNISED_THRESHOLD).sum()) for p in (p0, p1))
    return {"S0_error": e0 / len(p0), "S0_errors": e0, "S1_error": e1 / len(p1), "S1_errors": e1,
            "S0_wrong": (p0.argmax(1) != real_labels.cpu()).float().mean().item(), "S0_probs": p0, "S1_probs": p1}


def evaluate_images(classifier: nn.Module, fake: torch.Tensor, real_test: torch.Tensor,
                    real_train: torch.Tensor | None = None, real_test_features: torch.Tensor | None = None) -> dict:
    """Every figure of generated digits ``fake`` against the real test digits (all in [0, 1] or uint8).
    One pass of the classifier per image set: probabilities come from the same features as the distance
    (``real_test_features``: the test digits' features, when already computed)."""
    f_fake = features(classifier, fake)
    f_test = features(classifier, real_test) if real_test_features is None else real_test_features
    with torch.no_grad():
        probs = torch.softmax(classifier.head.eval()(f_fake.to(next(classifier.parameters()).device)), 1).cpu()
    hist = class_histogram(probs)
    out = {
        "n": int(fake.shape[0]),
        "recognised_rate": recognised_rate(probs),
        "blend_rate": blend_split(probs)["blends"],
        "class_fractions": [round(float(v), 4) for v in hist],
        "min_class_fraction": float(hist.min()), "max_class_fraction": float(hist.max()),
        "kl_to_uniform": kl_to_uniform(hist),
        "frechet_distance": frechet_distance_features(f_test, f_fake),
    }
    if real_train is not None:
        out["frechet_floor"] = frechet_distance_features(f_test, features(classifier, real_train))
        out["frechet_ratio"] = out["frechet_distance"] / max(out["frechet_floor"], 1e-12)
    return out


def summary(scores: dict) -> str:
    """One line of :func:`evaluate_generator`'s figures, for a notebook to print. The Fréchet ratio comes with
    its floor and sample size: the floor (and so the ratio) depends on ``n``, and only ratios of equal size
    compare."""
    return (f"recognised {scores['recognised_rate']:.1%}, each digit {scores['min_class_fraction']:.1%}-"
            f"{scores['max_class_fraction']:.1%} of the samples, Fréchet distance {scores['frechet_distance']:.2f}, "
            f"{scores['frechet_ratio']:.1f}x the floor of {scores['n']:,} real digits ({scores['frechet_floor']:.2f})")


def evaluate_generator(model: nn.Module, classifier: nn.Module, n: int = 10_000, seed: int = 0,
                       real_test: torch.Tensor | None = None, real_train: torch.Tensor | None = None) -> dict:
    """Sample ``n`` digits from a ``Generator``, ``ConditionalGenerator`` or ``Decoder`` and measure them
    (see :func:`evaluate_images`); a conditional generator is asked for every digit equally often and
    its ``label_accuracy`` is added. The floor compares ``n`` training digits with the test digits."""
    from .data import load_mnist

    real_test = load_mnist("test")[0] if real_test is None else real_test
    real_train = load_mnist("train")[0][:n] if real_train is None else real_train
    images = sample(model, n, seed)
    out = evaluate_images(classifier, images, real_test, real_train)
    if getattr(model, "conditional", False):
        acc = label_accuracy(classifier, images, balanced_labels(n))
        out.update(label_accuracy=acc["label_accuracy"], per_digit_accuracy=acc["per_digit"])
    return out


def label_accuracy(classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> dict:
    """Share of digits drawn as asked, overall and per digit."""
    labels = labels.cpu()
    ok = (predict_proba(classifier, images).argmax(1) == labels).float()  # on the CPU, wherever the classifier is
    per = [ok[labels == d].mean().item() if (labels == d).any() else math.nan for d in range(NUM_CLASSES)]
    return {"label_accuracy": ok.mean().item(), "per_digit": per}


def nearest_neighbours(queries: torch.Tensor, pool: torch.Tensor, batch_size: int = 5000):
    """For each query image, the index of and pixel distance to its nearest image in ``pool``
    (both in [0, 1] or uint8). Answers "does the generator copy its training digits?"."""
    q = _check_images(queries, "queries").flatten(1)
    best_d = torch.full((q.shape[0],), float("inf"))
    best_i = torch.zeros(q.shape[0], dtype=torch.long)
    for i in range(0, pool.shape[0], batch_size):
        p = _check_images(pool[i:i + batch_size], "pool").flatten(1)
        d, j = torch.cdist(q, p).min(1)
        better = d < best_d
        best_d[better], best_i[better] = d[better], j[better] + i
    return best_i, best_d


def cleanest_per_class(images: torch.Tensor, probs: torch.Tensor, per_class: int = 10) -> list[torch.Tensor]:
    """For each digit, the ``per_class`` images the classifier is most sure of (fewer if there are fewer)."""
    conf, label = probs.max(1)
    idx = [(label == d).nonzero().flatten() for d in range(NUM_CLASSES)]
    return [images[i[conf[i].argsort(descending=True)[:per_class]]] for i in idx]


def discriminator_scores(discriminator: nn.Module, images: torch.Tensor, batch_size: int = 250,
                         labels: torch.Tensor | None = None, raw: bool = False) -> torch.Tensor:
    """D's probability that each image (in [0, 1]) is real, ``(N,)``; D sees it in [-1, 1] as in training.
    A conditional D also needs each image's ``labels``. ``raw=True`` returns the logits (a WGAN critic's
    scores, which are not probabilities)."""
    squash = (lambda t: t) if raw else torch.sigmoid
    if not getattr(discriminator, "conditional", False):
        return _in_batches(discriminator, lambda x: squash(discriminator(x * 2 - 1)), images, batch_size)
    if labels is None:
        raise ValueError("a ConditionalDiscriminator judges an image *and* its label: pass labels=")
    batches = iter(labels.cpu().split(batch_size))
    return _in_batches(discriminator, lambda x: squash(discriminator(x * 2 - 1, next(batches).to(x.device))),
                       images, batch_size)
