"""Run by tests/test_distributed.py under ``torchrun --nproc_per_node=2``: trains a tiny GAN (or
another loop) with the kit's unchanged loop and records, per process, every file the kit writes and a
digest of the final weights, so the test can check that rank 0 alone wrote and that the processes agree."""
import hashlib
import json
import os
import sys
from pathlib import Path

import torch

import mnist_gan_utils.checkpoints as checkpoints
import mnist_gan_utils.plotting as plotting
from mnist_gan_utils.data import load_mnist

out, kind = Path(sys.argv[1]), sys.argv[2]
rank = int(os.environ["RANK"])
writes = []


def spy(fn):
    def wrapper(obj, path, *a, **k):
        writes.append(str(path))
        return fn(obj, path, *a, **k)
    return wrapper


checkpoints.save_checkpoint = spy(checkpoints.save_checkpoint)
plotting.save_grid = spy(plotting.save_grid)
import mnist_gan_utils.training.engine as engine  # noqa: E402  (after the spies: it imports save_checkpoint)
engine.save_checkpoint = checkpoints.save_checkpoint

x, y = load_mnist("train")
common = dict(epochs=2, batch_size=32, train_size=256, max_steps_per_epoch=3, run_dir=str(out / "run"),
              device="cpu", progress=False, data=(x, y))
if kind == "dcgan":
    from mnist_gan_utils.training import train_dcgan
    r = train_dcgan(g_channels=8, d_channels=8, noise_dim=16, grid_size=16, **common)
    model = r.generator
elif kind == "gan":
    from mnist_gan_utils.training import train_gan
    # self-conditioned: each process fits k-means on its shard, then all must take rank 0's clusters
    r = train_gan(g_channels=8, d_channels=8, noise_dim=16, grid_size=16, monitor_classes=False, clusters=8,
                  mismatch=0.5, **common)
    model = r.generator
elif kind == "cgan-wgan":
    from mnist_gan_utils.training import train_gan
    r = train_gan(g_channels=8, d_channels=8, noise_dim=16, grid_size=16, monitor_classes=False, conditional=True,
                  clusters=0, loss="wgan-gp", n_critic=2, betas=(0.0, 0.9), **common)
    model = r.generator
elif kind == "flow":
    from mnist_gan_utils.training import train_flow_matching
    model = train_flow_matching(channels=8, emb_dim=16, grid_size=10, steps=2, **common).generator
else:
    from mnist_gan_utils.training import train_classifier
    model = train_classifier(channels=8, **common).classifier

# Parameters, and the self-conditioned G's cluster shares (each process fits k-means on its own shard, then
# all take rank 0's); not the BatchNorm running statistics: per-process estimates (rank 0's are saved), as usual.
tensors = list(model.parameters()) + [b for n, b in model.named_buffers() if n == "cluster_cdf"]
digest = hashlib.sha256(b"".join(t.detach().cpu().numpy().tobytes() for t in tensors)).hexdigest()
(out / f"rank{rank}.json").write_text(json.dumps({"writes": writes, "digest": digest,
                                                  "threads": torch.get_num_threads()}))
