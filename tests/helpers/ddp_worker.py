"""Run by tests/test_distributed.py under ``torchrun --nproc_per_node=2``: trains a tiny GAN (or
another loop) with the kit's unchanged loop and records, per process, every file the kit writes and a
digest of the final weights, so the test can check that rank 0 alone wrote and that the processes agree.
Kind ``resume``: trains, is stopped after epoch 1 and resumed, and lists where it differs from an
uninterrupted run."""
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


def train(kind, **extra):
    """The kit's loop for ``kind`` with tiny settings: its result and the model to compare across processes."""
    args = {**common, **extra}
    if kind == "dcgan":
        from mnist_gan_utils.training import train_dcgan
        r = train_dcgan(g_channels=8, d_channels=8, noise_dim=16, grid_size=16, **args)
        return r, r.generator
    if kind == "gan":
        from mnist_gan_utils.training import train_gan
        # self-conditioned: each process fits k-means on its shard, then all must take rank 0's clusters
        r = train_gan(g_channels=8, d_channels=8, noise_dim=16, grid_size=16, clusters=8,
                      mismatch=0.5, **args)
        return r, r.generator
    if kind == "cgan-wgan":
        from mnist_gan_utils.training import train_gan
        r = train_gan(g_channels=8, d_channels=8, noise_dim=16, grid_size=16,
                      conditional=True, clusters=0, loss="wgan-gp", n_critic=2, betas=(0.0, 0.9), **args)
        return r, r.generator
    if kind == "flow":
        from mnist_gan_utils.training import train_flow_matching
        r = train_flow_matching(channels=8, emb_dim=16, grid_size=10, steps=2, **args)
        return r, r.generator
    from mnist_gan_utils.training import train_classifier
    r = train_classifier(channels=8, **args)
    return r, r.classifier


def differences(a, b, where=""):
    """Where two checkpoints (nested dicts and lists of tensors and numbers) differ."""
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        return [d for k in a for d in differences(a[k], b[k], f"{where}/{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (u, v) in enumerate(zip(a, b)) for d in differences(u, v, f"{where}/{i}")]
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return [] if a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b) else [where]
    return [] if a == b else [where]


def resume_check():
    """The self-conditioned GAN (rank 0 alone draws grids and recalibrates its average), uninterrupted, then
    stopped after epoch 1 and resumed: every process must continue as if it had never stopped."""
    import mnist_gan_utils.training.distributed as distributed
    _, G_full = train("gan", run_dir=str(out / "full"))
    real_end_epoch = engine.Run.end_epoch

    def end_epoch(self, epoch):
        path = real_end_epoch(self, epoch)
        if epoch == 0:
            raise KeyboardInterrupt
        return path
    engine.Run.end_epoch = end_epoch
    try:
        train("gan", run_dir=str(out / "split"))
    except KeyboardInterrupt:
        pass
    engine.Run.end_epoch = real_end_epoch
    distributed.barrier()  # rank 0 has written the checkpoint the others resume from
    interrupted_epoch = checkpoints.load_checkpoint(out / "split" / "checkpoint.pt")["epoch"]
    _, G_resumed = train("gan", run_dir=str(out / "split"), resume=True)
    # Each process's weights (its BatchNorm statistics are its own shard's: rank 0's alone are saved) ...
    differs = [n for (n, a), b in zip(G_full.named_parameters(), G_resumed.parameters()) if not torch.equal(a, b)]
    # ... and rank 0's checkpoint: weights, statistics, optimisers, schedulers, generators, history
    if rank == 0:
        a, b = (checkpoints.load_checkpoint(out / run / "checkpoint.pt") for run in ("full", "split"))
        for ckpt in (a, b):
            del ckpt["config"]  # resume=True in one
            ckpt["history"].pop("seconds")
        differs += differences(a, b)
    return {"interrupted_epoch": interrupted_epoch, "differs": differs}


if kind == "resume":
    report = resume_check()
else:
    _, model = train(kind)
    # Parameters, and the self-conditioned G's cluster shares (each process fits k-means on its own shard, then
    # all take rank 0's); not the BatchNorm running statistics: per-process estimates (rank 0's are saved).
    tensors = list(model.parameters()) + [b for n, b in model.named_buffers() if n == "cluster_cdf"]
    digest = hashlib.sha256(b"".join(t.detach().cpu().numpy().tobytes() for t in tensors)).hexdigest()
    report = {"writes": writes, "digest": digest, "threads": torch.get_num_threads()}
(out / f"rank{rank}.json").write_text(json.dumps(report))
