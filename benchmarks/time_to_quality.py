"""Time to quality: what a GAN recipe reaches against wall seconds of training on this machine.

    python benchmarks/time_to_quality.py                      # both recipes; docs/time_to_quality.{md,png}
    python benchmarks/time_to_quality.py --kit-epochs 2 --published-seeds 0   # quicker, for a look
    python benchmarks/time_to_quality.py --dry-run --out /tmp/ttq   # a few steps, to check it runs

Two recipes, run one after the other in this process, the same seed and the same evaluation at every point
(2,000 fresh samples of fixed noise against 2,000 real test digits, ``evaluation.evaluate_images``: the
recognised rate at p >= 0.9, the rarest digit's share and the Fréchet distance on the kit's classifier
features over its real-data floor; the classifier only *measures*):

* **kit**: the DCGAN of notebook 02: ``train_dcgan`` with the notebook's recipe ([-1, 1] data, batches of
  128, Adam(2e-4, betas (0.5, 0.999)), the same seeds), G's own weights (``models/generator.pth`` is this run
  at 14 epochs, sampled from an average of them), measured every half epoch by a callback of its loop;
* **published**: the recipe of a published MNIST GAN notebook, once per seed of ``--published-seeds`` (on
  these networks it collapsed to one digit in some runs and learned in others, so one seed can mislead): noise 64, Adam(0.002, betas (0.5, 0.99)),
  batch 128, BCE, per-image ``RandomRotation(20)`` in a torchvision ``DataLoader``, and a Tanh generator
  trained on [0, 1] data; its networks, which are the kit's (G 64 and D 16 wide), no average, no schedule.
  Its samples are measured clamped to [0, 1], the range it was trained on; measured after every epoch, as
  many epochs as the kit's (the same passes over the data).

A point counts as reaching a quality only if every digit is at least ``MIN_SHARE`` of its samples: a
generator collapsed to one clear digit is "recognised" 100%.

Training seconds exclude the evaluations (they include ``train_dcgan``'s checkpoint and grid after each epoch,
well under a second). Never run beside another job: two processes halve each other.
"""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

from mnist_gan_utils import evaluation as ev
from mnist_gan_utils.checkpoints import load_pretrained
from mnist_gan_utils.data import load_mnist
from mnist_gan_utils.models import Discriminator, Generator
from mnist_gan_utils.paths import DATA_DIR, REPO_ROOT
from mnist_gan_utils.registry import GENERATOR, NOTEBOOK_02, RECIPES
from mnist_gan_utils.sampling import sample
from mnist_gan_utils.training.dcgan import DCGANConfig, dcgan_step, train_dcgan
from mnist_gan_utils.training.engine import seed_everything, set_threads
from mnist_gan_utils.training.loop import Callback

SEED, NOISE_SEED = 0, 12345
MIN_SHARE = 0.05  # the rarest digit's share below which a point counts as collapsed


def make_judge(n: int):
    """``judge(images in [0, 1]) -> figures`` of ``n`` samples against ``n`` test digits (the floor: ``n``
    training digits), by the kit's classifier."""
    C = load_pretrained("classifier")
    test, train = load_mnist("test")[0][:n], load_mnist("train")[0][:n]

    def judge(images: torch.Tensor) -> dict:
        m = ev.evaluate_images(C, images, test, real_train=train)
        return {k: m[k] for k in ("recognised_rate", "frechet_ratio", "min_class_fraction")}
    return judge


class Clock:
    """Training seconds: the wall time between measurements, the measurements themselves excluded."""

    def __init__(self, name: str):
        self.name, self.seconds, self.last = name, 0.0, time.perf_counter()

    def point(self, epoch: float, measure) -> dict:
        self.seconds += time.perf_counter() - self.last
        p = {"epoch": round(epoch, 2), "seconds": self.seconds, **measure()}
        print(f"[{self.name}] {p}", flush=True)
        self.last = time.perf_counter()
        return p


class Points(Callback):
    """Measures G ``per_epoch`` times an epoch of ``steps`` steps, a callback of ``train_dcgan``'s loop."""

    def __init__(self, steps: int, per_epoch: int, judge, n: int):
        self.steps, self.judge, self.n, self.curve, self.clock = steps, judge, n, [], Clock("kit")
        self.marks = {round(steps * i / per_epoch) for i in range(1, per_epoch + 1)}

    def on_step_end(self, run, epoch, step, stats):
        if step + 1 in self.marks:  # sample() puts G in eval mode (BatchNorm's running statistics), then back
            G = run.modules["G"]
            self.curve.append(self.clock.point(epoch + (step + 1) / self.steps,
                                               lambda: self.judge(sample(G, self.n, seed=NOISE_SEED))))
            G.train()


def run_kit(epochs: int, judge, n: int, max_steps: int | None = None, points_per_epoch: int = 2) -> list[dict]:
    """The kit's DCGAN, ``train_dcgan`` with notebook 02's recipe, measured ``points_per_epoch`` times an epoch."""
    cfg = DCGANConfig(**{**RECIPES[NOTEBOOK_02].settings, "epochs": epochs}, seed=SEED, max_steps_per_epoch=max_steps,
                      run_dir=tempfile.mkdtemp(prefix="time_to_quality_kit_"), progress=False)
    points = Points(min(60_000 // cfg.batch_size, max_steps or 60_000), points_per_epoch, judge, n)
    train_dcgan(cfg, callbacks=[points])
    return points.curve


def run_published(epochs: int, judge, n: int, seed: int, max_steps: int | None = None) -> list[dict]:
    from torchvision import datasets, transforms
    seed_everything(seed)
    tf = transforms.Compose([transforms.RandomRotation(20), transforms.ToTensor()])  # [0, 1]: the recipe's range
    loader = torch.utils.data.DataLoader(datasets.MNIST(str(DATA_DIR), train=True, download=False, transform=tf),
                                         batch_size=128, shuffle=True, num_workers=0)
    G, D = Generator(64, 64), Discriminator(16)
    opt_G = torch.optim.Adam(G.parameters(), lr=0.002, betas=(0.5, 0.99))
    opt_D = torch.optim.Adam(D.parameters(), lr=0.002, betas=(0.5, 0.99))
    z = torch.randn(n, 64, generator=torch.Generator().manual_seed(NOISE_SEED))

    @torch.no_grad()
    def drawn():  # trained on [0, 1]: its output is the image (sample()'s to_unit is for [-1, 1] generators)
        return G.eval()(z).clamp(0, 1)
    curve, clock = [], Clock(f"published, seed {seed}")
    for epoch in range(epochs):
        G.train(), D.train()
        for step, (real, _) in enumerate(loader):
            if max_steps is not None and step >= max_steps:
                break
            dcgan_step(G, D, opt_G, opt_D, real, torch.randn(real.shape[0], 64))  # noise sized to the (last) batch
        curve.append(clock.point(epoch + 1, lambda: judge(drawn())))
    return curve


def first_reaching(curve, rec: float, fd: float):
    """The first point of ``curve`` at least as good as (rec, fd) on both figures, not collapsed, or None."""
    return next((p for p in curve if p["recognised_rate"] >= rec and p["frechet_ratio"] <= fd
                 and p["min_class_fraction"] >= MIN_SHARE), None)


def _table(title: str, curve: list[dict], date: str) -> list[str]:
    return [f"## {title} (measured {date})", "",
            "| epoch | training s | recognised | Fréchet / floor | rarest digit |",
            "| ---: | ---: | ---: | ---: | ---: |",
            *(f"| {p['epoch']} | {p['seconds']:.0f} | {p['recognised_rate']:.1%} | {p['frechet_ratio']:.1f} | "
              f"{p['min_class_fraction']:.1%} |" for p in curve), ""]


def _against(kit: list[dict], seed: int, curve: list[dict]) -> str:
    """One published run's end point and how soon the kit's recipe reaches it."""
    end = curve[-1]
    said = (f"- Published recipe, seed {seed}, after {end['epoch']} epochs ({end['seconds']:.0f} s): recognised "
            f"{end['recognised_rate']:.1%}, Fréchet {end['frechet_ratio']:.1f}x floor, rarest digit "
            f"{end['min_class_fraction']:.1%}")
    if end["min_class_fraction"] < MIN_SHARE:
        alive = sum(p["min_class_fraction"] >= MIN_SHARE for p in curve)
        return said + (f": collapsed (rarest digit under {MIN_SHARE:.0%}; {alive} of its {len(curve)} points had "
                       f"every digit), so there is no quality of its to reach.")
    own = first_reaching(curve, end["recognised_rate"], end["frechet_ratio"])
    hit = first_reaching(kit, end["recognised_rate"], end["frechet_ratio"])
    said += f"; it first reached both at epoch {own['epoch']} ({own['seconds']:.0f} s)."
    if not hit:
        return said + " The kit's recipe does not reach both within its run."
    return said + (f" The kit's recipe reaches both at epoch {hit['epoch']} ({hit['seconds']:.0f} s): "
                   f"**{end['seconds'] / hit['seconds']:.1f}x** sooner than the published run's end, "
                   f"**{own['seconds'] / hit['seconds']:.1f}x** sooner than its first reaching them (measured "
                   f"after whole epochs only, so that may have come up to an epoch earlier).")


def report(kit: list[dict], pubs: dict[int, list[dict]], n: int, out_md: Path, command: str) -> str:
    date = time.strftime("%Y-%m-%d")
    lines = ["# Time to quality", "",
             f"`{command}` on {platform.machine()}, {torch.get_num_threads()} threads, "
             f"torch {torch.__version__}, {date}. Evaluation after every epoch: {n:,} samples (fixed noise) against "
             f"{n:,} real test digits; recognised = top class probability >= 0.9 by the kit's classifier; Fréchet "
             f"distance on its features divided by the real-data floor ({n:,} training vs test digits). Training "
             f"seconds exclude the evaluations. Recipes: see the docstring of `benchmarks/time_to_quality.py`. With "
             f"{n:,} samples the Fréchet floor itself is larger than with 10,000, so these ratios are smaller "
             f"than the manifest's 10,000-sample ones and not comparable with them. A point with a digit under "
             f"{MIN_SHARE:.0%} of the samples counts as collapsed: one clear digit drawn every time is "
             f"\"recognised\" 100%.", ""]
    lines += _table("the kit's DCGAN (notebook 02's recipe, G's own weights)", kit, date)
    for seed, curve in pubs.items():
        lines += _table(f"published notebook recipe, seed {seed}", curve, date)
    best10 = max((p["recognised_rate"] for p in kit if p["seconds"] <= 600 and p["min_class_fraction"] >= MIN_SHARE),
                 default=None)
    lines += ["## Targets", "",
              f"- Kit recipe, best recognised rate within 10 minutes of training (every digit >= {MIN_SHARE:.0%} of "
              f"the samples): **{best10:.1%}** (target >= 90%: {'met' if best10 >= 0.9 else 'NOT met'})."
              if best10 is not None else
              f"- Kit recipe: no point within 10 minutes of training has every digit at >= {MIN_SHARE:.0%} of the "
              f"samples (target: >= 90% recognised with every digit there: NOT met)."]
    lines += [_against(kit, seed, curve) for seed, curve in pubs.items()]
    lines += ["", f"![time to quality]({out_md.with_suffix('.png').name})"]
    text = "\n".join(lines) + "\n"
    out_md.write_text(text)
    _plot(kit, pubs, out_md.with_suffix(".png"))
    return text


def _plot(kit, pubs, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    runs = [(kit, "the kit's DCGAN", "o-")] + [(c, f"published recipe, seed {s}", "s--") for s, c in pubs.items()]
    for curve, label, style in runs:
        t = [p["seconds"] / 60 for p in curve]
        axes[0].plot(t, [p["recognised_rate"] for p in curve], style, label=label)
        axes[1].plot(t, [p["frechet_ratio"] for p in curve], style, label=label)
    axes[0].set(xlabel="training minutes (2 CPU cores)", ylabel="recognised rate (p >= 0.9)", ylim=(0, 1))
    axes[1].set(xlabel="training minutes (2 CPU cores)", ylabel="Fréchet distance / real floor", yscale="log")
    axes[0].axhline(0.9, color="gray", ls=":", lw=1)
    axes[0].axvline(10, color="gray", ls=":", lw=1)
    for ax in axes:
        ax.legend(), ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kit-epochs", type=int, default=RECIPES[GENERATOR].settings["epochs"], help="default: pretrain's")
    ap.add_argument("--published-epochs", type=int, help="default: as many as the kit's")
    ap.add_argument("--published-seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--dry-run", action="store_true", help="1 epoch of 4 steps each, 200 samples a point")
    ap.add_argument("--out", type=Path, help="folder for time_to_quality.{md,png} (default: docs/; with "
                                             "--dry-run: a new temporary folder)")
    args = ap.parse_args(argv)
    out = args.out or (Path(tempfile.mkdtemp(prefix="time_to_quality_")) if args.dry_run else REPO_ROOT / "docs")
    out.mkdir(parents=True, exist_ok=True)
    set_threads()
    n, max_steps = (200, 4) if args.dry_run else (2000, None)
    kit_epochs, published_epochs = (1, 1) if args.dry_run else (args.kit_epochs,
                                                                args.published_epochs or args.kit_epochs)
    judge = make_judge(n)
    kit = run_kit(kit_epochs, judge, n, max_steps)
    pubs = {seed: run_published(published_epochs, judge, n, seed, max_steps) for seed in args.published_seeds}
    command = " ".join(["python benchmarks/time_to_quality.py", *(argv if argv is not None else sys.argv[1:])])
    print(report(kit, pubs, n, out / "time_to_quality.md", command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
