"""Trials of the plain DCGAN's recipe (docs/experiments/plain_dcgan.md): widths, epochs, weight averaging.

    python benchmarks/dcgan_trials.py --g-channels 32 --d-channels 64 --epochs 10 --ema 0.999

Trains the kit's ``Generator`` and ``Discriminator`` with ``dcgan_step`` (Adam 2e-4, betas (0.5, 0.999),
batches of 64, MNIST in [-1, 1]) and scores G every half epoch on 2,000 samples of fixed noise, by two
judges: a small MLP trained here (3 epochs, an *independent* classifier, the one recipe choices are made
on) and, for the record, the kit's classifier (recognised rate, rarest digit, Fréchet distance over its
real-data floor of 10,000 training vs test digits; 2,000 samples, so not comparable with the manifest's
10,000-sample ratio). ``--ema`` also scores an exponential moving average of G's weights. Prints one JSON
line per point and writes them to ``--out``. Run it alone: two jobs halve each other's speed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

from mnist_gan_utils import evaluation as ev
from mnist_gan_utils.checkpoints import load_pretrained
from mnist_gan_utils.data import load_mnist
from mnist_gan_utils.models import Discriminator, Generator
from mnist_gan_utils.training.averaging import averaged, update_ema
from mnist_gan_utils.training.dcgan import dcgan_step
from mnist_gan_utils.training.engine import set_threads


def independent_judge(x, y, seed: int = 123) -> nn.Module:
    """An MLP classifier, 3 epochs on the training digits: a judge the kit's models never trained against."""
    torch.manual_seed(seed)
    judge = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    opt = torch.optim.Adam(judge.parameters(), 1e-3)
    xf = x.float().div(255).unsqueeze(1)
    for _ in range(3):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            idx = perm[i:i + 128]
            loss = F.cross_entropy(judge(xf[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return judge.eval()


def four_block_pair(g_hidden: int = 64, d_hidden: int = 16):
    """The four-block DCGAN of the deeplearning.ai GAN course (noise 64 -> 3x3 -> 6x6 -> 13x13 -> 28x28;
    a three-convolution D), for comparison with the kit's three-block shape."""
    def g_block(i, o, k, s, last=False):
        if last:
            return [nn.ConvTranspose2d(i, o, k, s), nn.Tanh()]
        return [nn.ConvTranspose2d(i, o, k, s), nn.BatchNorm2d(o), nn.ReLU(True)]

    def d_block(i, o, last=False):
        if last:
            return [nn.Conv2d(i, o, 4, 2)]
        return [nn.Conv2d(i, o, 4, 2), nn.BatchNorm2d(o), nn.LeakyReLU(0.2, True)]

    h = g_hidden
    G = nn.Sequential(nn.Unflatten(1, (64, 1, 1)), *g_block(64, 4 * h, 3, 2), *g_block(4 * h, 2 * h, 4, 1),
                      *g_block(2 * h, h, 3, 2), *g_block(h, 1, 4, 2, last=True))
    d = d_hidden
    D = nn.Sequential(*d_block(1, d), *d_block(d, 2 * d), *d_block(2 * d, 1, last=True), nn.Flatten(0))
    return G, D


def course_step(G, D, opt_G, opt_D, real, z) -> dict:
    """The deeplearning.ai notebook's update: D's loss is the mean of its two terms, and G's update draws
    fresh fakes (``torch.randn_like(z)``) rather than reusing the ones D was just trained on."""
    fake = G(z)
    opt_D.zero_grad(set_to_none=True)
    d_real, d_fake = D(real), D(fake.detach())
    loss_D = (F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
              + F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))) / 2
    loss_D.backward()
    opt_D.step()
    opt_G.zero_grad(set_to_none=True)
    d_gen = D(G(torch.randn_like(z)))
    loss_G = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))
    loss_G.backward()
    opt_G.step()
    return {"loss_D": loss_D.item(), "loss_G": loss_G.item(),
            "D_x": torch.sigmoid(d_real).mean().item(), "D_G_z": torch.sigmoid(d_fake).mean().item()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--g-channels", type=int, default=32)
    ap.add_argument("--d-channels", type=int, default=64)
    ap.add_argument("--epochs", type=float, default=10)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--betas", type=float, nargs=2, default=(0.5, 0.999))
    ap.add_argument("--ema", type=float, default=0.0, help="also score an EMA of G's weights with this decay")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--four-block", action="store_true", help="the deeplearning.ai course's four-block pair")
    ap.add_argument("--four-block-g", action="store_true", help="its four-block G (64 wide) against the kit's D")
    ap.add_argument("--dcgan-init", action="store_true", help="weights N(0, 0.02), BatchNorm scales N(1, 0.02)")
    ap.add_argument("--bn-init-mean", type=float, default=1.0,
                    help="with --dcgan-init: the mean of BatchNorm's scales (the course's notebook draws them from N(0, 0.02))")
    ap.add_argument("--course-step", action="store_true",
                    help="the course's step: D's loss halved, fresh noise for G's update (instead of dcgan_step)")
    ap.add_argument("--out", default="dcgan_trials.jsonl")
    a = ap.parse_args(argv)
    set_threads()
    x, y = load_mnist("train")
    x_test, y_test = load_mnist("test")
    judge = independent_judge(x, y)
    C = load_pretrained("classifier")
    f_test = ev.features(C, x_test)
    floor = ev.frechet_distance_features(ev.features(C, x[:10_000]), f_test)
    z_fixed = torch.randn(2000, 64, generator=torch.Generator().manual_seed(1))

    @torch.no_grad()
    def score(G) -> dict:
        G.eval()
        images = (G(z_fixed) + 1) / 2
        G.train()
        p_kit = ev.predict_proba(C, images)
        hist = ev.class_histogram(p_kit)
        return {"judge_recognised": (F.softmax(judge(images), 1).max(1).values >= 0.9).float().mean().item(),
                "kit_recognised": ev.recognised_rate(p_kit), "rarest_digit": hist.min().item(),
                "frechet_ratio": ev.frechet_distance_features(ev.features(C, images), f_test) / floor}

    torch.manual_seed(a.seed)
    if a.four_block:
        G, D = four_block_pair(a.g_channels, a.d_channels)
    elif a.four_block_g:
        G, D = four_block_pair(64)[0], Discriminator(a.d_channels)
    else:
        G, D = Generator(64, a.g_channels), Discriminator(a.d_channels)
    if a.dcgan_init:
        for m in [*G.modules(), *D.modules()]:
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, 0.0, 0.02)
            if isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, a.bn_init_mean, 0.02)
                nn.init.zeros_(m.bias)
    opt_G = torch.optim.Adam(G.parameters(), a.lr, betas=tuple(a.betas))
    opt_D = torch.optim.Adam(D.parameters(), a.lr, betas=tuple(a.betas))
    G_ema = averaged(G, a.ema, 2.0) if a.ema else None
    data = x.float().div(127.5).sub(1).unsqueeze(1)
    steps = len(x) // a.batch_size
    g = torch.Generator().manual_seed(a.seed)
    step = course_step if a.course_step else dcgan_step
    done, seconds, rows = 0, 0.0, []
    with open(a.out, "w") as out:
        while done < a.epochs * steps:
            perm = torch.randperm(len(x), generator=g)
            for i in range(steps):
                if done >= a.epochs * steps:
                    break
                t0 = time.perf_counter()
                real = data[perm[i * a.batch_size:(i + 1) * a.batch_size]]
                stats = step(G, D, opt_G, opt_D, real, torch.randn(a.batch_size, 64, generator=g))
                if G_ema is not None:
                    update_ema(G_ema, G)
                seconds += time.perf_counter() - t0
                done += 1
                if done % (steps // 2) == 0:
                    row = {"epoch": round(done / steps, 2), "seconds": round(seconds), **stats, "G": score(G)}
                    if G_ema is not None:
                        row["EMA"] = score(G_ema.module)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                    out.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
