"""Rebuild the pretrained models in ``models/`` from scratch, seeded, and rewrite the manifest.

``python -m mnist_gan_utils pretrain --all`` (or ``--model generator``). Each model trains in its own run
folder under ``outputs/pretrain/``; ``--resume`` continues an interrupted rebuild from its checkpoints.
The metrics written to the manifest are measured on held-out data (the MNIST test set, fresh noise).
"""
from __future__ import annotations

import dataclasses
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import torch

from . import evaluation as ev
from .checkpoints import load_pretrained, read_manifest, save_checkpoint, sha256_file, write_manifest
from .data import load_mnist
from .paths import MODELS_DIR, OUTPUTS_DIR, relative
from .training.classifier import ClassifierConfig, train_classifier
from .registry import PRETRAINED_PARTNER, constructor_args, file_name
from .training.dcgan import DCGANConfig, train_dcgan
from .training.flow_matching import FlowMatchingConfig, train_flow_matching
from .training.gan import GANConfig, train_gan
from .training.predictor import PredictorConfig, train_predictor
from .training.vae import VAEConfig, train_vae

ORDER = ("classifier", "mlp_classifier", "decoder", "generator_3_epochs", "generator", "latent_code_predictor",
         "averaged_generator", "self_conditioned_generator", "conditional_generator", "wgan_gp_generator",
         "flow_matching")
# The DCGAN of notebook 02: as notebook 02 trains it (3 epochs, the ladder's first rung in notebook 06: every
# rung gets its 2,811 generator updates), and that run trained on (generator.pth). Rebuilt together, the
# 12-epoch run continues the 3-epoch one (no learning-rate schedule: the same weights as a run from scratch).
DCGAN_FAMILY = {"generator_3_epochs": dict(epochs=3), "generator": dict(epochs=12)}
CONTINUES = {"generator": "generator_3_epochs"}   # model -> the model whose run it continues when both are rebuilt
DCGAN_RECIPE = DCGAN_FAMILY["generator"]
# The add-ons: generator -> the recipe's changes to GANConfig() (its discriminator or critic, saved with it,
# is registry.PRETRAINED_PARTNER's). What each recipe's settings were chosen against is in docs/experiments/.
GAN_FAMILY = {
    # the DCGAN's own pair and steps, with G's weight average (and the loop's learning-rate decay) added
    "averaged_generator": dict(clusters=0, d_channels=64),
    # GANConfig() as it is: self-conditioned on 300 k-means clusters seen through a network of their centroids
    "self_conditioned_generator": dict(),
    # the label joined to G's noise and D's image (and projected on D's features), a matching-aware D
    "conditional_generator": dict(conditional=True, mismatch=0.5, epochs=3),
    # the plain DCGAN's G against a critic without BatchNorm (the gradient penalty is per example),
    # Adam(1e-4, betas=(0, 0.9)) and 5 critic updates per generator update, as Gulrajani et al.; 15 epochs
    # give G the ladder's 2,811 updates (5 batches of 64 per update)
    "wgan_gp_generator": dict(loss="wgan-gp", lr=1e-4, betas=(0.0, 0.9), n_critic=5, epochs=15),
}
# The judges: the kit's CNN, and a second classifier of another kind for figures the first was trained against
CLASSIFIERS = {"classifier": dict(), "mlp_classifier": dict(architecture="mlp", epochs=4, rotation=0.0, dropout=0.2)}
COMPANIONS = {critic: gen for gen, critic in PRETRAINED_PARTNER.items()}
EVAL_SAMPLES = 10_000
TARGETS = {
    "classifier": {"test_accuracy": ">= 0.995"},
    "generator": {"recognised_rate": ">= 0.90", "class_fraction": "in [0.07, 0.13]", "frechet_ratio": "<= 10",
                  "training_seconds": "<= 1200 on 2 CPU cores"},
    "self_conditioned_generator": {"recognised_rate": ">= 0.95", "class_fraction": "in [0.07, 0.13]",
                                   "frechet_ratio": "<= 5"},
    "decoder": {"recognised_rate": ">= 0.90", "class_fraction": "in [0.05, 0.15]"},
    # judged by the second classifier: the predictor is trained to please the kit's
    "latent_code_predictor": {"judge_label_accuracy": ">= 0.99", "variety_ratio": ">= 0.70 for every digit"},
    "conditional_generator": {"label_accuracy": ">= 0.99", "recognised_rate": ">= the generator's",
                              "class_fraction": "in [0.07, 0.13]", "frechet_ratio": "<= the generator's"},
    "flow_matching": {"label_accuracy": ">= 0.995", "recognised_rate": ">= 0.98", "class_fraction": "in [0.09, 0.11]",
                      "frechet_ratio": "<= 3 and below the conditional GAN's", "sampling_seconds": "<= 120 for 10,000",
                      "training_seconds": "<= 1800 on 2 CPU cores"},
}


def _machine(device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (cuda)"
    return f"{platform.machine()} CPU, {os.cpu_count()} cores, {torch.get_num_threads()} threads"


def _entry(name, model, models_dir, command, seed, seconds, device, train_config, metrics) -> dict:
    path = save_checkpoint(model, Path(models_dir) / file_name(name))
    return {"file": path.name, "class": type(model).__name__, "config": constructor_args(name, model),
            "sha256": sha256_file(path), "parameters": sum(p.numel() for p in model.parameters()),
            "command": command, "seed": seed, "training_seconds": round(seconds, 1), "machine": _machine(device),
            "torch": torch.__version__, "train_config": train_config, "metrics": metrics,
            "targets": TARGETS.get(name, {})}


def variety_ratios(images, labels, real_images, real_labels, n: int = 100) -> list[float]:
    """Per digit: mean pairwise pixel distance of ``n`` samples / that of ``n`` real digits of the class."""
    out = []
    for d in range(10):
        fake_d, real_d = images[labels == d][:n], real_images[real_labels == d][:n]
        out.append(ev.pairwise_distance(fake_d) / ev.pairwise_distance(real_d))
    return out


def pretrain(names=ORDER, models_dir=MODELS_DIR, seed: int = 0, device=None, resume: bool = False,
             quick: bool = False, command: str | None = None) -> dict:
    """Train the models in ``names`` (in dependency order), measure them, write them and the manifest.

    ``quick=True`` shrinks every run (for tests and CI), the figures it writes then mean little.
    """
    from .training.engine import pick_device

    unknown = set(names) - set(ORDER) - set(COMPANIONS)
    if unknown:
        raise ValueError(f"unknown model(s) {sorted(unknown)}; choose from {list(ORDER)}")
    names = [n for n in ORDER if n in names or any(COMPANIONS.get(k) == n for k in names)]
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = models_dir / "manifest.json"
    manifest = read_manifest(manifest_path) if manifest_path.exists() else {"models": {}}
    device = pick_device(device)
    command = command or "python -m mnist_gan_utils " + " ".join(sys.argv[1:])
    runs = OUTPUTS_DIR / ("pretrain_quick" if quick else "pretrain")
    common = dict(seed=seed, device=str(device), resume=resume, overwrite=not resume)
    small = dict(max_steps_per_epoch=5, train_size=2000) if quick else {}
    n_eval = 500 if quick else EVAL_SAMPLES
    x_test, y_test = load_mnist("test")
    x_train = load_mnist("train")[0][:n_eval]
    x_test_eval = x_test[:n_eval]
    t_all = time.time()

    def save(name, model, seconds, cfg, metrics):
        train_config = dataclasses.asdict(cfg) if cfg else None
        if train_config and train_config.get("run_dir"):  # no paths of the machine that built it
            train_config["run_dir"] = relative(train_config["run_dir"])
        manifest["models"][name] = _entry(name, model, models_dir, command, seed, seconds, device,
                                          train_config, metrics)
        manifest["models"][name]["evaluation_seconds"] = round(time.time() - t0 - seconds, 1)
        write_manifest(manifest, manifest_path)  # after every model: an interrupted rebuild loses nothing
        print(f"[pretrain] {name}: {metrics_summary(metrics)} ({seconds:.0f} s)", flush=True)

    def classifier():
        return load_pretrained("classifier", device, models_dir, verify=False)

    for name in names:
        t0 = time.time()
        if name in CLASSIFIERS:
            cfg = ClassifierConfig(run_dir=str(runs / name), **common,
                                   **{**CLASSIFIERS[name], **(dict(small, epochs=1) if quick else {})})
            model = train_classifier(cfg).classifier
            seconds = time.time() - t0
            save(name, model, seconds, cfg, {"test_accuracy": ev.accuracy(model, x_test, y_test),
                                             "real_test_recognised_rate":
                                                 ev.recognised_rate(ev.predict_proba(model, x_test))})
        elif name == "decoder":
            cfg = VAEConfig(run_dir=str(runs / "vae"), **common, **(dict(small, epochs=1) if quick else {}))
            model = train_vae(cfg).decoder
            seconds = time.time() - t0
            save(name, model, seconds, cfg,
                 ev.evaluate_generator(model, classifier(), n_eval, seed + 1, x_test_eval, x_train))
        elif name in DCGAN_FAMILY:
            run_name = "dcgan" if name == "generator" else name
            quick_epochs = 2 if name in CONTINUES else 1  # quick: a continuation still trains an epoch of its own
            settings = {**common, **DCGAN_FAMILY[name], **(dict(small, epochs=quick_epochs) if quick else {})}
            earlier = 0.0
            if CONTINUES.get(name) in names and not resume:
                # continue the shorter run just trained instead of training its epochs again
                earlier = manifest["models"][CONTINUES[name]]["training_seconds"]
                shutil.rmtree(runs / run_name, ignore_errors=True)
                shutil.copytree(runs / CONTINUES[name], runs / run_name)
                settings.update(resume=True, overwrite=False)
            cfg = DCGANConfig(run_dir=str(runs / run_name), **settings)
            result = train_dcgan(cfg)
            seconds = time.time() - t0 + earlier
            cfg.resume, cfg.overwrite = common["resume"], common["overwrite"]  # the recipe, as a rebuild of it alone
            t0 -= earlier
            save(name, result.generator, seconds, cfg,
                 ev.evaluate_generator(result.generator, classifier(), n_eval, seed + 1, x_test_eval, x_train))
            save(PRETRAINED_PARTNER[name], result.discriminator, seconds, cfg,
                 discriminator_metrics(result, cfg, x_test_eval, y_test[:n_eval], n_eval, seed + 2))
        elif name in GAN_FAMILY:
            critic, recipe = PRETRAINED_PARTNER[name], GAN_FAMILY[name]
            run_name = name.replace("_generator", "")
            cfg = GANConfig(run_dir=str(runs / run_name), **common, **{**recipe, **(dict(small, epochs=1) if quick else {})})
            result = train_gan(cfg)
            seconds = time.time() - t0
            save(name, result.generator, seconds, cfg,
                 ev.evaluate_generator(result.generator, classifier(), n_eval, seed + 1, x_test_eval, x_train))
            save(critic, result.discriminator, seconds, cfg,
                 discriminator_metrics(result, cfg, x_test_eval, y_test[:n_eval], n_eval, seed + 2))
        elif name == "flow_matching":
            cfg = FlowMatchingConfig(run_dir=str(runs / name), **common, **(dict(small, epochs=1) if quick else {}))
            G = train_flow_matching(cfg).generator
            seconds = time.time() - t0
            save(name, G, seconds, cfg, flow_matching_metrics(G, classifier(), n_eval, seed + 1, x_test_eval, x_train))
        elif name == "latent_code_predictor":
            G = load_pretrained("generator", device, models_dir, verify=False)
            C = classifier()
            cfg = PredictorConfig(run_dir=str(runs / "predictor"), **common,
                                  **(dict(epochs=1, max_steps_per_epoch=5, candidates=2000, min_bank=0) if quick else {}))
            result = train_predictor(G, C, cfg)
            seconds = time.time() - t0
            per = max(n_eval // 10, 10)
            images, labels = ev.sample_digits(result.predictor, G, range(10), per, seed + 1)
            save(name, result.predictor, seconds, cfg,
                 predictor_metrics(images, labels, C, load_pretrained("mlp_classifier", device, models_dir,
                                                                      verify=False),
                                   x_test, y_test, per, result.bank_sizes))
    record = {"models": list(names), "seconds": round(time.time() - t_all, 1), "machine": _machine(device),
              "command": command, "quick": quick, "date": time.strftime("%Y-%m-%d")}
    rebuilds = manifest.setdefault("rebuilds", [])
    if "last_rebuild" in manifest:  # the older single-record form
        rebuilds.append(manifest.pop("last_rebuild"))
    rebuilds.append(record)  # every invocation, newest last
    manifest["rebuild_seconds_estimate"] = rebuild_estimate(manifest)
    write_manifest(manifest, manifest_path)
    return manifest


def predictor_metrics(images, labels, classifier, judge, real_images, real_labels, per: int, bank_sizes) -> dict:
    """The latent code predictor's figures on its digits asked for: read by the classifier it was trained
    against, and by the second judge, which it never saw (``judge_*``: the fair figures); variety per digit."""
    acc, fair = ev.label_accuracy(classifier, images, labels), ev.label_accuracy(judge, images, labels)
    variety = variety_ratios(images, labels, real_images, real_labels, n=min(100, per))
    return {"label_accuracy": acc["label_accuracy"], "per_digit_accuracy": acc["per_digit"],
            "recognised_rate": ev.recognised_rate(ev.predict_proba(classifier, images)),
            "judge_label_accuracy": fair["label_accuracy"], "judge_per_digit_accuracy": fair["per_digit"],
            "judge_recognised_rate": ev.recognised_rate(ev.predict_proba(judge, images)),
            "variety_ratio": variety, "min_variety_ratio": min(variety), "bank_sizes": bank_sizes}


def flow_matching_metrics(G, classifier, n: int, seed: int, real_test, real_train) -> dict:
    """The kit's figures of the flow-matching model with its sampling settings, the seconds to draw and
    measure ``n`` digits, and the same network's figures without a label (guidance 0)."""
    t0 = time.time()
    metrics = ev.evaluate_generator(G, classifier, n, seed, real_test, real_train)
    metrics["sampling_seconds"] = time.time() - t0
    guidance, G.guidance = G.guidance, 0.0
    try:
        plain = ev.evaluate_generator(G, classifier, n, seed, real_test, real_train)
    finally:
        G.guidance = guidance
    metrics.update({f"unconditional_{k}": plain[k] for k in ("recognised_rate", "min_class_fraction",
                                                              "max_class_fraction", "frechet_ratio")})
    return metrics


def train_generator(name: str, **overrides):
    """Train the GAN generator ``name`` of ``models/`` with its own recipe (``DCGAN_FAMILY`` or ``GAN_FAMILY``)
    in a run folder of its settings, ``overrides`` changing any of them (``max_steps_per_epoch=3`` for a
    quick look); returns the loop's result. Notebook 06 retrains a rung of its ladder with it."""
    if name in DCGAN_FAMILY:
        return train_dcgan(DCGANConfig(**{**DCGAN_FAMILY[name], **overrides}))
    if name in GAN_FAMILY:
        return train_gan(GANConfig(**{**GAN_FAMILY[name], **overrides}))
    raise ValueError(f"{name!r} is not a GAN generator of the kit; choose from {sorted({**DCGAN_FAMILY, **GAN_FAMILY})}")


def costs_table(manifest: dict | None = None) -> str:
    """What rebuilding each model of ``models/`` costs, from the manifest, as the Markdown table that
    docs/teaching.md quotes (a test keeps the two in step): training and evaluation minutes on the machine
    that built it, and the command that rebuilds it."""
    manifest = read_manifest(MODELS_DIR / "manifest.json") if manifest is None else manifest
    models = manifest["models"]
    lines = ["| model | trained with it | training (min) | evaluation (min) | rebuild it with |", "|---|---|---|---|---|"]
    for name in ORDER:
        if name not in models:
            continue
        entry, partner = models[name], PRETRAINED_PARTNER.get(name)
        evaluation = max(entry.get("evaluation_seconds", 0), models.get(partner, {}).get("evaluation_seconds", 0))
        lines.append(f"| `{name}` | {f'`{partner}`' if partner else '–'} | {entry.get('training_seconds', 0) / 60:.1f} | "
                     f"{evaluation / 60:.1f} | `python -m mnist_gan_utils pretrain --model {name}` |")
    lines.append(f"\nAll of them: `python -m mnist_gan_utils pretrain --all`, about "
                 f"{rebuild_estimate(manifest) / 60:.0f} minutes on {models['classifier'].get('machine', 'this machine')} "
                 f"(the sum of the rows, less the epochs a run continues: {', '.join(f'`{k}` continues `{v}`' for k, v in CONTINUES.items())}).")
    return "\n".join(lines)


def rebuild_estimate(manifest: dict) -> float:
    """Seconds a full rebuild takes by the models' own records: each model's training plus its evaluation;
    a GAN's companion (trained with it) adds the time of its own evaluation, which its record counts from
    the same start as the generator's; a run that continues another (``CONTINUES``) counts that one's
    training once."""
    models = manifest["models"]
    total = 0.0
    for name, entry in models.items():
        if name in COMPANIONS:
            continue
        critic = PRETRAINED_PARTNER.get(name)
        total += entry.get("training_seconds", 0) + max(entry.get("evaluation_seconds", 0),
                                                        models.get(critic, {}).get("evaluation_seconds", 0))
        if CONTINUES.get(name) in models:  # its training seconds include the shorter run's, trained once
            total -= models[CONTINUES[name]].get("training_seconds", 0)
    return round(total, 1)


def discriminator_metrics(result, cfg, x_test, y_test, n: int, seed: int) -> dict:
    """Mean D(x) on held-out real digits and mean D(G(z)) on fresh fakes (a cGAN's D with their labels).
    A WGAN-GP critic's scores are not probabilities: its raw means and their gap (the critic's estimate
    of the Wasserstein distance) are reported instead."""
    G, D = result.generator, result.discriminator
    labels = ev.balanced_labels(n) if getattr(D, "conditional", False) else None
    fake = ev.sample(G, n, seed, labels=labels)
    raw = getattr(cfg, "loss", "bce") == "wgan-gp"
    d_real = ev.discriminator_scores(D, x_test, labels=y_test if labels is not None else None, raw=raw)
    d_fake = ev.discriminator_scores(D, fake, labels=labels, raw=raw)
    if raw:
        return {"mean_critic_test": d_real.mean().item(), "mean_critic_fake": d_fake.mean().item(),
                "wasserstein_estimate": (d_real.mean() - d_fake.mean()).item()}
    return {"mean_D_x_test": d_real.mean().item(), "mean_D_G_z": d_fake.mean().item()}


def metrics_summary(m: dict) -> str:
    keys = ("test_accuracy", "recognised_rate", "min_class_fraction", "max_class_fraction", "frechet_distance",
            "frechet_floor", "frechet_ratio", "label_accuracy", "judge_label_accuracy", "min_variety_ratio",
            "mean_D_x_test", "mean_D_G_z", "wasserstein_estimate")
    return ", ".join(f"{k}={m[k]:.4g}" for k in keys if k in m)
