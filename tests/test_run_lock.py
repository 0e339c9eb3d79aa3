"""One run folder, one writer: a training run holds ``run.lock`` in its folder from ``Run.start()`` to its last
checkpoint; a second run into that folder stops at once with RunFolderInUseError (training/run_lock.py)."""
import gc
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from mnist_gan_utils import checkpoints
from mnist_gan_utils.checkpoints import load_checkpoint, save_checkpoint, write_manifest
from mnist_gan_utils.training import train_dcgan
from mnist_gan_utils.training.engine import BaseConfig, Run
from mnist_gan_utils.training.run_lock import RunFolderInUseError, RunLock

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(epochs=2, batch_size=64, max_steps_per_epoch=2, noise_dim=16, g_channels=8, d_channels=8, grid_size=4,
            device="cpu", progress=False)
HOST = socket.gethostname()


def _data():
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (256, 28, 28), generator=g, dtype=torch.uint8), torch.arange(256) % 10


def _write_lock(folder: Path, pid: int, host: str = HOST) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / "run.lock"
    lock.write_text(json.dumps({"pid": pid, "host": host, "started": "2024-05-01 09:30:00"}))
    return lock


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped): certainly not running."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.fixture
def sleeper():
    """A live process of this machine that is not this one."""
    p = subprocess.Popen(["sleep", "60"])
    yield p
    p.kill()
    p.wait()


def _tiny_run(run_dir: Path, epochs=2, **kw) -> Run:
    model = torch.nn.Linear(2, 2)
    config = BaseConfig(epochs=epochs, run_dir=str(run_dir), device="cpu", progress=False, **kw)
    return Run("tiny", config, {"m": model}, {"o": torch.optim.SGD(model.parameters(), lr=0.1)})


def test_a_second_run_into_a_folder_in_use_stops_at_once_and_names_the_holder(tmp_path, sleeper):
    run_dir = tmp_path / "run"
    train_dcgan(run_dir=str(run_dir), data=_data(), **TINY)
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    lock = _write_lock(run_dir, sleeper.pid)
    held = lock.read_text()
    for kw in (dict(resume=True, epochs=3), dict(overwrite=True), {}):  # {}: the lock comes before FileExistsError
        with pytest.raises(RunFolderInUseError) as e:
            train_dcgan(run_dir=str(run_dir), data=_data(), **{**TINY, **kw})
        message = str(e.value)
        assert f"process {sleeper.pid} on {HOST}, since 2024-05-01 09:30:00" in message, message
        assert str(run_dir) in message and f"delete {lock}" in message and "Wait for it to finish" in message
    assert lock.read_text() == held  # the holder's lock is not touched
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.name != "run.lock"} == before

    # a lock from another machine (a shared drive) is never judged stale from here, whatever its pid
    _write_lock(run_dir, _dead_pid(), host="other-machine")
    with pytest.raises(RunFolderInUseError, match="on other-machine, since .* delete .*run.lock"):
        train_dcgan(run_dir=str(run_dir), data=_data(), **{**TINY, "resume": True, "epochs": 3})
    assert load_checkpoint(run_dir / "checkpoint.pt")["epoch"] == 1


CHILD = """
import sys, time, torch
from pathlib import Path
from mnist_gan_utils.training import train_dcgan
run_dir, flags = sys.argv[1], Path(sys.argv[2])
def hold(epoch, *rest):  # after epoch 1's checkpoint: say so, then wait for the test's go
    if epoch == 0:
        (flags / "ready").touch()
        deadline = time.time() + 60
        while not (flags / "go").exists() and time.time() < deadline:
            time.sleep(0.05)
g = torch.Generator().manual_seed(0)
data = torch.randint(0, 256, (256, 28, 28), generator=g, dtype=torch.uint8), torch.arange(256) % 10
train_dcgan(run_dir=run_dir, data=data, on_epoch_end=hold, seed=1, **TINY)
"""


def test_two_processes_into_one_folder_the_second_stops_and_the_first_finishes(tmp_path):
    run_dir, flags = tmp_path / "run", tmp_path
    a = subprocess.Popen([sys.executable, "-c", CHILD.replace("TINY", repr(TINY)), str(run_dir), str(flags)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 120
        while not (flags / "ready").exists() and a.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert (flags / "ready").exists(), a.communicate()[0] if a.poll() is not None else "A never got ready"
        with pytest.raises(RunFolderInUseError, match=f"process {a.pid} on {HOST}, since .*delete .*run.lock"):
            train_dcgan(run_dir=str(run_dir), data=_data(), seed=2, overwrite=True, **TINY)
    finally:
        (flags / "go").touch()
        out = a.communicate(timeout=120)[0]
    assert a.returncode == 0, out
    ckpt = load_checkpoint(run_dir / "checkpoint.pt")
    assert (ckpt["epoch"], ckpt["config"]["seed"]) == (1, 1)  # A's last epoch, A's settings
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoint.pt", "epoch_001.png", "epoch_002.png"]


def test_a_stale_lock_of_this_machine_is_taken_over(tmp_path):
    run_dir = tmp_path / "run"
    pid = _dead_pid()
    _write_lock(run_dir, pid)
    with pytest.warns(UserWarning, match=f"run.lock: left by process {pid}, which is no longer running"):
        result = train_dcgan(run_dir=str(run_dir), data=_data(), **TINY)
    assert load_checkpoint(result.run_dir / "checkpoint.pt")["epoch"] == 1
    assert not (run_dir / "run.lock").exists()


def test_an_unreadable_lock_is_held_by_an_unknown_run(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.lock").write_text("{not json")
    with pytest.raises(RunFolderInUseError, match=r"cannot be read\. If no training run is using this folder, "
                                                  r"delete .*run\.lock"):
        train_dcgan(run_dir=str(run_dir), data=_data(), **TINY)
    assert (run_dir / "run.lock").read_text() == "{not json" and not (run_dir / "checkpoint.pt").exists()


def test_a_run_holds_the_lock_from_start_to_its_last_checkpoint(tmp_path):
    run = _tiny_run(tmp_path)
    lock = tmp_path / "run.lock"
    assert run.start() == 0
    assert json.loads(lock.read_text())["pid"] == os.getpid() and json.loads(lock.read_text())["host"] == HOST
    run.end_epoch(0)
    assert lock.exists()
    run.end_epoch(1)
    assert not lock.exists()  # released at the last checkpoint, the Run still alive
    done = _tiny_run(tmp_path, resume=True)
    assert done.start() == 2 and not lock.exists()  # nothing to train: released at once
    refused = _tiny_run(tmp_path)
    with pytest.raises(FileExistsError):
        refused.start()
    assert not lock.exists()  # a start that raises releases too


def test_the_lock_is_released_after_a_finished_run_and_after_a_run_that_raised(tmp_path):
    run_dir = tmp_path / "run"
    train_dcgan(run_dir=str(run_dir), data=_data(), **TINY)
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoint.pt", "epoch_001.png", "epoch_002.png"]

    def stop(epoch, *rest):
        raise KeyboardInterrupt
    try:
        train_dcgan(run_dir=str(run_dir), data=_data(), on_epoch_end=stop, **{**TINY, "epochs": 4, "resume": True})
    except KeyboardInterrupt as e:
        kept = e  # its traceback keeps the Run alive, as a notebook's last error does
    assert json.loads((run_dir / "run.lock").read_text())["pid"] == os.getpid()
    del kept
    gc.collect()
    assert not (run_dir / "run.lock").exists()
    result = train_dcgan(run_dir=str(run_dir), data=_data(), **{**TINY, "epochs": 4, "resume": True})
    assert load_checkpoint(result.run_dir / "checkpoint.pt")["epoch"] == 3 and not (run_dir / "run.lock").exists()


def test_the_same_process_takes_its_own_lock_and_a_late_collected_run_leaves_the_next_ones(tmp_path):
    interrupted = _tiny_run(tmp_path)
    interrupted.start()
    lock = tmp_path / "run.lock"
    rerun = _tiny_run(tmp_path, resume=True)  # a notebook's cell run again after an error
    assert rerun.start() == 0 and lock.exists()
    rerun.end_epoch(0)
    rerun.end_epoch(1)
    assert not lock.exists()
    later = _tiny_run(tmp_path, epochs=3, resume=True)
    assert later.start() == 2
    held = lock.read_text()
    del interrupted  # the first Run, collected only now: must not remove the lock of the run in progress
    gc.collect()
    assert lock.read_text() == held
    later.close()
    assert not lock.exists()
    RunLock(tmp_path).acquire().acquire().release()  # and directly: the same lock taken twice, released once
    assert not lock.exists()


def test_save_checkpoint_writes_through_a_temporary_file_of_its_own_process(tmp_path, monkeypatch):
    sources, replace = [], os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (sources.append(Path(src)), replace(src, dst)))
    save_checkpoint({"w": torch.ones(2)}, tmp_path / "g.pth")
    write_manifest({"models": {}}, tmp_path / "manifest.json")
    assert [(p.parent, str(os.getpid()) in p.name) for p in sources] == [(tmp_path, True)] * 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.pth", "manifest.json"]

    def fail(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(checkpoints.torch, "save", fail)
    with pytest.raises(OSError):
        save_checkpoint({"w": torch.zeros(2)}, tmp_path / "g.pth")
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        write_manifest({"models": {"x": {}}}, tmp_path / "manifest.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.pth", "manifest.json"]  # no temporary file left
    assert torch.equal(load_checkpoint(tmp_path / "g.pth")["w"], torch.ones(2))  # the old file kept
