"""Issue 34: the published MNIST GAN's pair against the kit's DCGAN, and which difference carries the gain.

    python benchmarks/dcgan_ablation.py --variant published --seed 0 --epochs 6 --eval-at 4 6 --out results.jsonl

Each run: dcgan_step over MNISTBatches ([-1, 1], no rotation), Adam(2e-4, (0.5, 0.999)), seeded as
train_dcgan seeds; after the epochs in --eval-at, 10,000 samples (noise seed 1) measured by the kit's
classifier (recognised at p >= 0.9, class fractions, blends, Fréchet on its features over the floor of
10,000 training vs 10,000 test digits) and by the second judge (mlp_classifier). Seconds exclude evaluation.
"""
import argparse
import json
import time

import torch
from torch import nn

from mnist_gan_utils import evaluation as ev
from mnist_gan_utils.checkpoints import load_pretrained
from mnist_gan_utils.data import MNISTBatches, load_mnist
from mnist_gan_utils.training.dcgan import dcgan_step
from mnist_gan_utils.training.engine import epoch_generator, seed_everything, set_threads


class KitG(nn.Module):
    """The kit's G before issue 34: three transposed convolutions, 1 -> 7 -> 14 -> 28, no biases."""
    def __init__(self, noise_dim=64, c=32):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(noise_dim, 4 * c, 7, 1, 0, bias=False), nn.BatchNorm2d(4 * c), nn.ReLU(True),
            nn.ConvTranspose2d(4 * c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.ReLU(True),
            nn.ConvTranspose2d(2 * c, 1, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, z):
        return self.net(z.view(z.shape[0], -1, 1, 1))


class KitD(nn.Module):
    """The kit's D before issue 34: 28 -> 14 -> 7, a 7x7 convolution to the logit, BatchNorm in the middle."""
    def __init__(self, c=64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, c, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
            nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * c, 1, 7, 1, 0, bias=False))

    def forward(self, x):
        return self.net(x).view(-1)


class PubG(nn.Module):
    def __init__(self, noise_dim=64, c=64):
        super().__init__()
        self.noise_dim = noise_dim
        self.net = nn.Sequential(
            nn.ConvTranspose2d(noise_dim, 4 * c, 3, 2), nn.BatchNorm2d(4 * c), nn.ReLU(True),   # 3x3
            nn.ConvTranspose2d(4 * c, 2 * c, 4, 1), nn.BatchNorm2d(2 * c), nn.ReLU(True),       # 6x6
            nn.ConvTranspose2d(2 * c, c, 3, 2), nn.BatchNorm2d(c), nn.ReLU(True),               # 13x13
            nn.ConvTranspose2d(c, 1, 4, 2), nn.Tanh())                                          # 28x28

    def forward(self, z):
        return self.net(z.view(z.shape[0], -1, 1, 1))


class PubD(nn.Module):
    def __init__(self, c=16, first_bn=True, linear_head=True):
        super().__init__()
        layers = [nn.Conv2d(1, c, 3, 2), *([nn.BatchNorm2d(c)] if first_bn else []), nn.LeakyReLU(0.2, True),  # 13
                  nn.Conv2d(c, 2 * c, 5, 2), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2, True)]                   # 5
        if linear_head:
            layers += [nn.Conv2d(2 * c, 4 * c, 5, 2), nn.BatchNorm2d(4 * c), nn.LeakyReLU(0.2, True),         # 1
                       nn.Flatten(), nn.Linear(4 * c, 1)]
        else:
            layers += [nn.Conv2d(2 * c, 1, 5, 1), nn.Flatten()]                                              # 1
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x).view(-1)


VARIANTS = {
    "published": lambda: (PubG(), PubD(), 128),
    "batch64": lambda: (PubG(), PubD(), 64),
    "kitG": lambda: (KitG(64, 32), PubD(), 128),            # the kit's 3-block G, 32 wide
    "kitD": lambda: (PubG(), KitD(64), 128),                # the kit's D (64 wide, no BN first, 7x7 conv head)
    "wideD": lambda: (PubG(), PubD(c=32), 128),             # D twice as wide
    "noBN1": lambda: (PubG(), PubD(first_bn=False), 128),   # no BatchNorm on D's first layer
    "convhead": lambda: (PubG(), PubD(linear_head=False), 128),  # a 5x5 conv to the logit, no third block
    "kit": lambda: (KitG(64, 32), KitD(64), 64),            # today's generator.pth recipe
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", required=True, choices=VARIANTS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--eval-at", type=int, nargs="+", default=[6])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    set_threads()
    seed_everything(a.seed)
    G, D, batch = VARIANTS[a.variant]()
    C, C2 = load_pretrained("classifier"), load_pretrained("mlp_classifier")
    test, train = load_mnist("test")[0][:a.n], load_mnist("train")[0][:a.n]
    f_test = ev.features(C, test)
    opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    batches = MNISTBatches(*load_mnist("train"), batch, value_range=(-1, 1), seed=a.seed)
    seconds = 0.0
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        G.train(), D.train()
        rng = epoch_generator(a.seed, epoch)
        for real, _ in batches.epoch(epoch):
            dcgan_step(G, D, opt_G, opt_D, real, torch.randn(real.shape[0], 64, generator=rng))
        seconds += time.perf_counter() - t0
        if epoch + 1 in a.eval_at:
            images = ev.sample(G, a.n, seed=1)
            m = ev.evaluate_images(C, images, test, train, real_test_features=f_test)
            row = {"variant": a.variant, "seed": a.seed, "epoch": epoch + 1, "batch": batch,
                   "seconds": round(seconds, 1), "threads": torch.get_num_threads(),
                   "G_params": sum(p.numel() for p in G.parameters()),
                   "D_params": sum(p.numel() for p in D.parameters()),
                   "judge_recognised_rate": ev.recognised_rate(ev.predict_proba(C2, images)),
                   **{k: m[k] for k in ("recognised_rate", "blend_rate", "min_class_fraction", "max_class_fraction",
                                        "frechet_ratio", "class_fractions")}}
            print(json.dumps(row), flush=True)
            with open(a.out, "a") as f:
                f.write(json.dumps(row) + "\n")
            torch.save({"G": G.state_dict(), "D": D.state_dict()}, f"{a.out}.{a.variant}.{a.seed}.pt")


if __name__ == "__main__":
    main()
