"""What a velocity network costs on this machine: forward and training throughput of candidate U-Nets
(docs/experiments/flow_matching.md, "The network's cost").

    python benchmarks/flow_matching_networks.py

Rows: a U-Net that starts at 28x28 pixels, and U-Nets on 2x2 patches (14x14 -> 7x7 -> 14x14, the kit's
``VelocityUNet`` with ``channels=64``) at several widths, each with and without channels-last memory.
Run it alone: two jobs halve each other's speed.
"""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn

from mnist_gan_utils.models.flow_matching import NULL_LABEL, ResBlock, VelocityUNet, time_embedding
from mnist_gan_utils.training.engine import set_threads


class FromPixels(nn.Module):
    """The first candidate: blocks at 28x28 (c), 14x14 (2c) and 7x7 (2c), and back up with skips."""

    def __init__(self, c: int = 32, e: int = 128):
        super().__init__()
        self.emb_dim = e
        self.time_mlp = nn.Sequential(nn.Linear(e, e), nn.SiLU(), nn.Linear(e, e))
        self.label_emb = nn.Embedding(NULL_LABEL + 1, e)
        self.inp = nn.Conv2d(1, c, 3, padding=1)
        self.down1, self.down2, self.mid = ResBlock(c, c, e), ResBlock(c, 2 * c, e), ResBlock(2 * c, 2 * c, e)
        self.up2, self.up1 = ResBlock(4 * c, 2 * c, e), ResBlock(3 * c, c, e)
        self.out = nn.Sequential(nn.GroupNorm(8, c), nn.SiLU(), nn.Conv2d(c, 1, 3, padding=1))

    def forward(self, x, t, labels):
        emb = self.time_mlp(time_embedding(t, self.emb_dim)) + self.label_emb(labels)
        h1 = self.down1(self.inp(x), emb)
        h2 = self.down2(F.avg_pool2d(h1, 2), emb)
        h = self.mid(F.avg_pool2d(h2, 2), emb)
        h = self.up2(torch.cat([F.interpolate(h, scale_factor=2.0), h2], 1), emb)
        return self.out(self.up1(torch.cat([F.interpolate(h, scale_factor=2.0), h1], 1), emb))


def patches(c: int, c2: int) -> nn.Module:
    """The kit's VelocityUNet with its 7x7 blocks ``c2`` wide instead of ``2c``."""
    net = VelocityUNet(c)
    e = net.emb_dim
    net.mid1, net.mid2, net.up = ResBlock(c, c2, e), ResBlock(c2, c2, e), ResBlock(c2 + c, c, e)
    return net


def bench(net: nn.Module, name: str, channels_last: bool = False) -> None:
    params = sum(p.numel() for p in net.parameters())
    x, t, y = torch.randn(500, 1, 28, 28), torch.rand(500), torch.randint(0, NULL_LABEL + 1, (500,))
    if channels_last:
        net, x = net.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        net(x, t, y)
        t0 = time.perf_counter()
        net(x, t, y), net(x, t, y)
        forward = 1000 / (time.perf_counter() - t0)
    opt = torch.optim.Adam(net.parameters(), 1e-3)

    def step():
        loss = net(x[:128], t[:128], y[:128]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(), step()
    t0 = time.perf_counter()
    for _ in range(4):
        step()
    train = 512 / (time.perf_counter() - t0)
    print(f"| {name}{', channels-last' if channels_last else ''} | {params:,} | {forward:,.0f} | {train:,.0f} |",
          flush=True)


if __name__ == "__main__":
    set_threads()
    print("| network | parameters | forward, images/s | training, images/s |\n| --- | ---: | ---: | ---: |")
    for cl in (False, True):
        bench(FromPixels(32), "from 28x28 pixels, 32/64/64", cl)
        bench(VelocityUNet(64), "2x2 patches, 64/128 (the kit's)", cl)
        bench(patches(64, 96), "2x2 patches, 64/96", cl)
        bench(patches(48, 96), "2x2 patches, 48/96", cl)
