"""Every generative model of the kit measured by one evaluation (notebooks 06, 07 and 08).

The same classifier, the same real test digits, the same number of samples and the same figures for
each model: recognised rate, class balance, Fréchet distance on classifier features with its real-data
floor, label accuracy where a digit can be asked for, and the training time the manifest records. The
recognised rate and label accuracy are also read by a second judge (``mlp_classifier``) that no model was
trained against: the latent code predictor was trained to please the kit's classifier, so only the second
judge's figures of it are fair.
"""
from __future__ import annotations

import itertools
import math
import re
import time

import torch
from torch import nn

from . import evaluation as ev
from .checkpoints import load_pretrained, read_manifest
from .data import load_mnist
from .paths import MODELS_DIR
from .plotting import _finish, _subplots
from . import registry
from .registry import RECIPES


def sample_model(name: str, n: int, seed: int = 1, device="cpu", models_dir=MODELS_DIR):
    """``n`` images in [0, 1] from the pretrained model ``name`` and, for models that can be asked for a
    digit, the digits asked for (every digit equally often; else ``None``)."""
    model = load_pretrained(name, device, models_dir)
    if RECIPES[name].draws_with:  # a predictor of latent codes, drawing through its generator
        G = load_pretrained(RECIPES[name].draws_with, device, models_dir)
        per = math.ceil(n / 10)
        images, labels = ev.sample_digits(model, G, range(10), per, seed)
        # the first of each digit's block, as many as balanced_labels(n) asks for: n images, still balanced
        keep = torch.arange(len(labels)) % per < torch.bincount(ev.balanced_labels(n), minlength=10)[labels]
        return images[keep], labels[keep]
    labels = ev.balanced_labels(n) if getattr(model, "conditional", False) else None
    return ev.sample(model, n, seed, labels=labels), labels


def training_seconds(name: str, manifest: dict) -> float:
    """What it costs to build the model from nothing: a predictor also needs its generator."""
    return sum(manifest["models"][m].get("training_seconds", math.nan) for m in (name, RECIPES[name].draws_with) if m)


def generator_updates(name: str, manifest: dict) -> float:
    """How many updates the model's generator got: the budget a fair comparison holds equal (NaN for a
    model that is not a GAN's generator). WGAN-GP updates G once every ``n_critic`` batches."""
    name = RECIPES[name].draws_with or name  # a predictor draws through a generator: that generator's budget
    cfg = manifest["models"].get(name, {}).get("train_config") or {}
    if "g_channels" not in cfg:  # not a GAN (the decoder, the predictor)
        return math.nan
    steps = min((cfg.get("train_size") or 60_000) // cfg["batch_size"], cfg.get("max_steps_per_epoch") or math.inf)
    per_update = cfg.get("n_critic", 1) if cfg.get("loss") == "wgan-gp" else 1
    return cfg["epochs"] * steps // per_update


def _real_digits(classifier: nn.Module, n: int, real_test=None, real_train=None):
    """The first ``n`` real test digits (unless given), their features and the Fréchet floor against as many
    training digits: measured once for every model or setting compared."""
    real_test = load_mnist("test")[0][:n] if real_test is None else real_test
    real_train = load_mnist("train")[0][:n] if real_train is None else real_train
    f_test = ev.features(classifier, real_test)
    return real_test, f_test, ev.frechet_distance_features(f_test, ev.features(classifier, real_train))


def _figures(classifier: nn.Module, images, labels, real_test, f_test, floor: float, judge=None) -> dict:
    """:func:`~.evaluation.evaluate_images`' figures of ``images`` with the floor of :func:`_real_digits`, the
    label accuracy (NaN when no digit was asked for: ``labels`` None) and the second ``judge``'s figures."""
    m = ev.evaluate_images(classifier, images, real_test, real_test_features=f_test)
    m.update(frechet_floor=floor, frechet_ratio=m["frechet_distance"] / max(floor, 1e-12), label_accuracy=(
        math.nan if labels is None else ev.label_accuracy(classifier, images, labels)["label_accuracy"]))
    if judge is not None:
        p = ev.predict_proba(judge, images)
        m.update(judge_recognised_rate=ev.recognised_rate(p), judge_label_accuracy=(
            math.nan if labels is None else (p.argmax(1) == labels.cpu()).float().mean().item()))
    return m


def compare(names=None, n: int = 10_000, seed: int = 1, device="cpu", models_dir=MODELS_DIR,
            titles: dict | None = None) -> list[dict]:
    """One row of figures per model in ``names`` (default: the comparison's models, ``registry.titles()``,
    that are in the manifest), titled by ``titles`` (default: their own; the ladder passes ``registry.ladder()``)."""
    manifest = read_manifest(models_dir / "manifest.json")
    titles = {**registry.titles(), **(titles or {})}
    names = [m for m in registry.titles() if m in manifest["models"]] if names is None else list(names)
    C = load_pretrained(registry.JUDGE, device, models_dir)
    C2 = (load_pretrained(registry.SECOND_JUDGE, device, models_dir) if registry.SECOND_JUDGE in manifest["models"]
          else None)
    real = _real_digits(C, n)
    return [{"model": name, "title": titles.get(name, name),
             **_figures(C, *sample_model(name, n, seed, device, models_dir), *real, judge=C2),
             "training_seconds": training_seconds(name, manifest),
             "generator_updates": generator_updates(name, manifest)} for name in names]


def _markdown(head: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(map(str, cells)) + " |" for cells in [head, *rows]]
    return "\n".join([lines[0], "|" + "---|" * len(head), *lines[1:]])


def _dash(value: float, spec: str) -> str:
    return "–" if math.isnan(value) else format(value, spec)


def _spread(m: dict) -> str:
    return f"{m['min_class_fraction']:.1%}–{m['max_class_fraction']:.1%}"


def budgets(names) -> str:
    """What each model was given, from the manifest, as a Markdown table: generator updates, training
    minutes, and the parameters of its generator and of its discriminator or critic."""
    models = read_manifest()["models"]
    return _markdown(["model", "G updates", "training (min)", "G parameters", "D parameters"], [
        [name, _dash(generator_updates(name, {"models": models}), ",.0f"),
         f"{models[name].get('training_seconds', math.nan) / 60:.1f}", f"{models[name]['parameters']:,}",
         _dash(models.get(RECIPES[name].partner or "", {}).get("parameters", math.nan), ",")] for name in names])


def steps(rows: list[dict], base: dict) -> str:
    """For each row whose model builds on another's (``base``: name -> the name it changes), what the change
    did: recognised rate in points and the Fréchet ratio as a factor (below 1: closer to real digits)."""
    by_name = {r["model"]: r for r in rows}
    pairs = [(r, by_name[base[r["model"]]]) for r in rows if base.get(r["model"]) in by_name]
    return "\n".join(f"{r['title']} vs {b['title']}: recognised "
                     f"{100 * (r['recognised_rate'] - b['recognised_rate']):+.1f} points, Fréchet ratio "
                     f"x{r['frechet_ratio'] / b['frechet_ratio']:.2f}, rarest digit "
                     f"{b['min_class_fraction']:.1%} -> {r['min_class_fraction']:.1%}" for r, b in pairs)


def blends(rows: list[dict], real: dict | None = None) -> str:
    """Where each row's digits fall (``evaluation.blend_split``): recognised, two-digit blends, and other,
    as a Markdown table; ``real``: the same split of real test digits, shown first for scale."""
    split = ([("real test digits", real)] if real else []) + [
        (r["title"], {"recognised": r["recognised_rate"], "blends": r["blend_rate"],
                      "other": 1 - r["recognised_rate"] - r["blend_rate"]}) for r in rows]
    return _markdown(["model", "recognised", "two-digit blends", "other"],
                     [[title, *(f"{s[k]:.1%}" for k in ("recognised", "blends", "other"))] for title, s in split])


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table (what notebooks 06 and 08 print), with each model's training budget."""
    judged = bool(rows) and "judge_recognised_rate" in rows[0]
    head = ["model", "recognised", "digits min–max", "KL to uniform", "Fréchet (× floor)", "label accuracy",
            *(["second judge: recognised", "label accuracy"] if judged else []), "G updates", "training (min)"]
    cells = [[r["title"], f"{r['recognised_rate']:.1%}", _spread(r), f"{r['kl_to_uniform']:.3f}",
              f"{r['frechet_distance']:.2f} ({r['frechet_ratio']:.1f}×)", _dash(r["label_accuracy"], ".2%"),
              *([f"{r['judge_recognised_rate']:.1%}", _dash(r["judge_label_accuracy"], ".2%")] if judged else []),
              _dash(r.get("generator_updates", math.nan), ",.0f"), f"{r['training_seconds'] / 60:.1f}"] for r in rows]
    note = (f"\n{rows[0]['n']:,} samples per model; Fréchet floor (real training vs real test digits) = "
            f"{rows[0]['frechet_floor']:.3f}." if rows else "")
    return _markdown(head, cells) + "\n" + note


def plot_comparison(rows: list[dict]):
    """Three panels, one horizontal bar per model (names on the left, never overlapping): recognised rate,
    Fréchet distance / floor on a log axis (the models span two orders of magnitude), training minutes."""
    panels = (("recognised rate (top p >= 0.9)", [r["recognised_rate"] for r in rows], False),
              ("Fréchet distance / real floor (log; lower is better)", [r["frechet_ratio"] for r in rows], True),
              ("training minutes (on the machine that built it)", [r["training_seconds"] / 60 for r in rows], False))
    fig, axes = _subplots(1, 3, figsize=(15, 0.45 * len(rows) + 1.4), sharey=True)
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
    axes[0].set_yticks(y, [r["title"] for r in rows], fontsize=9)
    axes[0].invert_yaxis()  # the table's order, top to bottom
    return _finish(fig)


def sampling_sweep(model, classifier, n: int = 500, seed: int = 1, real_test=None, real_train=None,
                   judge=None, **settings) -> list[dict]:
    """The flow-matching model's figures and drawing seconds for each combination of sampling settings,
    e.g. ``sampling_sweep(G, C, guidance=[0, 1, 1.5, 3])`` or ``(G, C, solver=["euler", "midpoint"],
    steps=[2, 4])``; the model's own settings are restored after. (Fréchet figures of small ``n`` are
    comparable within one sweep only: the estimate grows as ``n`` shrinks.) ``judge``: a second classifier
    (``mlp_classifier``) whose label accuracy and recognised rate are added, for choosing settings on a
    network the kit's figures do not come from."""
    real = _real_digits(classifier, n, real_test, real_train)
    saved = {k: getattr(model, k) for k in settings}
    rows = []
    try:
        for values in itertools.product(*settings.values()):
            for k, v in zip(settings, values):
                setattr(model, k, v)
            t0 = time.perf_counter()
            images = ev.sample(model, n, seed)
            seconds = time.perf_counter() - t0
            figures = _figures(classifier, images, ev.balanced_labels(n), *real, judge=judge)
            rows.append({**dict(zip(settings, values)), **figures, "seconds": seconds})
    finally:
        for k, v in saved.items():
            setattr(model, k, v)
    return rows


def sweep_table(rows: list[dict]) -> str:
    """A sweep's rows as a Markdown table: the settings, then the figures and the drawing seconds. The
    Fréchet distance is shown beside the floor of as many real digits, not as a ratio: on a few hundred
    samples both are mostly sampling error, and their ratio would look close to real data."""
    keys = [k for k in rows[0] if k in ("guidance", "steps", "solver")]
    judged = "judge_label_accuracy" in rows[0]
    head = [*keys, "recognised", "label accuracy", "digits min–max", "Fréchet distance", "seconds",
            *(["second judge: label accuracy", "recognised"] if judged else [])]
    cells = [[*(r[k] for k in keys), f"{r['recognised_rate']:.1%}", f"{r['label_accuracy']:.1%}", _spread(r),
              f"{r['frechet_distance']:.2f}", f"{r['seconds']:.1f}",
              *([f"{r['judge_label_accuracy']:.1%}", f"{r['judge_recognised_rate']:.1%}"] if judged else [])]
             for r in rows]
    return _markdown(head, cells) + (f"\n\n{rows[0]['n']:,} samples per row; the Fréchet floor of {rows[0]['n']:,} "
                                      f"real digits is {rows[0]['frechet_floor']:.2f}. Compare rows with each other.")


def manifest_table(names) -> str:
    """The manifest's figures of ``names`` (10,000 samples each, measured when the model was built) as a
    Markdown table: what a lesson can quote without drawing 10,000 samples itself."""
    models, titles = read_manifest()["models"], registry.titles()
    cells = []
    for name in names:
        m = models[name]["metrics"]
        cells.append([titles.get(name, name), f"{m['recognised_rate']:.1%}", _spread(m), f"{m['frechet_ratio']:.1f}×",
                      _dash(m.get("label_accuracy", math.nan), ".2%"), f"{models[name]['training_seconds'] / 60:.1f}"])
    return _markdown(["model", "recognised", "digits min–max", "Fréchet (× floor)", "label accuracy", "training (min)"],
                     cells)


def target_met(measured, wanted: str, other=None) -> bool | None:
    """Whether a figure meets a recipe's target: clauses joined by "and", each ``">= 0.85"``, ``"<= 20 on
    2 CPU cores"``, ``"in [0.07, 0.13]"`` (``measured``: the smallest and largest share), or ``">= the
    generator's"`` / ``"below the conditional GAN's"`` (``other(name)``: that model's same figure).
    None: a clause it cannot read."""
    verdicts = []
    for clause in wanted.split(" and "):
        if match := re.match(r"in \[([\d.]+), ([\d.]+)\]", clause):
            verdicts.append(float(match[1]) <= measured[0] and measured[1] <= float(match[2]))
        elif match := re.match(r"(>=|<=|above|below) (?:(\d[\d,]*(?:\.\d+)?)|the (.+)'s)", clause):
            bound = float(match[2].replace(",", "")) if match[2] else (other(match[3]) if other else None)
            if bound is None:
                return None
            verdicts.append({">=": measured >= bound, "<=": measured <= bound,
                             "above": measured > bound, "below": measured < bound}[match[1]])
        else:
            return None
    return all(verdicts)


def _measured(entry: dict, key: str):
    m = entry["metrics"]
    if key == "class_fraction":
        return m["min_class_fraction"], m["max_class_fraction"]
    if key == "variety_ratio":  # one per digit: the target holds for every digit
        return min(m[key])
    return m[key] if key in m else entry[key]


def _shown(key: str, value) -> str:
    if key == "class_fraction":
        return f"{value[0]:.1%}–{value[1]:.1%}"
    if key.endswith(("rate", "accuracy")):
        return f"{value:.2%}"
    if key == "frechet_ratio":
        return f"{value:.1f}×"
    return f"{value:.1f} s" if key.endswith("seconds") else f"{value:.2f}"


def targets_table(names) -> str:
    """Each recipe's targets beside what the manifest measured, and whether they are met: a target the kit
    keeps is one it meets or one a lesson shows as missed."""
    models, titles = read_manifest()["models"], registry.titles()
    by_title = {t.lower(): n for n, t in titles.items()} | {n.replace("_", " "): n for n in models}
    cells = []
    for name in names:
        for key, wanted in models[name]["targets"].items():
            measured = _measured(models[name], key)
            met = target_met(measured, wanted, lambda ref: _measured(models[by_title[ref.lower()]], key))
            cells.append([titles.get(name, name), key, wanted, _shown(key, measured),
                          {True: "met", False: "**missed**", None: "–"}[met]])
    return _markdown(["model", "figure", "target", "measured", "verdict"], cells)
