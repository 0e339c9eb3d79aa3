"""Benchmarks: GAN training throughput against the published notebooks' data path and the compute
bound, sampling throughput and memory. Every figure is measured in this one process, same model, same
seed, one after the other (never time while another job runs: two processes halve each other's speed).

    python benchmarks/run.py              # table on stdout, and docs/benchmarks.md
    python benchmarks/run.py --steps 20   # quicker, noisier
"""
from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
from pathlib import Path

import torch

from mnist_gan_utils.data import MNISTBatches, load_mnist
from mnist_gan_utils.evaluation import sample
from mnist_gan_utils.paths import DATA_DIR, REPO_ROOT
from mnist_gan_utils.training.engine import set_threads
from mnist_gan_utils.training.gan import GANConfig, build_networks, gan_step

BATCH = 128


CFG = GANConfig()  # the kit's default recipe: the self-conditioned DCGAN, matching-aware D
CODES = torch.randint(0, max(CFG.clusters, 1), (BATCH,), generator=torch.Generator().manual_seed(0))


def _models(seed=0):
    torch.manual_seed(seed)
    G, D = build_networks(CFG)
    opt_G = torch.optim.Adam(G.parameters(), lr=CFG.lr, betas=CFG.betas)
    opt_D = torch.optim.Adam(D.parameters(), lr=CFG.lr, betas=CFG.betas)
    return G, D, opt_G, opt_D, CFG.noise_dim


def _step(G, D, opt_G, opt_D, real, z):
    """The default recipe's training step: real digits with their clusters (here fixed ones)."""
    return gan_step(G, D, opt_G, opt_D, real, z, labels=CODES if CFG.clusters else None, mismatch=CFG.mismatch)


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
# The training step itself: variants of the same step on the same in-memory batch
# ---------------------------------------------------------------------------------------------
def _step_variant(name: str, steps: int, x: torch.Tensor) -> float:
    """Images/s of ``gan_step`` on the in-memory batch ``x`` (the compute bound's) under one setting."""
    import contextlib
    G, D, opt_G, opt_D, nz = _models()
    ctx = contextlib.nullcontext()
    if name == "channels_last":
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    elif name == "bfloat16 autocast":
        ctx = torch.autocast("cpu", dtype=torch.bfloat16)
    elif name == "torch.compile":
        G, D = torch.compile(G), torch.compile(D)
    elif name == "flush denormals":
        torch.set_flush_denormal(True)
    g = torch.Generator().manual_seed(0)
    try:
        with ctx:
            for _ in range(3):  # warm-up (and compilation)
                _step(G, D, opt_G, opt_D, x, torch.randn(BATCH, nz, generator=g))
            t = time.perf_counter()
            for _ in range(steps):
                _step(G, D, opt_G, opt_D, x, torch.randn(BATCH, nz, generator=g))
            return steps * BATCH / (time.perf_counter() - t)
    finally:
        torch.set_flush_denormal(False)


STEP_VARIANTS = ("eager (reference)", "channels_last", "flush denormals", "torch.compile", "bfloat16 autocast")
FAST_VARIANTS = 3  # the rest are slow: measured once, with few steps unless --slow-variants


def step_variants(steps: int, repeats: int, slow: bool, x: torch.Tensor) -> list[tuple[str, float]]:
    """Each variant measured ``repeats`` times in turns (best kept); the slow ones (compile takes a minute to
    warm up, bfloat16 without AVX512-BF16 hardware is emulated) once with few steps unless ``slow``."""
    best = dict.fromkeys(STEP_VARIANTS, 0.0)
    for _ in range(repeats):
        for name in STEP_VARIANTS[:FAST_VARIANTS]:
            best[name] = max(best[name], _step_variant(name, steps, x))
    for name in STEP_VARIANTS[FAST_VARIANTS:]:
        best[name] = _step_variant(name, steps if slow else 5, x)
    return list(best.items())


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
            params = {"RUN_DIR": "bench_notebook_gan", "OVERWRITE": True} if nb.name.startswith("02") else {}
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
    ap.add_argument("--repeats", type=int, default=3, help="measurements per row, interleaved; the best is kept")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md")
    ap.add_argument("--slow-variants", action="store_true", help="time torch.compile and bfloat16 as long as the rest")
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
    # Rows are measured in turns (round-robin), so a slow spell of the machine hits all of them alike.
    best = {name: 0.0 for name, _ in sources}
    for _ in range(args.repeats):
        for name, make in sources:
            best[name] = max(best[name], _time_loop(make(), args.steps))
    rows = list(best.items())
    bound = rows[0][1]
    lines = ["# Benchmarks", "",
             f"`python benchmarks/run.py --steps {args.steps} --repeats {args.repeats}` on {platform.machine()}, {torch.get_num_threads()} "
             f"threads, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}. The kit's default GAN "
             f"(`GANConfig()`), batch {BATCH}, Adam, one D and one G update per step, same seed, one process; "
             f"each row is the best of {args.repeats} interleaved measurements of {args.steps} steps.", "",
             "| GAN training data path | images/s | ratio to compute bound | overhead over compute bound |",
             "| --- | ---: | ---: | ---: |"]
    for name, v in rows:
        lines.append(f"| {name} | {v:,.0f} | {v / bound:.2f} | {bound / v - 1:+.1%} |")
    kit, pub = rows[1][1], rows[3][1]
    lines += ["", f"Kit data path vs the published data path: **{kit / pub:.2f}×** the throughput "
                  f"(with rotation: {rows[2][1] / pub:.2f}×).", ""]
    variants = step_variants(args.steps, args.repeats, args.slow_variants, next(compute_bound(images)))
    ref = variants[0][1]
    lines += ["| training step, in-memory batch (CPU settings) | images/s | speed-up over eager |", "| --- | ---: | ---: |"]
    lines += [f"| {name} | {v:,.0f} | {v / ref:.2f}× |" for name, v in variants]
    noise = abs(ref / rows[0][1] - 1)  # the eager reference and the compute bound: the same step, the same batch
    lines += ["", "Every variant runs the same step on the compute bound's batch; each run measures them again, so "
                  "another machine shows its own answer (bfloat16 needs AVX512-BF16 or AMX hardware to pay off). "
                  f"The compute bound and the eager reference run the same computation and measured "
                  f"{rows[0][1]:,.0f} and {ref:,.0f} images/s here ({noise:.0%} apart). One pair understates the "
                  "noise: judge a ratio against the spread of this pair over several runs.", ""]
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
