"""Every generative model of the kit measured by one evaluation (notebook 06).

The same classifier, the same real test digits, the same number of samples and the same figures for
each model: recognised rate, class balance, Fréchet distance on classifier features with its real-data
floor, label accuracy where a digit can be asked for, and the training time the manifest records.
"""
from __future__ import annotations

import math

import torch

from . import evaluation as ev
from .checkpoints import load_pretrained, read_manifest
from .paths import MODELS_DIR
from .registry import GENERATORS

MODELS = tuple(GENERATORS.items())  # (manifest name, what it is): the order of the table and the figure


def draw(name: str, n: int, seed: int = 1, device="cpu", models_dir=MODELS_DIR):
    """``n`` images in [0, 1] from the pretrained model ``name`` and, for models that can be asked for a
    digit, the digits asked for (every digit equally often; else ``None``)."""
    if name == "latent_code_predictor":
        P = load_pretrained(name, device, models_dir)
        G = load_pretrained("generator", device, models_dir)
        per = math.ceil(n / 10)
        images, labels = ev.sample_digits(P, G, range(10), per, seed)
        counts = torch.bincount(ev.balanced_labels(n), minlength=10)  # n images, still balanced
        order = torch.cat([torch.arange(d * per, d * per + int(counts[d])) for d in range(10)])
        return images[order], labels[order]
    model = load_pretrained(name, device, models_dir)
    if getattr(model, "conditional", False):
        labels = ev.balanced_labels(n)
        return ev.sample(model, n, seed, labels=labels), labels
    return ev.sample(model, n, seed), None


def training_seconds(name: str, manifest: dict) -> float:
    """What it costs to build the model from nothing: the predictor also needs the generator."""
    models = manifest["models"]
    seconds = models[name].get("training_seconds", math.nan)
    if name == "latent_code_predictor":
        seconds += models["generator"].get("training_seconds", math.nan)
    return seconds


def compare(names=None, n: int = 10_000, seed: int = 1, device="cpu", models_dir=MODELS_DIR,
            real_test=None, real_train=None) -> list[dict]:
    """One row of figures per model in ``names`` (default: every model of :data:`MODELS` in the manifest)."""
    from .data import load_mnist

    manifest = read_manifest(models_dir / "manifest.json")
    titles = dict(MODELS)
    names = [m for m, _ in MODELS if m in manifest["models"]] if names is None else list(names)
    C = load_pretrained("classifier", device, models_dir)
    real_test = load_mnist("test")[0][:n] if real_test is None else real_test
    real_train = load_mnist("train")[0][:n] if real_train is None else real_train
    f_test = ev.features(C, real_test)
    floor = ev.frechet_distance_features(f_test, ev.features(C, real_train))
    rows = []
    for name in names:
        images, labels = draw(name, n, seed, device, models_dir)
        m = ev.evaluate_images(C, images, real_test, real_test_features=f_test)
        row = {"model": name, "title": titles.get(name, name), **m, "frechet_floor": floor,
               "frechet_ratio": m["frechet_distance"] / max(floor, 1e-12),
               "label_accuracy": math.nan, "training_seconds": training_seconds(name, manifest)}
        if labels is not None:
            row["label_accuracy"] = ev.label_accuracy(C, images, labels)["label_accuracy"]
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table (what notebook 06 prints and the README quotes)."""
    head = ("| model | recognised | digits min–max | KL to uniform | Fréchet (× floor) | label accuracy "
            "| training (min) |\n|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        acc = "–" if math.isnan(r["label_accuracy"]) else f"{r['label_accuracy']:.2%}"
        lines.append(f"| {r['title']} | {r['recognised_rate']:.1%} | {r['min_class_fraction']:.1%}–"
                     f"{r['max_class_fraction']:.1%} | {r['kl_to_uniform']:.3f} | {r['frechet_distance']:.2f} "
                     f"({r['frechet_ratio']:.1f}×) | {acc} | {r['training_seconds'] / 60:.1f} |")
    lines.append(f"\n{rows[0]['n']:,} samples per model; Fréchet floor (real training vs real test digits) = "
                 f"{rows[0]['frechet_floor']:.3f}." if rows else "")
    return "\n".join(lines)


def plot_comparison(rows: list[dict]):
    """Three panels, one bar per model: recognised rate, Fréchet distance / floor, training minutes."""
    import matplotlib.pyplot as plt

    names = [r["title"].replace(", ", ",\n").replace(" + ", " +\n") for r in rows]
    panels = (("recognised rate (top p >= 0.9)", [r["recognised_rate"] for r in rows], (0, 1)),
              ("Fréchet distance / real floor (lower is better)", [r["frechet_ratio"] for r in rows], None),
              ("training minutes on this machine", [r["training_seconds"] / 60 for r in rows], None))
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    for ax, (title, values, ylim) in zip(axes, panels):
        ax.bar(range(len(values)), values, color=[f"C{i}" for i in range(len(values))])
        ax.set_xticks(range(len(values)), names, fontsize=7)
        ax.set_title(title, fontsize=10)
        if ylim:
            ax.set_ylim(*ylim)
        for i, v in enumerate(values):
            ax.annotate(f"{v:.2f}" if v < 10 else f"{v:.0f}", (i, v), ha="center", va="bottom", fontsize=8)
    fig.tight_layout()
    return fig
