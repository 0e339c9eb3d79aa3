"""Where a self-conditioned generator's unrecognised digits come from: a diagnosis per cluster.

    python benchmarks/generator_clusters.py                          # models/self_conditioned_generator.pth
    python benchmarks/generator_clusters.py --generator run/G.pth    # any Generator state dict (same config)

It draws the manifest's 10,000 samples (``evaluation.sample(G, 10_000, seed=1)``), asks the kit's
classifier which are recognised (top class probability >= 0.9), and groups them by the cluster their first
noise number picked (``G.code``). For the worst clusters it also shows what the cluster *is*: the labels of
its real members (the k-means fit of ``training.gan`` is re-run; labels are read here to describe the
clusters, never by training) and a grid of samples above real members. It then splits the Fréchet distance:
the recognised samples alone, and per digit (samples by predicted class against that digit's test digits,
beside a floor of as many training digits of it), measures how varied the samples of one cluster are
against its real members, and what that collapse alone costs: the Fréchet distance of *real* digits drawn
as a collapsed generator would (only *m* per cluster). Writes ``docs/generator_clusters.md`` and
``docs/generator_clusters.png``.

This is a measurement, not a recipe: nothing here feeds back into training (never tune a generator
against the kit's own classifier).
"""
from __future__ import annotations

import argparse
import platform
import sys
import time

import torch
import torchvision.utils as vutils

from mnist_gan_utils import evaluation as ev
from mnist_gan_utils.checkpoints import load_pretrained, load_state_dict
from mnist_gan_utils.clusters import fit_clusters
from mnist_gan_utils.data import load_mnist
from mnist_gan_utils.paths import REPO_ROOT
from mnist_gan_utils.training.engine import set_threads

N_SAMPLES, SEED, WORST, SHOWN = 10_000, 1, 10, 12


@torch.no_grad()
def per_cluster(G, classifier, n: int = N_SAMPLES, seed: int = SEED):
    """``(counts (k,), recognised (k,), overall recognised rate, images, probs)`` of ``n`` samples, by
    cluster drawn."""
    z = torch.randn(n, G.noise_dim, generator=torch.Generator().manual_seed(seed))
    codes = G.code(z)
    images = ev.sample(G, n, z=z)
    probs = ev.predict_proba(classifier, images)
    rec = (probs.max(1).values >= ev.RECOGNISED_THRESHOLD).float()
    counts = torch.bincount(codes, minlength=G.clusters).float()
    return counts, torch.bincount(codes, weights=rec, minlength=G.clusters), rec.mean().item(), images, probs


@torch.no_grad()
def frechet_parts(classifier, f_fake, probs, x_train, y_train, x_test,
                  y_test) -> tuple[list[str], torch.Tensor, float]:
    """Markdown lines: the Fréchet distance of all samples (their classifier features ``f_fake``), of the
    recognised ones alone, and per digit; also the test digits' features and the floor, for reuse."""
    f_test = ev.features(classifier, x_test)
    rec = probs.max(1).values >= ev.RECOGNISED_THRESHOLD
    pred = probs.argmax(1)
    whole = ev.frechet_distance_features(f_fake, f_test)
    floor = ev.frechet_distance_features(ev.features(classifier, x_train[:len(x_test)]), f_test)
    lines = [
        f"- Fréchet distance on the classifier's features, against the {len(x_test):,} test digits: all samples "
        f"**{whole:.2f}** ({whole / floor:.1f}× the floor {floor:.3f}); the {int(rec.sum()):,} recognised samples "
        f"alone **{ev.frechet_distance_features(f_fake[rec], f_test):.2f}**; the squared distance of the means "
        f"{(f_fake.mean(0) - f_test.mean(0)).pow(2).sum():.2f} of it.",
        "",
        "| digit (predicted) | samples | Fréchet distance to its test digits | floor: as many training digits | ratio |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for d in range(10):
        mine, real = f_fake[pred == d], f_test[y_test == d]
        n = len(mine)
        train_d = x_train[y_train == d][:n]
        fd = ev.frechet_distance_features(mine, real)
        fl = ev.frechet_distance_features(ev.features(classifier, train_d), real)
        lines.append(f"| {d} | {n:,} | {fd:.2f} | {fl:.2f} | {fd / fl:.1f}× |")
    return lines, f_test, floor


@torch.no_grad()
def within_cluster_variety(G, classifier, assignments, x, images, f_fake, n: int = 200) -> list[str]:
    """Markdown lines: how varied G's samples *of one cluster* are against that cluster's real members.
    Per cluster, ``n`` samples and up to ``n`` members: the mean per-pixel standard deviation and the total
    variance of the classifier's features, as ratios fake / real; then the same over all samples. A ratio far
    below 1 inside clusters with ~1 over all is a mode collapse the clusters hide: G draws about one digit
    per cluster, and the many clusters make the whole look varied. ``images`` and ``f_fake``: the samples
    of :func:`per_cluster` and their classifier features, for the whole-sample row."""
    pixel, feature = [], []
    for c in range(G.clusters):
        members = (assignments == c).nonzero()[:, 0][:n]
        if len(members) < 2:
            continue
        real = x[members].float().div(255)[:, None]
        z = torch.randn(n, G.noise_dim, generator=torch.Generator().manual_seed(1000 + c))
        fake = ev.to_unit(G(z, torch.full((n,), c)), G)
        pixel.append((fake.std(0).mean() / real.std(0).mean()).item())
        feature.append((ev.features(classifier, fake).var(0).sum()
                        / ev.features(classifier, real).var(0).sum()).item())
    qs = torch.tensor([0.1, 0.5, 0.9])
    pq, fq = torch.quantile(torch.tensor(pixel), qs).tolist(), torch.quantile(torch.tensor(feature), qs).tolist()
    real = x[:len(images)].float().div(255)[:, None]
    whole_p = (images.std(0).mean() / real.std(0).mean()).item()
    whole_f = (f_fake.var(0).sum() / ev.features(classifier, real).var(0).sum()).item()
    return [
        f"Per cluster, {n} samples of it against up to {n} of its real members (ratio fake / real; 10th, 50th "
        f"and 90th percentile over the {len(pixel)} clusters), then all {len(images):,} samples against as many "
        f"training digits:",
        "",
        "| | pixel standard deviation | variance of the classifier's features |",
        "| --- | ---: | ---: |",
        f"| within a cluster | {pq[0]:.2f} / {pq[1]:.2f} / {pq[2]:.2f} | {fq[0]:.2f} / {fq[1]:.2f} / {fq[2]:.2f} |",
        f"| all samples | {whole_p:.2f} | {whole_f:.2f} |",
    ]


@torch.no_grad()
def collapse_oracle(classifier, fitted, x, f_test, floor: float, n: int = N_SAMPLES, seed: int = SEED,
                    sizes=(1, 3, 10, 30)) -> list[str]:
    """Markdown lines: the Fréchet distance of a "generator" that draws only ``m`` fixed *real* training
    digits per cluster (each cluster as often as G draws it, one of its ``m`` digits at random), for each
    ``m`` of ``sizes``. Perfect digits, collapsed inside each cluster: how far the collapse alone keeps a
    sample from the floor."""
    g = torch.Generator().manual_seed(seed)
    codes = torch.multinomial(fitted.prior, n, replacement=True, generator=g)
    members = [(fitted.assignments == c).nonzero()[:, 0] for c in range(fitted.k)]  # once, not per m
    rows = []
    for m in sizes:
        pools = [p[:m] for p in members]
        picks = torch.stack([pools[c][torch.randint(len(pools[c]), (1,), generator=g)][0] for c in codes.tolist()])
        fd = ev.frechet_distance_features(ev.features(classifier, x[picks].float().div(255)[:, None]), f_test)
        rows.append(f"| {m} | {fd:.2f} | {fd / floor:.1f}× |")
    return [
        f"{n:,} real training digits, drawn as a collapsed generator would: each sample's cluster as often as in "
        f"the training set, then one of the first *m* members of that cluster (perfect digits, *m* per cluster), "
        f"against the test digits:",
        "",
        "| real digits per cluster (*m*) | Fréchet distance | / floor |",
        "| ---: | ---: | ---: |",
        *rows,
    ]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--generator", help="a Generator state dict (default: models/self_conditioned_generator.pth)")
    parser.add_argument("--seed", type=int, default=0,
                        help="the training run's seed: its k-means fit is re-run to show each cluster's real members")
    parser.add_argument("--out", default=str(REPO_ROOT / "docs" / "generator_clusters"),
                        help="path without extension for the .md and .png")
    args = parser.parse_args(argv)
    set_threads()
    G = load_pretrained("self_conditioned_generator").eval()
    if args.generator:
        load_state_dict(G, args.generator)
    if not G.clusters:
        raise SystemExit("this Generator has no clusters (clusters=0): there is nothing to diagnose per cluster")
    classifier = load_pretrained("classifier").eval()
    start = time.perf_counter()
    counts, recognised, overall, images, probs = per_cluster(G, classifier)
    rate = recognised / counts.clamp(min=1)
    missed = counts - recognised
    worst = rate.argsort()[:WORST]

    x, y = load_mnist("train")
    fitted = fit_clusters(x, G.clusters, seed=args.seed)  # train_gan's fit for that seed (0: the committed one)
    if not torch.allclose(fitted.prior, G.cluster_cdf.diff(prepend=G.cluster_cdf.new_zeros(1)), atol=1e-6):
        print("warning: this k-means fit does not match the generator's cluster sizes (pass the run's --seed); "
              "the real members shown may belong to other clusters", file=sys.stderr)
    rows, table = [], []
    for c in worst.tolist():
        members = (fitted.assignments == c).nonzero()[:, 0]
        labels = torch.bincount(y[members].long(), minlength=10)
        top = labels.argsort(descending=True)[:3].tolist()
        mix = ", ".join(f"{d}: {labels[d] / max(len(members), 1):.0%}" for d in top if labels[d])
        table.append(f"| {c} | {int(counts[c])} | {rate[c]:.0%} | {missed[c] / missed.sum():.1%} | {len(members)} | {mix} |")
        codes = torch.full((SHOWN,), c)
        z = torch.randn(SHOWN, G.noise_dim, generator=torch.Generator().manual_seed(c))
        with torch.no_grad():
            rows += [ev.to_unit(G(z, codes), G), x[members[:SHOWN]].float().div(255)[:, None]]
    vutils.save_image(torch.cat(rows), args.out + ".png", nrow=SHOWN, pad_value=0.5)
    x_test, y_test = load_mnist("test")
    f_fake = ev.features(classifier, images)  # the samples' features, shared by both splits below
    fd_lines, f_test, floor = frechet_parts(classifier, f_fake, probs, x, y, x_test, y_test)
    variety_lines = within_cluster_variety(G, classifier, fitted.assignments, x, images, f_fake)
    q = torch.quantile(rate, torch.tensor([0.1, 0.25, 0.5])).tolist()
    lines = [
        "# Where the generator's unrecognised digits come from",
        "",
        f"`python benchmarks/generator_clusters.py{' --generator ' + args.generator if args.generator else ''}"
        f"{' --seed %d' % args.seed if args.seed else ''}` "
        f"on {platform.machine()}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')} ({time.perf_counter() - start:.0f} s). "
        f"{N_SAMPLES:,} samples as in the manifest (seed {SEED}); recognised = top class probability >= 0.9 by the "
        f"kit's classifier; samples grouped by the cluster their first noise number drew. The real members' labels "
        f"describe the clusters only (training never reads them).",
        "",
        f"- Recognised overall: **{overall:.1%}**; {G.clusters} clusters; per-cluster recognised rate at the 10th, "
        f"25th and 50th percentiles: {q[0]:.0%}, {q[1]:.0%}, {q[2]:.0%}.",
        f"- The {WORST} worst clusters hold {counts[worst].sum() / counts.sum():.1%} of the samples and "
        f"**{missed[worst].sum() / missed.sum():.0%} of the unrecognised ones**.",
        "",
        "| cluster | samples | recognised | share of all unrecognised | real members | their labels (top 3) |",
        "| ---: | ---: | ---: | ---: | ---: | --- |",
        *table,
        "",
        f"![worst clusters]({args.out.rsplit('/', 1)[-1]}.png)",
        "",
        f"Rows in pairs, worst cluster first: {SHOWN} samples G draws for the cluster, then {SHOWN} of its real members.",
        "",
        "## Where the Fréchet distance comes from",
        "",
        *fd_lines,
        "",
        "## How varied the samples of one cluster are",
        "",
        *variety_lines,
        "",
        "## What the collapse alone costs",
        "",
        *collapse_oracle(classifier, fitted, x, f_test, floor),
        "",
    ]
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
