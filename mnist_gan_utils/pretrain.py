"""Rebuild the pretrained models in ``models/`` from scratch, seeded, and rewrite the manifest.

``python -m mnist_gan_utils pretrain --all`` (or ``--model generator``). Each model trains in its own run
folder under ``outputs/pretrain/`` (a rebuild into another ``--models-dir``: a folder of its own, see
:func:`runs_folder`); ``--resume`` continues an interrupted rebuild from its checkpoints.
The metrics written to the manifest are measured on held-out data (the MNIST test set, fresh noise).
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Callable

import torch

from . import evaluation as ev
from . import registry
from .checkpoints import load_pretrained, read_manifest, save_checkpoint, sha256_file, write_manifest
from .data import load_mnist
from .paths import MODELS_DIR, OUTPUTS_DIR, relative
from .registry import JUDGE, RECIPES, SECOND_JUDGE, constructor_args, file_name
from .training.classifier import ClassifierConfig, train_classifier
from .training.dcgan import DCGANConfig, train_dcgan
from .training.flow_matching import FlowMatchingConfig, train_flow_matching
from .training.gan import GANConfig, train_gan
from .training.predictor import PredictorConfig, train_predictor
from .training.vae import VAEConfig, train_vae

EVAL_SAMPLES = 10_000
SMALL = dict(max_steps_per_epoch=5, train_size=2000, epochs=1)  # --quick: tests of the command itself


@dataclasses.dataclass(frozen=True)
class Loop:
    """A training loop a recipe names: its config, its function, the result's field that holds the model,
    and the settings of a --quick run."""
    config: type
    train: Callable
    model: str
    quick: dict = dataclasses.field(default_factory=lambda: SMALL)


LOOPS = {
    "classifier": Loop(ClassifierConfig, train_classifier, "classifier"),
    "vae": Loop(VAEConfig, train_vae, "decoder"),
    "dcgan": Loop(DCGANConfig, train_dcgan, "generator"),
    "gan": Loop(GANConfig, train_gan, "generator"),
    "flow_matching": Loop(FlowMatchingConfig, train_flow_matching, "generator"),
    # trained on the generator it draws through, against the kit's classifier
    "predictor": Loop(PredictorConfig, train_predictor, "predictor",
                      dict(epochs=1, max_steps_per_epoch=5, candidates=2000, min_bank=0)),
}


def _machine(device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (cuda)"
    # the instruction set picks the float kernels: another one gives files that differ in the last bits
    return (f"{platform.machine()} CPU ({torch.backends.cpu.get_cpu_capability()}), {os.cpu_count()} cores, "
            f"{torch.get_num_threads()} threads")


def variety_ratios(images, labels, real_images, real_labels, n: int = 100) -> list[float]:
    """Per digit: mean pairwise pixel distance of ``n`` samples / that of ``n`` real digits of the class."""
    return [ev.pairwise_distance(images[labels == d][:n]) / ev.pairwise_distance(real_images[real_labels == d][:n])
            for d in range(10)]


class Measure:
    """What every model's figures are measured on: ``n`` held-out samples, fresh seeds, the judges. One method
    per kind of ``Recipe.metrics``: (its recipe, the model, the loop's result, its config) -> the figures."""

    def __init__(self, models_dir, device, seed: int, n: int):
        self.models_dir, self.device, self.seed, self.n = models_dir, device, seed, n
        self.x_test, self.y_test = load_mnist("test")
        self.x_test_eval, self.x_train = self.x_test[:n], load_mnist("train")[0][:n]

    def pretrained(self, name):
        return load_pretrained(name, self.device, self.models_dir, verify=False)

    def classifier(self, recipe, model, result, cfg):
        return {"test_accuracy": ev.accuracy(model, self.x_test, self.y_test),
                "real_test_recognised_rate": ev.recognised_rate(ev.predict_proba(model, self.x_test))}

    def generator(self, recipe, model, result, cfg):
        return ev.evaluate_generator(model, self.pretrained(JUDGE), self.n, self.seed + 1, self.x_test_eval,
                                     self.x_train)

    def discriminator(self, recipe, D, result, cfg):
        """Mean D(x) on held-out real digits and mean D(G(z)) on fresh fakes (a cGAN's D with their labels).
        A WGAN-GP critic's scores are not probabilities: its raw means and their gap (the critic's estimate
        of the Wasserstein distance) are reported instead."""
        labels = ev.balanced_labels(self.n) if getattr(D, "conditional", False) else None
        fake = ev.sample(result.generator, self.n, self.seed + 2, labels=labels)
        raw = getattr(cfg, "loss", "bce") == "wgan-gp"
        real_labels = None if labels is None else self.y_test[:self.n]
        d_real = ev.discriminator_scores(D, self.x_test_eval, labels=real_labels, raw=raw).mean()
        d_fake = ev.discriminator_scores(D, fake, labels=labels, raw=raw).mean()
        if raw:
            return {"mean_critic_test": d_real.item(), "mean_critic_fake": d_fake.item(),
                    "wasserstein_estimate": (d_real - d_fake).item()}
        return {"mean_D_x_test": d_real.item(), "mean_D_G_z": d_fake.item()}

    def flow_matching(self, recipe, G, result, cfg):
        """The kit's figures with the model's sampling settings, the seconds to draw and measure them, and the
        same network's figures without a label (guidance 0)."""
        evaluate = functools.partial(ev.evaluate_generator, G, self.pretrained(JUDGE), self.n, self.seed + 1,
                                     self.x_test_eval, self.x_train)
        t0 = time.time()
        metrics = evaluate()
        metrics["sampling_seconds"] = time.time() - t0
        guidance, G.guidance = G.guidance, 0.0
        try:
            plain = evaluate()
        finally:
            G.guidance = guidance
        metrics.update({f"unconditional_{k}": plain[k] for k in ("recognised_rate", "min_class_fraction",
                                                              "max_class_fraction", "frechet_ratio")})
        return metrics

    def predictor(self, recipe, model, result, cfg):
        """The latent code predictor's figures on its digits asked for: read by the classifier it was trained
        against, and by the second judge, which it never saw (``judge_*``: the fair figures); variety per digit."""
        per = max(self.n // 10, 10)
        images, labels = ev.sample_digits(model, self.pretrained(recipe.draws_with), range(10), per, self.seed + 1)
        classifier, judge = self.pretrained(JUDGE), self.pretrained(SECOND_JUDGE)
        acc, fair = ev.label_accuracy(classifier, images, labels), ev.label_accuracy(judge, images, labels)
        variety = variety_ratios(images, labels, self.x_test, self.y_test, n=min(100, per))
        return {"label_accuracy": acc["label_accuracy"], "per_digit_accuracy": acc["per_digit"],
                "recognised_rate": ev.recognised_rate(ev.predict_proba(classifier, images)),
                "judge_label_accuracy": fair["label_accuracy"], "judge_per_digit_accuracy": fair["per_digit"],
                "judge_recognised_rate": ev.recognised_rate(ev.predict_proba(judge, images)),
                "variety_ratio": variety, "min_variety_ratio": min(variety), "bank_sizes": result.bank_sizes}


def pretrain(names=None, models_dir=MODELS_DIR, seed: int = 0, device=None, resume: bool = False,
             quick: bool = False, command: str | None = None) -> dict:
    """Train the models in ``names`` (default: all; each in the registry's order, after what it needs),
    measure them, write them and the manifest.

    ``quick=True`` shrinks every run (for tests and CI), the figures it writes then mean little.
    """
    from .training.engine import pick_device

    built, companions = registry.built(), registry.companions()
    names = built if names is None else names
    unknown = set(names) - set(built) - set(companions)
    if unknown:
        raise ValueError(f"unknown model(s) {sorted(unknown)}; choose from {list(built)}")
    names = [n for n in built if n in names or registry.partners().get(n) in names]
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = models_dir / "manifest.json"
    manifest = read_manifest(manifest_path) if manifest_path.exists() else {"models": {}}
    device = pick_device(device)
    command = command or "python -m mnist_gan_utils " + " ".join(sys.argv[1:])
    runs = runs_folder(models_dir, quick)
    measure = Measure(models_dir, device, seed, 500 if quick else EVAL_SAMPLES)
    t_all = time.time()

    for name in names:
        r, loop, t0 = RECIPES[name], LOOPS[RECIPES[name].train], time.time()
        settings = {"run_dir": str(runs / name), "seed": seed, "device": str(device), "resume": resume,
                    "overwrite": not resume, **r.settings, **(loop.quick if quick else {})}
        earlier = 0.0
        if r.continues in names and not resume:  # continue the shorter run just trained, not train it again
            earlier = manifest["models"][r.continues]["training_seconds"]
            shutil.rmtree(runs / name, ignore_errors=True)
            shutil.copytree(runs / r.continues, runs / name)
            settings.update(resume=True, overwrite=False)
        if quick and r.continues:  # a continuation still trains an epoch of its own
            settings["epochs"] = 2
        cfg = loop.config(**settings)
        inputs = (measure.pretrained(r.draws_with), measure.pretrained(JUDGE)) if r.draws_with else ()
        result = loop.train(*inputs, cfg)
        seconds = time.time() - t0 + earlier
        cfg.resume, cfg.overwrite = resume, not resume  # the recipe, as a rebuild of it alone
        for model_name, model in ((name, getattr(result, loop.model)), (r.partner, getattr(result, "discriminator", None))):
            if model_name:
                metrics = getattr(measure, RECIPES[model_name].metrics)(RECIPES[model_name], model, result, cfg)
                _save(manifest, manifest_path, model_name, model, command, seed, seconds, device, cfg, metrics,
                      time.time() - t0 + earlier - seconds)
    record = {"models": list(names), "seconds": round(time.time() - t_all, 1), "machine": _machine(device),
              "command": command, "quick": quick, "date": time.strftime("%Y-%m-%d")}
    manifest.setdefault("rebuilds", []).append(record)  # every invocation, newest last
    manifest["rebuild_seconds_estimate"] = rebuild_estimate(manifest)
    write_manifest(manifest, manifest_path)
    return manifest


def runs_folder(models_dir, quick: bool = False) -> Path:
    """Where a rebuild trains: ``outputs/pretrain/<name>`` for the kit's ``models/``; a rebuild into another
    folder trains in run folders of its own (``outputs/pretrain-<folder>-<hash of its path>/<name>``), so
    that it never overwrites another rebuild's checkpoints (what its ``--resume`` needs)."""
    base, models_dir = "pretrain_quick" if quick else "pretrain", Path(models_dir).resolve()
    if models_dir == MODELS_DIR.resolve():
        return OUTPUTS_DIR / base
    return OUTPUTS_DIR / f"{base}-{models_dir.name}-{hashlib.sha256(str(models_dir).encode()).hexdigest()[:8]}"


def _save(manifest, manifest_path, name, model, command, seed, seconds, device, cfg, metrics, evaluation_seconds):
    path = save_checkpoint(model, manifest_path.parent / file_name(name))
    train_config = dataclasses.asdict(cfg)
    if train_config.get("run_dir"):  # no paths of the machine that built it
        train_config["run_dir"] = relative(train_config["run_dir"])
    manifest["models"][name] = {
        "file": path.name, "class": type(model).__name__, "config": constructor_args(name, model),
        "sha256": sha256_file(path), "parameters": sum(p.numel() for p in model.parameters()),
        "command": command, "seed": seed, "training_seconds": round(seconds, 1), "machine": _machine(device),
        "torch": torch.__version__, "train_config": train_config, "metrics": metrics,
        "targets": RECIPES[name].targets, "evaluation_seconds": round(evaluation_seconds, 1)}
    write_manifest(manifest, manifest_path)  # after every model: an interrupted rebuild loses nothing
    print(f"[pretrain] {name}: {metrics_summary(metrics)} ({seconds:.0f} s)", flush=True)


def train_generator(name: str, **overrides):
    """Train the GAN generator ``name`` of ``models/`` with its own recipe in a run folder of its settings,
    ``overrides`` changing any of them (``max_steps_per_epoch=3`` for a quick look); returns the loop's
    result. Notebook 06 retrains a rung of its ladder with it."""
    gans = [n for n in registry.partners() if RECIPES[n].train]
    if name not in gans:
        raise ValueError(f"{name!r} is not a GAN generator of the kit; choose from {sorted(gans)}")
    loop = LOOPS[RECIPES[name].train]
    return loop.train(loop.config(**{**RECIPES[name].settings, **overrides}))


def costs_table(manifest: dict | None = None) -> str:
    """What rebuilding each model of ``models/`` costs, from the manifest, as the Markdown table that
    docs/teaching.md quotes (a test keeps the two in step): training and evaluation minutes on the machine
    that built it, and the command that rebuilds it."""
    manifest = read_manifest(MODELS_DIR / "manifest.json") if manifest is None else manifest
    models = manifest["models"]
    lines = ["| model | trained with it | training (min) | evaluation (min) | rebuild it with |", "|---|---|---|---|---|"]
    for name in [n for n in registry.built() if n in models]:
        entry, partner = models[name], registry.partners().get(name)
        evaluation = max(entry.get("evaluation_seconds", 0), models.get(partner, {}).get("evaluation_seconds", 0))
        lines.append(f"| `{name}` | {f'`{partner}`' if partner else '–'} | {entry.get('training_seconds', 0) / 60:.1f} | "
                     f"{evaluation / 60:.1f} | `python -m mnist_gan_utils pretrain --model {name}` |")
    lines.append(f"\nAll of them: `python -m mnist_gan_utils pretrain --all`, about "
                 f"{rebuild_estimate(manifest) / 60:.0f} minutes on {models[JUDGE].get('machine', 'this machine')} "
                 f"(the sum of the rows, less the epochs a run continues: {', '.join(f'`{k}` continues `{v}`' for k, v in registry.continues().items())}).")
    return "\n".join(lines)


def rebuild_estimate(manifest: dict) -> float:
    """Seconds a full rebuild takes by the models' own records: each model's training plus its evaluation;
    a GAN's companion (trained with it) adds the time of its own evaluation, which its record counts from
    the same start as the generator's; a run that continues another (``CONTINUES``) counts that one's
    training once."""
    models = manifest["models"]
    total = 0.0
    for name, entry in models.items():
        if name in registry.companions() or name not in RECIPES:
            continue
        critic = RECIPES[name].partner
        total += entry.get("training_seconds", 0) + max(entry.get("evaluation_seconds", 0),
                                                        models.get(critic, {}).get("evaluation_seconds", 0))
        if RECIPES[name].continues in models:  # its training seconds include the shorter run's, trained once
            total -= models[RECIPES[name].continues].get("training_seconds", 0)
    return round(total, 1)


def metrics_summary(m: dict) -> str:
    keys = ("test_accuracy", "recognised_rate", "min_class_fraction", "max_class_fraction", "frechet_distance",
            "frechet_floor", "frechet_ratio", "label_accuracy", "judge_label_accuracy", "min_variety_ratio",
            "mean_D_x_test", "mean_D_G_z", "wasserstein_estimate")
    return ", ".join(f"{k}={m[k]:.4g}" for k in keys if k in m)
