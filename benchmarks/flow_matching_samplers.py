"""Can the sampler alone bring the flow-matching model's Fréchet ratio down at the same cost? Tried on 10,000 digits.

    python benchmarks/flow_matching_samplers.py            # 10,000 digits a row, about 15 minutes
    python benchmarks/flow_matching_samplers.py --n 2000   # quicker; Fréchet ratios then compare within the run only
    python benchmarks/flow_matching_samplers.py --weights outputs/x.pth   # other weights of the same network

``models/flow_matching.pth`` draws with 2 midpoint steps and guidance 1.5 (4 network evaluations, each on a
doubled batch). Rows at about that cost: 4 Euler steps; no guidance at the first evaluation (``t = 0``,
where the sample is pure noise: guidance applied in a limited interval, Kynkäänniemi et al., 2024); the
intermediate time moved off 0.5; and 4 and 8 midpoint steps (twice and four times the cost) as the reference
of a finer solver: 8 steps follow the network's path closely, so their ratio is about the best these
weights can reach with any sampler at that guidance.
Each row: label accuracy, recognised rate and the Fréchet ratio (distance over the floor of as many
training digits against the test digits) by the kit's classifier (its penultimate features) and by the
second judge (``models/mlp_classifier.pth``: its last hidden layer). Results: docs/experiments/flow_matching.md.
Run it alone: two jobs halve each other's speed.
"""
from __future__ import annotations

import argparse
import sys
import time

import torch

from mnist_gan_utils import evaluation as ev
from mnist_gan_utils.checkpoints import load_pretrained, load_state_dict
from mnist_gan_utils.data import load_mnist
from mnist_gan_utils.models.classifier import MNIST_MEAN, MNIST_STD
from mnist_gan_utils.models.flow_matching import euler_step, guided_velocity, midpoint_step
from mnist_gan_utils.sampling import balanced_labels
from mnist_gan_utils.training.engine import set_threads

# name -> (times from noise to digit, solver, guidance as a function of t)
SAMPLERS = {
    "midpoint 2, guidance 1.5 (the default)": ([0, .5, 1], midpoint_step, lambda t: 1.5),
    "Euler 4, guidance 1.5": ([0, .25, .5, .75, 1], euler_step, lambda t: 1.5),
    "midpoint 2, guidance 1.5, none at t = 0": ([0, .5, 1], midpoint_step, lambda t: 1.0 if t < .2 else 1.5),
    "midpoint 2, guidance 2, none at t = 0": ([0, .5, 1], midpoint_step, lambda t: 1.0 if t < .2 else 2.0),
    "midpoint 2, guidance 1.5, times 0, 0.4, 1": ([0, .4, 1], midpoint_step, lambda t: 1.5),
    "midpoint 2, guidance 1.5, times 0, 0.6, 1": ([0, .6, 1], midpoint_step, lambda t: 1.5),
    "midpoint 4, guidance 1.5 (twice the cost)": ([0, .25, .5, .75, 1], midpoint_step, lambda t: 1.5),
    "midpoint 8, guidance 1.5 (four times: near the path itself)": ([k / 8 for k in range(9)], midpoint_step,
                                                                     lambda t: 1.5),
}


@torch.no_grad()
def draw(net, z, labels, times, step, guidance, batch: int = 1000) -> torch.Tensor:
    """Digits in [0, 1] from noise ``z (N, 784)`` along ``times`` (guidance 1: the label's velocity alone)."""
    out = []
    for i in range(0, z.shape[0], batch):
        x = z[i:i + batch].reshape(-1, 1, 28, 28).contiguous(memory_format=torch.channels_last)
        y = labels[i:i + batch]
        velocity = lambda x, t: guided_velocity(net, x, torch.full((x.shape[0],), t), y, guidance(t))  # noqa: E731
        for a, b in zip(times[:-1], times[1:]):
            x = step(velocity, x, a, b - a)
        out.append(((x.clamp(-1, 1) + 1) / 2).contiguous())
    return torch.cat(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--weights", help="a FlowMatchingGenerator state dict to try instead of models/flow_matching.pth")
    ap.add_argument("--rows", type=int, nargs="+", help="only these rows of SAMPLERS (0: the default)")
    a = ap.parse_args(argv)
    if a.rows and not all(0 <= i < len(SAMPLERS) for i in a.rows):
        ap.error(f"--rows takes numbers 0 to {len(SAMPLERS) - 1}: " + "; ".join(f"{i} {name}" for i, name in enumerate(SAMPLERS)))
    n = a.n
    set_threads()
    G = load_pretrained("flow_matching")
    if a.weights:
        load_state_dict(G, a.weights)
    net = G.net.eval().to(memory_format=torch.channels_last)
    C, M = load_pretrained("classifier"), load_pretrained("mlp_classifier")

    def judges(images):  # (features, probabilities) by each classifier
        with torch.no_grad():
            fc = ev.features(C, images)
            fm = torch.cat([M.net[:-1]((images[i:i + 1000].float() / (255 if images.dtype == torch.uint8 else 1)
                                        ).reshape(-1, 1, 28, 28).sub(MNIST_MEAN).div(MNIST_STD))
                            for i in range(0, images.shape[0], 1000)])
            return {"kit": (fc, torch.softmax(C.head(fc), 1)), "second": (fm, torch.softmax(M.net[-1](fm), 1))}

    test, train = judges(load_mnist("test")[0]), judges(load_mnist("train")[0][:n])
    floors = {k: ev.frechet_distance_features(test[k][0], train[k][0]) for k in test}
    z, labels = torch.randn(n, 784, generator=torch.Generator().manual_seed(1)), balanced_labels(n)
    print(f"{n:,} digits a row; Fréchet floors: kit {floors['kit']:.4f}, second judge {floors['second']:.4f}\n")
    print("| sampler | seconds | kit: label accuracy | recognised | Fréchet (x floor) | second judge: label accuracy "
          "| recognised | Fréchet (x floor) |\n|---|---:|---:|---:|---:|---:|---:|---:|")
    rows = [list(SAMPLERS)[i] for i in a.rows] if a.rows else list(SAMPLERS)
    for name in rows:
        times, step, guidance = SAMPLERS[name]
        t0 = time.perf_counter()
        images = draw(net, z, labels, times, step, guidance)
        seconds, cells = time.perf_counter() - t0, []
        for k, (f, p) in judges(images).items():
            cells += [f"{(p.argmax(1) == labels).float().mean().item():.2%}", f"{ev.recognised_rate(p):.2%}",
                      f"{ev.frechet_distance_features(test[k][0], f) / floors[k]:.2f}"]
        print(f"| {name} | {seconds:.0f} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
