"""The kit's measured speeds: the DCGAN's training throughput (notebook 02's networks and step, ``pretrain``'s
recipe) against the published notebooks' data path and the compute bound, step variants, sampling and
memory; and the lessons' Run all times.

    python benchmarks/run.py              # the speed tables: docs/benchmarks.md
    python benchmarks/run.py --steps 20 --repeats 4 --rounds 6   # quicker, noisier
    python benchmarks/run.py --notebooks  # every lesson but 02, Run all: the README table's "2 CPU cores" column
    python benchmarks/run.py --notebooks-with-training            # ... and 02 (a real training run, minutes)
    python benchmarks/run.py --dry-run --out /tmp/bench           # a few steps (or lesson 01 alone), to check it runs

Every figure is measured in this one process, one after the other: never time while another job runs (two
processes halve each other's speed).
"""
from __future__ import annotations

import argparse
import contextlib
import platform
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from mnist_gan_utils.data import MNISTBatches, load_mnist
from mnist_gan_utils.models import Discriminator, Generator
from mnist_gan_utils.paths import DATA_DIR, NOTEBOOKS_DIR, REPO_ROOT
from mnist_gan_utils.registry import NOTEBOOK_02, RECIPES
from mnist_gan_utils.sampling import sample
from mnist_gan_utils.training.dcgan import DCGANConfig, dcgan_step
from mnist_gan_utils.training.engine import set_threads
from mnist_gan_utils.training.conditional import gan_step

CFG = DCGANConfig(**RECIPES[NOTEBOOK_02].settings)  # notebook 02's DCGAN, as the notebook trains it
BATCH = CFG.batch_size
TIMES_COLUMN = "2 CPU cores"       # the README's column of Run all times (tests/prose_figures.py reads it)


def _models(g_channels: int = CFG.g_channels, d_channels: int = CFG.d_channels):
    torch.manual_seed(0)
    G, D = Generator(CFG.noise_dim, g_channels), Discriminator(d_channels)
    opt_G = torch.optim.Adam(G.parameters(), lr=CFG.lr, betas=tuple(CFG.betas))
    opt_D = torch.optim.Adam(D.parameters(), lr=CFG.lr, betas=tuple(CFG.betas))
    return G, D, opt_G, opt_D


def _time_loop(batches, steps: int, warmup: int = 3) -> float:
    """Images per second of ``dcgan_step`` fed by ``batches`` (an iterator of real batches)."""
    G, D, opt_G, opt_D = _models()
    rng, it = torch.Generator().manual_seed(0), iter(batches)
    for k in range(warmup + steps):
        if k == warmup:
            t = time.perf_counter()
        dcgan_step(G, D, opt_G, opt_D, next(it), torch.randn(BATCH, CFG.noise_dim, generator=rng))
    return steps * BATCH / (time.perf_counter() - t)


def kit_batches(images, labels, rotation: float):
    b = MNISTBatches(images, labels, BATCH, rotation=rotation, value_range=(-1, 1), seed=0)
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


STEP_VARIANTS = ("kit step (reference)", "kit step, D frozen in G's update", "kit step, channels_last",
                 "kit step, flush denormals", "kit step, torch.compile", "kit step, 1 thread",
                 f"kit step, batch {2 * BATCH}", "kit step, half width")
SLOW_VARIANTS = ("kit step, bfloat16 autocast",)  # emulated without AVX512-BF16 or AMX: measured once, briefly


def _variant(name: str, x: torch.Tensor, warmup: int = 3):
    """A closure running ``steps`` training steps of ``name`` on the in-memory batch ``x`` with fresh noise."""
    half = name.endswith("half width")
    G, D, opt_G, opt_D = _models(CFG.g_channels // 2, CFG.d_channels // 2) if half else _models()
    ctx, step, batch, threads = contextlib.nullcontext, dcgan_step, BATCH, torch.get_num_threads()
    if name.endswith("G's update"):  # the add-ons' step: D frozen while G's loss back-propagates through it
        step = gan_step
    elif name.endswith("channels_last"):
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    elif name.endswith("bfloat16 autocast"):
        ctx = lambda: torch.autocast("cpu", dtype=torch.bfloat16)  # noqa: E731
    elif name.endswith("torch.compile"):
        G, D = torch.compile(G), torch.compile(D)
    elif name.endswith(f"batch {2 * BATCH}"):  # two batches in one step: throughput only (the lr would be scaled)
        batch, x = 2 * BATCH, torch.cat([x, x.flip(0)])
    flush, own_threads = name.endswith("flush denormals"), 1 if name.endswith("1 thread") else threads
    rng = torch.Generator().manual_seed(0)

    def run(steps: int) -> float:
        torch.set_flush_denormal(flush)
        torch.set_num_threads(own_threads)
        try:
            with ctx():
                t = time.perf_counter()
                for _ in range(steps):
                    step(G, D, opt_G, opt_D, x, torch.randn(batch, CFG.noise_dim, generator=rng))
                return steps * batch / (time.perf_counter() - t)
        finally:
            torch.set_flush_denormal(False)
            torch.set_num_threads(threads)
    run(warmup)  # warm-up (and compilation)
    return run


def interleaved(runs: dict, steps: int, rounds: int) -> dict[str, list[float]]:
    """Each entry's images/s in every round; a round runs all entries one after the other, the order
    reversed every other round, so a slow spell of the machine hits a round's entries alike and the *ratio*
    within a round is what to trust."""
    speed = {name: [] for name in runs}
    for r in range(rounds):
        for name in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
            speed[name].append(runs[name](steps))
    return speed


def speed_tables(steps: int, repeats: int, rounds: int, dry_run: bool) -> list[str]:
    images, labels = load_mnist("train")
    sources = {
        "compute bound: one batch already in memory": lambda: compute_bound(images),
        "kit: MNISTBatches (in memory, no augmentation)": lambda: kit_batches(images, labels, 0.0),
        "kit: MNISTBatches, batch-wise rotation ±20°": lambda: kit_batches(images, labels, 20.0),
        "published: torchvision MNIST + per-image RandomRotation + DataLoader": torchvision_batches,
    }
    _time_loop(compute_bound(images), 1 if dry_run else 10)  # warm up threads and allocator before timing
    warmup = 1 if dry_run else 3
    timed = {name: lambda s, make=make: _time_loop(make(), s, warmup) for name, make in sources.items()}
    speed = interleaved(timed, steps, repeats)
    names, bound = list(sources), speed[list(sources)[0]]

    def per_round(a, b):
        return [x / y for x, y in zip(speed[a], speed[b])]
    lines = ["# Benchmarks", "",
             f"`python benchmarks/run.py --steps {steps} --repeats {repeats} --rounds {rounds}` on "
             f"{platform.machine()} ({torch.backends.cpu.get_cpu_capability()}), {torch.get_num_threads()} threads, "
             f"torch {torch.__version__}, "
             f"{time.strftime('%Y-%m-%d')}. The DCGAN of notebook 02 with `pretrain`'s recipe ({CFG.g_channels}-wide G, "
             f"{CFG.d_channels}-wide D, `dcgan_step`), batch {BATCH}, Adam, one D and one G update per step, same seed, one process. The data paths: {repeats} rounds of {steps} steps, "
             f"each path once per round, in turns (reversed every other round); images/s is the median over rounds, "
             f"and the overhead the median of each round's ratio to the compute bound (its range in brackets).", "",
             "| GAN training data path | images/s (median) | overhead over compute bound (median of rounds) |",
             "| --- | ---: | ---: |"]
    for name, v in speed.items():
        over = [b / x - 1 for x, b in zip(v, bound)]
        lines.append(f"| {name} | {statistics.median(v):,.0f} | {statistics.median(over):+.1%} "
                     f"({min(over):+.1%} to {max(over):+.1%}) |")
    kit_vs_pub, rot_vs_pub = per_round(names[1], names[3]), per_round(names[2], names[3])
    lines += ["", f"Kit data path vs the published data path: **{statistics.median(kit_vs_pub):.2f}×** the throughput, "
                  f"median of rounds ({min(kit_vs_pub):.2f}–{max(kit_vs_pub):.2f}×); with rotation "
                  f"{statistics.median(rot_vs_pub):.2f}× ({min(rot_vs_pub):.2f}–{max(rot_vs_pub):.2f}×).", ""]

    # a dry run leaves out what only torch can break and costs a minute: compilation and emulated bfloat16
    x = next(compute_bound(images))
    variants = [v for v in STEP_VARIANTS if not (dry_run and v.endswith("torch.compile"))]
    speed = interleaved({name: _variant(name, x, warmup) for name in variants}, steps, rounds)
    ref = speed[variants[0]]
    rows = [(name, statistics.median(v), [a / b for a, b in zip(v, ref)]) for name, v in speed.items()]
    for name in () if dry_run else SLOW_VARIANTS:
        v = _variant(name, x)(3)
        rows.append((name, v, [v / statistics.median(ref)]))
    lines += [f"The training step itself, on the compute bound's in-memory batch: {rounds} rounds of {steps} "
              "steps, every variant once per round, in turns (reversed every other round). The speed-up is the "
              "median over rounds of each round's ratio to the kit's step; the range shows the noise.", "",
              "| training step | images/s (median) | speed-up (median of rounds) | range over rounds | rounds faster |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for name, v, ratios in rows:
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
    G, n = _models()[0].eval(), 200 if dry_run else 2000
    sample(G, 100)
    t = time.perf_counter()
    sample(G, n, batch_size=500)
    per_second = n / (time.perf_counter() - t)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return lines + ["| other | value |", "| --- | ---: |",
                    f"| sampling (generator, eval mode, batches of 500) | {per_second:,.0f} images/s |",
                    f"| peak resident memory of this process | {peak_mib:,.0f} MiB |", ""]


def notebook_times(include_training: bool, dry_run: bool) -> dict[str, float]:
    """Wall seconds of each lesson run top to bottom with its default parameters (papermill, a fresh kernel
    each, kernel start included), from a temporary folder. 02 trains for minutes: only on request."""
    import papermill as pm
    lessons = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    lessons = [nb for nb in lessons if include_training or not nb.name.startswith("02")][:1 if dry_run else None]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for nb in lessons:
            params = {"OVERWRITE": True} if nb.name.startswith("02") else {}
            t = time.perf_counter()
            pm.execute_notebook(str(nb), str(Path(tmp) / nb.name), parameters=params, kernel_name="python3",
                                cwd=tmp, progress_bar=False)
            out[nb.name] = time.perf_counter() - t
    return out


def duration(seconds: float) -> str:
    """A Run all time as the README's table writes it: "7 s", "4.5 min"."""
    return f"{seconds:.0f} s" if seconds < 59.5 else f"{seconds / 60:.1f} min"


def with_times(readme: str, times: dict[str, float]) -> str:
    """``readme`` with the times table's cells of the lessons in ``times`` replaced; every other line as it was."""
    lines, column = readme.split("\n"), None
    for i, line in enumerate(lines):
        cells = line.split("|")
        if not line.startswith("|"):
            column = None
        elif column is None and any(c.strip() == TIMES_COLUMN for c in cells):
            column = [c.strip() for c in cells].index(TIMES_COLUMN)
        elif column is not None:
            name = re.search(r"\d\d_\w+\.ipynb", cells[1])
            if name and name.group(0) in times:
                cells[column] = f" {duration(times[name.group(0)])} "
                lines[i] = "|".join(cells)
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30, help="timed training steps per measurement")
    ap.add_argument("--repeats", type=int, default=6, help="interleaved rounds of the data paths")
    ap.add_argument("--rounds", type=int, default=10, help="interleaved rounds of the training-step variants")
    ap.add_argument("--notebooks", action="store_true", help="time every lesson but 02 instead; update README.md")
    ap.add_argument("--notebooks-with-training", action="store_true", help="... and 02 (a real training run, minutes)")
    ap.add_argument("--dry-run", action="store_true", help="1 step, 1 round, no torch.compile (or lesson 01 alone)")
    ap.add_argument("--out", type=Path, help="folder for benchmarks.md or README.md (default: docs/, or the "
                                             "kit's README.md; with --dry-run: a new temporary folder)")
    args = ap.parse_args(argv)
    out = args.out or (Path(tempfile.mkdtemp(prefix="benchmarks_")) if args.dry_run else None)
    set_threads()
    if args.notebooks or args.notebooks_with_training:
        times = notebook_times(args.notebooks_with_training, args.dry_run)
        print("\n".join(f"{name}: {sec:.1f} s ({duration(sec)})" for name, sec in times.items()))
        path = (out or REPO_ROOT) / "README.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(with_times((REPO_ROOT / "README.md").read_text(), times))
        print(f"wrote {path}")
        return 0
    steps, repeats, rounds = (1, 1, 1) if args.dry_run else (args.steps, args.repeats, args.rounds)
    text = "\n".join(speed_tables(steps, repeats, rounds, args.dry_run))
    print(text)
    path = (out or REPO_ROOT / "docs") / "benchmarks.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = (REPO_ROOT / "docs" / "benchmarks.md").read_text()
    kept = old[old.find("\n## "):] if "\n## " in old else ""  # the page's hand-written sections stay
    path.write_text(text + "\n" + kept)
    return 0


if __name__ == "__main__":
    sys.exit(main())
