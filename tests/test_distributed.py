"""The training loops under torchrun: 2 CPU processes (gloo), each on its own shard, one writer."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_gan_utils.checkpoints import load_checkpoint
from mnist_gan_utils.training import distributed

WORKER = Path(__file__).parent / "helpers" / "ddp_worker.py"


def _torchrun(out: Path, kind: str):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(WORKER),
           str(out), kind]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=out)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return [json.loads((out / f"rank{i}.json").read_text()) for i in range(2)]


@pytest.mark.parametrize("kind", ["dcgan", "gan", "cgan-wgan", "classifier", "flow"])
def test_two_cpu_processes_train_one_model_and_rank_0_alone_writes(tmp_path, kind):
    ranks = _torchrun(tmp_path, kind)
    assert ranks[0]["digest"] == ranks[1]["digest"]          # gradients were averaged: the same weights
    assert ranks[1]["writes"] == []                           # nothing written by rank 1 ...
    writes = ranks[0]["writes"]
    assert len(writes) == len(set(writes)) + writes.count(str(tmp_path / "run" / "checkpoint.pt")) - 1  # ... or twice
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    expected = {"classifier": {"classifier"}, "flow": {"net", "net_ema"}}.get(kind, {"G", "D"})
    assert ckpt["epoch"] == 1 and set(ckpt["models"]) >= expected
    plain = {k: m for k, m in ckpt["models"].items() if k not in ("G_ema", "net_ema")}  # (EMA wrappers have "module.")
    assert not any(k.startswith("module.") for m in plain.values() for k in m)  # no DDP prefix: plain state dicts
    if kind != "classifier":
        assert sorted(p.name for p in (tmp_path / "run").glob("epoch_*.png")) == ["epoch_001.png", "epoch_002.png"]


def test_two_processes_stopped_after_epoch_1_resume_bit_for_bit(tmp_path):
    """The self-conditioned GAN under torchrun, stopped after its first epoch and resumed, ends where the
    uninterrupted 2-process run ends: each process's weights, and rank 0's whole checkpoint."""
    ranks = _torchrun(tmp_path, "resume")
    assert [r["interrupted_epoch"] for r in ranks] == [0, 0]
    assert ranks[0]["differs"] == [] and ranks[1]["differs"] == []


def test_shards_are_disjoint_equal_and_cover_the_data(monkeypatch):
    import torch
    x, y = torch.arange(11), torch.arange(11)
    parts = []
    for r in range(3):
        monkeypatch.setenv("WORLD_SIZE", "3")
        monkeypatch.setenv("RANK", str(r))
        parts.append(distributed.shard(x, y)[0])
    assert [len(p) for p in parts] == [3, 3, 3]
    assert len(set(torch.cat(parts).tolist())) == 9
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("RANK", "0")
    assert distributed.shard(x, y)[0] is x and distributed.is_main()


def test_a_run_folder_in_use_stops_every_process_at_once(tmp_path):
    """Rank 0 finds the folder locked by another live run: it raises, and rank 1 (which never looks at the
    lock) stops too instead of waiting for rank 0 in its first gradient exchange."""
    import socket
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / "run.lock").write_text(json.dumps(
            {"pid": holder.pid, "host": socket.gethostname(), "started": "now", "token": "x"}))
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(WORKER),
               str(tmp_path), "dcgan"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    finally:
        holder.kill()
    assert r.returncode != 0
    assert f"in use by another training run (process {holder.pid}" in r.stderr
    assert "in use by another training run (process rank 0 says why)" in r.stderr
    assert not (tmp_path / "run" / "checkpoint.pt").exists()
