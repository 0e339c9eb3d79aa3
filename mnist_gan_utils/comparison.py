"""Every generative model of the kit measured by one evaluation (notebooks 06, 07 and 08).

The same classifier, the same real test digits, the same number of samples and the same figures for
each model: recognised rate, class balance, Fréchet distance on classifier features with its real-data
floor, label accuracy where a digit can be asked for, and the training time the manifest records. The
recognised rate and label accuracy are also read by a second judge (``mlp_classifier``) that no model was
trained against: the latent code predictor was trained to please the kit's classifier, so only the second
judge's figures of it are fair.
"""
from __future__ import annotations

import math

import torch

from . import evaluation as ev
from .checkpoints import load_pretrained, read_manifest
from .paths import MODELS_DIR
from . import registry
from .registry import RECIPES


def sample_model(name: str, n: int, seed: int = 1, device="cpu", models_dir=MODELS_DIR):
    """``n`` images in [0, 1] from the pretrained model ``name`` and, for models that can be asked for a
    digit, the digits asked for (every digit equally often; else ``None``)."""
    if RECIPES[name].draws_with:  # a predictor of latent codes, drawing through its generator
        P = load_pretrained(name, device, models_dir)
        G = load_pretrained(RECIPES[name].draws_with, device, models_dir)
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
    """What it costs to build the model from nothing: a predictor also needs its generator."""
    models = manifest["models"]
    seconds = models[name].get("training_seconds", math.nan)
    if RECIPES[name].draws_with:
        seconds += models[RECIPES[name].draws_with].get("training_seconds", math.nan)
    return seconds


def generator_updates(name: str, manifest: dict) -> float:
    """How many updates the model's generator got: the budget a fair comparison holds equal (NaN for a
    model that is not a GAN's generator). WGAN-GP updates G once every ``n_critic`` batches."""
    name = RECIPES[name].draws_with or name  # a predictor draws through a generator: that generator's budget
    cfg = manifest["models"].get(name, {}).get("train_config") or {}
    if "g_channels" not in cfg:  # not a GAN (the decoder, the predictor)
        return math.nan
    steps = (cfg.get("train_size") or 60_000) // cfg["batch_size"]
    if cfg.get("max_steps_per_epoch"):
        steps = min(steps, cfg["max_steps_per_epoch"])
    per_update = cfg.get("n_critic", 1) if cfg.get("loss") == "wgan-gp" else 1
    return cfg["epochs"] * steps // per_update


def compare(names=None, n: int = 10_000, seed: int = 1, device="cpu", models_dir=MODELS_DIR,
            real_test=None, real_train=None, titles: dict | None = None) -> list[dict]:
    """One row of figures per model in ``names`` (default: the comparison's models, ``registry.titles()``,
    that are in the manifest), titled by ``titles`` (default: their own; the ladder passes ``registry.ladder()``)."""
    from .data import load_mnist

    manifest = read_manifest(models_dir / "manifest.json")
    titles = {**registry.titles(), **(titles or {})}
    names = [m for m in registry.titles() if m in manifest["models"]] if names is None else list(names)
    C = load_pretrained(registry.JUDGE, device, models_dir)
    C2 = (load_pretrained(registry.SECOND_JUDGE, device, models_dir) if registry.SECOND_JUDGE in manifest["models"]
          else None)
    real_test = load_mnist("test")[0][:n] if real_test is None else real_test
    real_train = load_mnist("train")[0][:n] if real_train is None else real_train
    f_test = ev.features(C, real_test)
    floor = ev.frechet_distance_features(f_test, ev.features(C, real_train))
    rows = []
    for name in names:
        images, labels = sample_model(name, n, seed, device, models_dir)
        m = ev.evaluate_images(C, images, real_test, real_test_features=f_test)
        row = {"model": name, "title": titles.get(name, name), **m, "frechet_floor": floor,
               "frechet_ratio": m["frechet_distance"] / max(floor, 1e-12),
               "label_accuracy": math.nan, "training_seconds": training_seconds(name, manifest),
               "generator_updates": generator_updates(name, manifest)}
        if labels is not None:
            row["label_accuracy"] = ev.label_accuracy(C, images, labels)["label_accuracy"]
        if C2 is not None:
            row["judge_recognised_rate"] = ev.recognised_rate(ev.predict_proba(C2, images))
            row["judge_label_accuracy"] = (math.nan if labels is None
                                           else ev.label_accuracy(C2, images, labels)["label_accuracy"])
        rows.append(row)
    return rows


def budgets(names, models_dir=MODELS_DIR) -> str:
    """What each model was given, from the manifest, as a Markdown table: generator updates, training
    minutes, and the parameters of its generator and of its discriminator or critic."""
    models = read_manifest(models_dir / "manifest.json")["models"]
    lines = ["| model | G updates | training (min) | G parameters | D parameters |", "|---|---|---|---|---|"]
    for name in names:
        partner = models.get(RECIPES[name].partner or "", {})
        updates = generator_updates(name, {"models": models})
        lines.append(f"| {name} | {'–' if math.isnan(updates) else f'{updates:,.0f}'} | "
                     f"{models[name].get('training_seconds', math.nan) / 60:.1f} | {models[name]['parameters']:,} | "
                     f"{format(partner['parameters'], ',') if partner else '–'} |")
    return "\n".join(lines)


def steps(rows: list[dict], base: dict) -> str:
    """For each row whose model builds on another's (``base``: name -> the name it changes), what the change
    did: recognised rate in points and the Fréchet ratio as a factor (below 1: closer to real digits)."""
    by_name = {r["model"]: r for r in rows}
    lines = []
    for r in rows:
        b = by_name.get(base.get(r["model"], ""))
        if b is not None:
            lines.append(f"{r['title']} vs {b['title']}: recognised {100 * (r['recognised_rate'] - b['recognised_rate']):+.1f} "
                         f"points, Fréchet ratio x{r['frechet_ratio'] / b['frechet_ratio']:.2f}, rarest digit "
                         f"{b['min_class_fraction']:.1%} -> {r['min_class_fraction']:.1%}")
    return "\n".join(lines)


def blends(rows: list[dict], real: dict | None = None) -> str:
    """Where each row's digits fall (``evaluation.blend_split``): recognised, two-digit blends, and other,
    as a Markdown table; ``real``: the same split of real test digits, shown first for scale."""
    lines = ["| model | recognised | two-digit blends | other |", "|---|---|---|---|"]
    split = [("real test digits", real)] if real else []
    split += [(r["title"], {"recognised": r["recognised_rate"], "blends": r["blend_rate"],
                            "other": 1 - r["recognised_rate"] - r["blend_rate"]}) for r in rows]
    lines += [f"| {title} | {s['recognised']:.1%} | {s['blends']:.1%} | {s['other']:.1%} |" for title, s in split]
    return "\n".join(lines)


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table (what notebooks 06 and 08 print), with each model's training budget."""
    judged = bool(rows) and "judge_recognised_rate" in rows[0]
    head = ("| model | recognised | digits min–max | KL to uniform | Fréchet (× floor) | label accuracy "
            + ("| second judge: recognised | label accuracy " if judged else "")
            + "| G updates | training (min) |\n" + "|---" * (10 if judged else 8) + "|")
    share = lambda v, digits: "–" if math.isnan(v) else f"{v:.{digits}%}"  # noqa: E731
    lines = [head]
    for r in rows:
        updates = r.get("generator_updates", math.nan)
        updates = "–" if math.isnan(updates) else f"{updates:,.0f}"
        judge = (f" {r['judge_recognised_rate']:.1%} | {share(r['judge_label_accuracy'], 2)} |" if judged else "")
        lines.append(f"| {r['title']} | {r['recognised_rate']:.1%} | {r['min_class_fraction']:.1%}–"
                     f"{r['max_class_fraction']:.1%} | {r['kl_to_uniform']:.3f} | {r['frechet_distance']:.2f} "
                     f"({r['frechet_ratio']:.1f}×) | {share(r['label_accuracy'], 2)} |{judge} {updates} | "
                     f"{r['training_seconds'] / 60:.1f} |")
    lines.append(f"\n{rows[0]['n']:,} samples per model; Fréchet floor (real training vs real test digits) = "
                 f"{rows[0]['frechet_floor']:.3f}." if rows else "")
    return "\n".join(lines)


def plot_comparison(rows: list[dict]):
    """Three panels, one horizontal bar per model (names on the left, never overlapping): recognised rate,
    Fréchet distance / floor on a log axis (the models span two orders of magnitude), training minutes."""
    import matplotlib.pyplot as plt

    names = [r["title"] for r in rows]
    panels = (("recognised rate (top p >= 0.9)", [r["recognised_rate"] for r in rows], False),
              ("Fréchet distance / real floor (log; lower is better)", [r["frechet_ratio"] for r in rows], True),
              ("training minutes on this machine", [r["training_seconds"] / 60 for r in rows], False))
    fig, axes = plt.subplots(1, 3, figsize=(15, 0.45 * len(rows) + 1.4), sharey=True)
    y = list(range(len(rows)))
    for ax, (title, values, log) in zip(axes, panels):
        ax.barh(y, values, color=[f"C{i}" for i in y])
        ax.set_title(title, fontsize=10)
        if log:
            ax.set_xscale("log")
            ax.axvline(1, color="gray", ls="--", lw=1)  # the floor: two sets of real digits
        else:
            ax.set_xlim(0, max(1.0, max(values)) * 1.18 if not title.startswith("recognised") else 1.12)
        for i, v in enumerate(values):
            ax.annotate(f" {v:.2f}" if v < 10 else f" {v:.0f}", (v, i), va="center", fontsize=8)
    axes[0].set_yticks(y, names, fontsize=9)
    axes[0].invert_yaxis()  # the table's order, top to bottom
    fig.tight_layout()
    return fig


def sampling_sweep(model, classifier, n: int = 500, seed: int = 1, real_test=None, real_train=None,
                   judge=None, **settings) -> list[dict]:
    """The flow-matching model's figures and drawing seconds for each combination of sampling settings,
    e.g. ``sampling_sweep(G, C, guidance=[0, 1, 1.5, 3])`` or ``(G, C, solver=["euler", "midpoint"],
    steps=[2, 4])``; the model's own settings are restored after. (Fréchet figures of small ``n`` are
    comparable within one sweep only: the estimate grows as ``n`` shrinks.) ``judge``: a second classifier
    (``mlp_classifier``) whose label accuracy and recognised rate are added, for choosing settings on a
    network the kit's figures do not come from."""
    import itertools
    import time

    from .data import load_mnist

    real_test = load_mnist("test")[0][:n] if real_test is None else real_test
    real_train = load_mnist("train")[0][:n] if real_train is None else real_train
    saved = {k: getattr(model, k) for k in settings}
    rows = []
    try:
        for values in itertools.product(*settings.values()):
            for k, v in zip(settings, values):
                setattr(model, k, v)
            t0 = time.perf_counter()
            images = ev.sample(model, n, seed)
            seconds = time.perf_counter() - t0
            m = ev.evaluate_images(classifier, images, real_test, real_train)
            acc = ev.label_accuracy(classifier, images, ev.balanced_labels(n))["label_accuracy"]
            row = {**dict(zip(settings, values)), **m, "label_accuracy": acc, "seconds": seconds}
            if judge is not None:
                p = ev.predict_proba(judge, images)
                row.update(judge_label_accuracy=(p.argmax(1) == ev.balanced_labels(n)).float().mean().item(),
                           judge_recognised_rate=ev.recognised_rate(p))
            rows.append(row)
    finally:
        for k, v in saved.items():
            setattr(model, k, v)
    return rows


def sweep_table(rows: list[dict]) -> str:
    """A sweep's rows as a Markdown table: the settings, then the figures and the drawing seconds."""
    keys = [k for k in rows[0] if k in ("guidance", "steps", "solver")]
    judged = "judge_label_accuracy" in rows[0]
    extra = " second judge: label accuracy | recognised |" if judged else ""
    lines = ["| " + " | ".join(keys) + " | recognised | label accuracy | digits min–max | Fréchet (× floor) | seconds |"
             + extra, "|" + "---|" * (len(keys) + 5 + 2 * judged)]
    for r in rows:
        lines.append("| " + " | ".join(str(r[k]) for k in keys) + f" | {r['recognised_rate']:.1%} | "
                     f"{r['label_accuracy']:.1%} | {r['min_class_fraction']:.1%}–{r['max_class_fraction']:.1%} | "
                     f"{r['frechet_ratio']:.1f}× | {r['seconds']:.1f} |"
                     + (f" {r['judge_label_accuracy']:.1%} | {r['judge_recognised_rate']:.1%} |" if judged else ""))
    lines.append(f"\n{rows[0]['n']:,} samples per row.")
    return "\n".join(lines)


def manifest_table(names) -> str:
    """The manifest's figures of ``names`` (10,000 samples each, measured when the model was built) as a
    Markdown table: what a lesson can quote without drawing 10,000 samples itself."""
    models = read_manifest(MODELS_DIR / "manifest.json")["models"]
    titles = registry.titles()
    lines = ["| model | recognised | digits min–max | Fréchet (× floor) | label accuracy | training (min) |",
             "|---|---|---|---|---|---|"]
    for name in names:
        m = models[name]["metrics"]
        acc = f"{m['label_accuracy']:.2%}" if "label_accuracy" in m else "–"
        lines.append(f"| {titles.get(name, name)} | {m['recognised_rate']:.1%} | {m['min_class_fraction']:.1%}–"
                     f"{m['max_class_fraction']:.1%} | {m['frechet_ratio']:.1f}× | {acc} | "
                     f"{models[name]['training_seconds'] / 60:.1f} |")
    return "\n".join(lines)
