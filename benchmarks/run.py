"""Benchmarks: the DCGAN's training throughput (notebook 02's networks and step, ``pretrain``'s recipe)
against the published notebooks' data path and the compute bound, step variants, sampling throughput and
memory. Every figure is measured in this one process, same model, same
seed, one after the other (never time while another job runs: two processes halve each other's speed).

    python benchmarks/run.py              # table on stdout, and docs/benchmarks.md
    python benchmarks/run.py --steps 20 --repeats 4 --rounds 6   # quicker, noisier
"""
from __future__ import annotations

import argparse
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from mnist_gan_utils.data import MNISTBatches, load_mnist
from mnist_gan_utils.evaluation import sample
from mnist_gan_utils.paths import DATA_DIR, REPO_ROOT
from mnist_gan_utils.training.engine import set_threads
from mnist_gan_utils.models import Discriminator, Generator
from mnist_gan_utils.pretrain import DCGAN_RECIPE
from mnist_gan_utils.training.dcgan import DCGANConfig, dcgan_step
from mnist_gan_utils.training.gan import gan_step

CFG = DCGANConfig(**DCGAN_RECIPE)  # notebook 02's DCGAN as models/generator.pth trains it
BATCH = CFG.batch_size


def _models(seed=0, g_channels: int = CFG.g_channels, d_channels: int = CFG.d_channels):
    torch.manual_seed(seed)
    G, D = Generator(CFG.noise_dim, g_channels), Discriminator(d_channels)
    opt_G = torch.optim.Adam(G.parameters(), lr=CFG.lr, betas=tuple(CFG.betas))
    opt_D = torch.optim.Adam(D.parameters(), lr=CFG.lr, betas=tuple(CFG.betas))
    return G, D, opt_G, opt_D, CFG.noise_dim


_step = dcgan_step


def _time_loop(batches, steps: int, warmup: int = 3) -> float:
    """Images per second of the GAN step fed by ``batches`` (an iterator of real batches)."""
    G, D, opt_G, opt_D, nz = _models()
    g = torch.Generator().manual_seed(0)
    it = iter(batches)
    for _ in range(warmup):
        _step(G, D, opt_G, opt_D, next(it), torch.randn(BATCH, nz, generator=g))
    t = time.perf_counter()
    for _ in range(steps):
        _step(G, D, opt_G, opt_D, next(it), torch.randn(BATCH, nz, generator=g))
    return steps * BATCH / (time.perf_counter() - t)


def kit_batches(images, labels):
    b = MNISTBatches(images, labels, BATCH, rotation=0.0, value_range=(-1, 1), seed=0)
    while True:
        yield from (x for x, _ in b.epoch(0))


def kit_batches_rotated(images, labels):
    b = MNISTBatches(images, labels, BATCH, rotation=20.0, value_range=(-1, 1), seed=0)
    while True:
        yield from (x for x, _ in b.epoch(0))


def torchvision_batches():
    """The published MNIST GAN notebooks' data path: per-image RandomRotation in a DataLoader."""
    from torchvision import datasets, transforms
    tf = transforms.Compose([transforms.RandomRotation(20), transforms.ToTensor(), transforms.Normalize([0.5], [0.5])])
    ds = datasets.MNIST(str(DATA_DIR), train=True, download=False, transform=tf)
    loader = torch.utils.data.DataLoader(ds, batch_size=BATCH, shuffle=True, drop_last=True, num_workers=0)
    while True:
        yield from (x for x, _ in loader)


def compute_bound(images):
    x = images[:BATCH].unsqueeze(1).float() / 127.5 - 1
    while True:
        yield x


# ---------------------------------------------------------------------------------------------
# The training step itself: the kit's step against variants, on the same in-memory batch
# ---------------------------------------------------------------------------------------------
def frozen_D_step(G, D, opt_G, opt_D, real, z):
    """The same update with D's weights frozen while G's loss back-propagates through D, as the add-ons'
    ``gan_step`` does: D's weight gradients, which ``dcgan_step`` computes and the next ``zero_grad`` throws
    away, are not computed."""
    return gan_step(G, D, opt_G, opt_D, real, z)


STEP_VARIANTS = ("kit step (reference)", "kit step, D frozen in G's update", "kit step, channels_last",
                 "kit step, flush denormals", "kit step, torch.compile", "kit step, 1 thread",
                 f"kit step, batch {2 * BATCH}", "kit step, half width")
SLOW_VARIANTS = ("kit step, bfloat16 autocast",)  # emulated without AVX512-BF16 or AMX: measured once, briefly


def _variant(name: str, x: torch.Tensor):
    """A closure running one training step of ``name`` on the in-memory batch ``x`` with fresh noise."""
    import contextlib
    half = name.endswith("half width")
    G, D, opt_G, opt_D, nz = _models(**dict(g_channels=CFG.g_channels // 2, d_channels=CFG.d_channels // 2) if half else {})
    ctx, step, batch, threads = contextlib.nullcontext, _step, BATCH, torch.get_num_threads()
    if name.endswith("G's update"):
        step = frozen_D_step
    elif name.endswith("channels_last"):
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    elif name.endswith("bfloat16 autocast"):
        ctx = lambda: torch.autocast("cpu", dtype=torch.bfloat16)  # noqa: E731
    elif name.endswith("torch.compile"):
        G, D = torch.compile(G), torch.compile(D)
    elif name.endswith(f"batch {2 * BATCH}"):  # two batches in one step: throughput only (the lr would be scaled)
        batch, x = 2 * BATCH, torch.cat([x, x.flip(0)])
    flush = name.endswith("flush denormals")
    own_threads = 1 if name.endswith("1 thread") else threads
    g = torch.Generator().manual_seed(0)

    def run(steps: int) -> float:
        torch.set_flush_denormal(flush)
        torch.set_num_threads(own_threads)
        try:
            with ctx():
                t = time.perf_counter()
                for _ in range(steps):
                    step(G, D, opt_G, opt_D, x, torch.randn(batch, nz, generator=g))
                return steps * batch / (time.perf_counter() - t)
        finally:
            torch.set_flush_denormal(False)
            torch.set_num_threads(threads)
    run(3)  # warm-up (and compilation)
    return run


def step_variants(steps: int, rounds: int, x: torch.Tensor) -> list[tuple[str, float, list[float]]]:
    """Each variant's images/s in ``rounds`` rounds; in every round all variants run one after the other
    (the order reversed every other round), so a slow spell of the machine hits a round's variants alike
    and the *ratio* within a round is what to trust. Returns (name, median images/s, per-round ratios
    to the reference)."""
    runs = {name: _variant(name, x) for name in STEP_VARIANTS}
    speed = {name: [] for name in STEP_VARIANTS}
    for r in range(rounds):
        for name in (STEP_VARIANTS if r % 2 == 0 else STEP_VARIANTS[::-1]):
            speed[name].append(runs[name](steps))
    ref = speed[STEP_VARIANTS[0]]
    out = [(name, statistics.median(v), [a / b for a, b in zip(v, ref)]) for name, v in speed.items()]
    for name in SLOW_VARIANTS:
        v = _variant(name, x)(3)
        out.append((name, v, [v / statistics.median(ref)]))
    return out


def notebook_times(include_training: bool) -> list[tuple[str, float]]:
    """Wall seconds of each notebook run top to bottom with its default parameters (papermill, a fresh
    kernel each, kernel start included), from a temporary folder. 02 trains for minutes: only on request."""
    import tempfile

    import papermill as pm
    from mnist_gan_utils.paths import NOTEBOOKS_DIR
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for nb in sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
            if nb.name.startswith("02") and not include_training:
                continue
            params = {"OVERWRITE": True} if nb.name.startswith("02") else {}
            t = time.perf_counter()
            pm.execute_notebook(str(nb), str(Path(tmp) / nb.name), parameters=params, kernel_name="python3",
                                cwd=tmp, progress_bar=False)
            out.append((nb.name, time.perf_counter() - t))
    return out


def sampling_throughput(n: int = 2000) -> float:
    G = _models()[0].eval()
    sample(G, 100)
    t = time.perf_counter()
    sample(G, n, batch_size=500)
    return n / (time.perf_counter() - t)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30, help="timed training steps per measurement")
    ap.add_argument("--repeats", type=int, default=6, help="interleaved rounds of the data paths")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md")
    ap.add_argument("--rounds", type=int, default=10, help="interleaved rounds of the training-step variants")
    ap.add_argument("--notebooks", action="store_true", help="also time every notebook with its defaults except 02")
    ap.add_argument("--notebooks-with-training", action="store_true", help="... and 02 (a real training run, minutes)")
    args = ap.parse_args(argv)
    set_threads()
    images, labels = load_mnist("train")
    sources = [
        ("compute bound: one batch already in memory", lambda: compute_bound(images)),
        ("kit: MNISTBatches (in memory, no augmentation)", lambda: kit_batches(images, labels)),
        ("kit: MNISTBatches, batch-wise rotation ±20°", lambda: kit_batches_rotated(images, labels)),
        ("published: torchvision MNIST + per-image RandomRotation + DataLoader", torchvision_batches),
    ]
    _time_loop(compute_bound(images), 10)  # warm up threads and allocator before anything is timed
    # Rows are measured in rounds, in turns (reversed every other round), so a slow spell of the machine hits
    # a round's rows alike: each row's overhead is the median over rounds of its ratio within the round.
    speed = {name: [] for name, _ in sources}
    for r in range(args.repeats):
        for name, make in (sources if r % 2 == 0 else sources[::-1]):
            speed[name].append(_time_loop(make(), args.steps))
    bound = speed[sources[0][0]]

    def per_round(a, b):  # a / b within each round
        return [x / y for x, y in zip(speed[a], speed[b])]
    lines = ["# Benchmarks", "",
             f"`python benchmarks/run.py --steps {args.steps} --repeats {args.repeats} --rounds {args.rounds}` on "
             f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
             f"{time.strftime('%Y-%m-%d')}. The DCGAN of notebook 02 with `pretrain`'s recipe ({CFG.g_channels}-wide G, "
             f"{CFG.d_channels}-wide D, `dcgan_step`), batch {BATCH}, Adam, one D and one G update per step, same seed, one process. The data paths: {args.repeats} rounds of {args.steps} steps, "
             f"each path once per round, in turns (reversed every other round); images/s is the median over rounds, "
             f"and the overhead the median of each round's ratio to the compute bound (its range in brackets).", "",
             "| GAN training data path | images/s (median) | overhead over compute bound (median of rounds) |",
             "| --- | ---: | ---: |"]
    for name, v in speed.items():
        over = [b / x - 1 for x, b in zip(v, bound)]
        lines.append(f"| {name} | {statistics.median(v):,.0f} | {statistics.median(over):+.1%} "
                     f"({min(over):+.1%} to {max(over):+.1%}) |")
    names = [name for name, _ in sources]
    kit_vs_pub, rot_vs_pub = per_round(names[1], names[3]), per_round(names[2], names[3])
    lines += ["", f"Kit data path vs the published data path: **{statistics.median(kit_vs_pub):.2f}×** the throughput, "
                  f"median of rounds ({min(kit_vs_pub):.2f}–{max(kit_vs_pub):.2f}×); with rotation "
                  f"{statistics.median(rot_vs_pub):.2f}× ({min(rot_vs_pub):.2f}–{max(rot_vs_pub):.2f}×).", ""]
    variants = step_variants(args.steps, args.rounds, next(compute_bound(images)))
    lines += [f"The training step itself, on the compute bound's in-memory batch: {args.rounds} rounds of {args.steps} "
              "steps, every variant once per round, in turns (reversed every other round). The speed-up is the "
              "median over rounds of each round's ratio to the kit's step; the range shows the noise.", "",
              "| training step | images/s (median) | speed-up (median of rounds) | range over rounds | rounds faster |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for name, v, ratios in variants:
        faster = f"{sum(q > 1 for q in ratios)}/{len(ratios)}" if len(ratios) > 1 else "1 measurement"
        lines.append(f"| {name} | {v:,.0f} | {statistics.median(ratios):.2f}× | "
                     f"{min(ratios):.2f}–{max(ratios):.2f}× | {faster} |")
    lines += ["", "The kit's step is `dcgan_step`, in pytorch/examples' `dcgan/main.py` order; the frozen-D row is "
                  "the same update with D's weights frozen while G's loss back-propagates through D (as the add-ons' "
                  "`gan_step`), so D's weight gradients, which the next `zero_grad` throws away, are not computed. "
                  f"The batch-{2 * BATCH} and half-width rows measure speed only: a larger batch needs a scaled learning rate and a "
                  "narrower network draws differently, so what they reach per second of training is a quality "
                  "question this table does not answer. Each run "
                  "measures every setting again: another machine shows its own answer "
                  "(bfloat16 needs AVX512-BF16 or AMX hardware to pay off).", ""]
    s = sampling_throughput()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines += ["| other | value |", "| --- | ---: |", f"| sampling (generator, eval mode, batches of 500) | {s:,.0f} images/s |",
              f"| peak resident memory of this process | {peak_mib:,.0f} MiB |", ""]
    if args.notebooks or args.notebooks_with_training:
        lines += ["| notebook, default parameters (papermill, kernel start included) | seconds |", "| --- | ---: |"]
        lines += [f"| `{name}` | {sec:.1f} |" for name, sec in notebook_times(args.notebooks_with_training)]
        lines.append("")
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
