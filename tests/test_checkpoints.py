
import pytest
import torch

from mnist_gan_utils.checkpoints import (CheckpointError, load_checkpoint, load_pretrained, load_state_dict,
                                         save_checkpoint, sha256_file)
from mnist_gan_utils.models import Classifier, Generator


class _Evil:
    """A pickle that would create a file when unpickled."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_round_trip_is_a_plain_state_dict(tmp_path):
    G = Generator(noise_dim=16, channels=8)
    path = save_checkpoint(G, tmp_path / "g.pth")
    state = torch.load(path, weights_only=True)
    assert isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values())
    G2 = load_state_dict(Generator(noise_dim=16, channels=8), path)
    assert all(torch.equal(a, b) for a, b in zip(G.state_dict().values(), G2.state_dict().values()))
    assert not (tmp_path / "g.pth.tmp").exists()


def test_hostile_pickle_is_refused_unrun(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"weight": _Evil(str(marker))}, path)
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(path)
    assert not marker.exists()


def test_truncated_file(tmp_path):
    path = save_checkpoint(Generator(16, 8), tmp_path / "g.pth")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_state_dict(Generator(16, 8), path)


def test_other_architecture_names_the_mismatch(tmp_path):
    path = save_checkpoint(Generator(noise_dim=100, channels=8), tmp_path / "g.pth")
    with pytest.raises(CheckpointError, match=r"does not fit Generator\(noise_dim=64.*shape mismatches"):
        load_state_dict(Generator(noise_dim=64, channels=8), path)
    with pytest.raises(CheckpointError, match="missing keys"):
        load_state_dict(Classifier(), path)


def test_not_a_state_dict(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match="not a state dict"):
        load_state_dict(Generator(16, 8), path)
    (tmp_path / "text.pth").write_text("hello")
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        load_checkpoint(tmp_path / "text.pth")
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "missing.pth")


def test_sha256_mismatch_is_named(tmp_path):
    path = save_checkpoint(Generator(16, 8), tmp_path / "g.pth")
    with pytest.raises(CheckpointError, match="g.pth: sha256 .* does not match"):
        load_checkpoint(path, expected_sha256="0" * 64)
    assert load_checkpoint(path, expected_sha256=sha256_file(path))


def test_gpu_tensors_are_saved_for_the_cpu(tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    G = Generator(16, 8).cuda()
    path = save_checkpoint(G, tmp_path / "g.pth")
    state = torch.load(path, weights_only=True, map_location="cpu")
    assert all(v.device.type == "cpu" for v in state.values())


def test_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = save_checkpoint({"a": torch.zeros(2)}, tmp_path / "c.pth")
    before = path.read_bytes()

    def boom(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({"a": torch.ones(2)}, path)
    assert path.read_bytes() == before


def test_load_pretrained_unknown_name(tmp_path):
    (tmp_path / "manifest.json").write_text('{"models": {}}')
    with pytest.raises(ValueError, match="unknown pretrained model"):
        load_pretrained("generatr", models_dir=tmp_path)
