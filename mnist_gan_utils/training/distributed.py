"""Data-parallel training under ``torchrun``, with nothing to change in the loops.

    torchrun --nproc_per_node=4 -m mnist_gan_utils train gan          # 4 GPUs (or 4 CPU processes)
    torchrun --nnodes=2 --node_rank=0 --master_addr=HOST --nproc_per_node=8 -m mnist_gan_utils train gan

``torchrun`` sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; :func:`setup` then joins the process group
(NCCL on CUDA, gloo on the CPU), each process trains on its own shard of the data (:func:`shard`), the
networks are wrapped in ``DistributedDataParallel`` (:func:`wrap`: gradients are averaged across processes
at each step, so every process holds the same weights), and only rank 0 (:func:`is_main`) writes the
checkpoint, the sample grids and the progress bar. Without ``torchrun`` every function here is a no-op.
"""
from __future__ import annotations

import atexit
import os

import torch
from torch import nn


def _dist():
    return torch.distributed if torch.distributed.is_available() else None


def world_size() -> int:
    d = _dist()
    if d is not None and d.is_initialized():
        return d.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    d = _dist()
    if d is not None and d.is_initialized():
        return d.get_rank()
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    """True in the one process that writes files (rank 0), and when not distributed."""
    return rank() == 0


def local_world_size() -> int:
    return int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1")))


def setup(device: torch.device) -> torch.device:
    """Join the process group when launched by ``torchrun`` (once per process) and return this process's
    device: ``cuda:LOCAL_RANK`` on a multi-GPU machine, otherwise ``device`` unchanged."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return device
    d = _dist()
    if d is None:
        raise RuntimeError("WORLD_SIZE > 1 but this PyTorch build has no torch.distributed; run without torchrun")
    if device.type == "mps":
        raise ValueError("distributed training needs CUDA (NCCL) or the CPU (gloo); MPS has no backend: "
                         "pass device='cpu' or run without torchrun")
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not d.is_initialized():
        d.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        # a process that exits while another still uses the group can abort ("terminate called without an
        # active exception") as gloo's threads are torn down: at exit, wait for all, then close the group
        atexit.register(_close_group)
    return device


def _close_group() -> None:
    """At exit: wait for every process (rank 0 may still be writing its last checkpoint), then close."""
    d = _dist()
    if d is not None and d.is_initialized():
        try:
            d.barrier()
        finally:
            d.destroy_process_group()


def shard(images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """This process's share of the training data: every ``world_size``-th example from ``rank`` on, so the
    shards are disjoint and together cover the data (one epoch = one pass over the data in all)."""
    n = world_size()
    if n <= 1:
        return images, labels
    m = images.shape[0] - images.shape[0] % n  # equal shards: every process takes the same number of steps
    return images[rank():m:n], labels[rank():m:n]


def wrap(module: nn.Module, device: torch.device) -> nn.Module:
    """``DistributedDataParallel(module)`` when distributed, else the module itself."""
    if world_size() <= 1:
        return module
    from torch.nn.parallel import DistributedDataParallel
    # broadcast_buffers=False: each process keeps the BatchNorm running statistics of its own shard (rank
    # 0's are saved). DDP's default broadcasts them at every forward, a collective per call (D runs three
    # per DCGAN step), and under gloo such runs aborted at random in 2-process tests
    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None,
                                   broadcast_buffers=False)


def unwrap(module: nn.Module) -> nn.Module:
    """The plain module inside a DDP wrapper (what checkpoints and sampling use)."""
    return getattr(module, "module", module)


def barrier() -> None:
    d = _dist()
    if d is not None and d.is_initialized():
        d.barrier()


def broadcast_tensors(*tensors: torch.Tensor) -> None:
    """Overwrite each tensor, in place, with rank 0's (e.g. k-means centroids each process fitted on its shard)."""
    if world_size() <= 1:
        return
    d = _dist()
    for t in tensors:
        if d.get_backend() == "nccl" and t.device.type != "cuda":  # NCCL moves GPU tensors only
            on_gpu = t.to(torch.device("cuda", torch.cuda.current_device()))
            d.broadcast(on_gpu, src=0)
            t.copy_(on_gpu)
        else:
            d.broadcast(t, src=0)


def shared_clusters(images: torch.Tensor, k: int, seed: int):
    """k-means clusters of the training ``images`` (see :mod:`mnist_gan_utils.clusters`). Under torchrun
    each process fits its own shard, then all take rank 0's fit, so a cluster number means the same group
    of digits everywhere; ``assignments`` are this process's images' clusters."""
    from ..clusters import fit_clusters
    fitted = fit_clusters(images, k, seed=seed)
    if world_size() > 1:
        broadcast_tensors(fitted.mean, fitted.components, fitted.centroids, fitted.prior)
        fitted.assignments = fitted.assign(images)
    return fitted
