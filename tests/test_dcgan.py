"""The DCGAN core that notebook 02 teaches: shapes, the step's two objectives, eval-mode sampling, and the
loop's run folders (the same settings continue their run, other settings start their own)."""
import copy

import pytest
import torch
import torch.nn.functional as F

from mnist_gan_utils.models import Discriminator, Generator
from mnist_gan_utils.sampling import sample
from mnist_gan_utils.training import DCGANConfig, dcgan_step, train_dcgan
from mnist_gan_utils.training.engine import run_folder

TINY = dict(noise_dim=16, g_channels=8, d_channels=8, batch_size=32, grid_size=16, device="cpu",
            max_steps_per_epoch=3)


def test_shapes_and_ranges():
    G, D = Generator(noise_dim=64), Discriminator()
    x = G(torch.randn(5, 64))
    assert x.shape == (5, 1, 28, 28) and x.min() >= -1 and x.max() <= 1   # Tanh: the data's [-1, 1]
    assert G(torch.randn(5, 64, 1, 1)).shape == (5, 1, 28, 28)            # pytorch/examples' noise shape
    assert D(x).shape == (5,)                                             # one logit per image
    with pytest.raises(ValueError, match=r"expected shape \(N, 64\)"):
        G(torch.randn(5, 32))
    with pytest.raises(ValueError, match="channels"):
        Generator(channels=0)


def _bce_D(D, real, fake):
    d_real, d_fake = D(real), D(fake)
    return (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
            + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))).item()


def _bce_G(G, D, z):
    d = D(G(z))
    return F.binary_cross_entropy_with_logits(d, torch.ones_like(d)).item()


def test_the_step_moves_each_loss_the_right_way_on_a_toy_batch(small_data):
    torch.manual_seed(0)
    G, D = Generator(16, 8), Discriminator(8)
    opt_G = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    real = small_data[0][:32].float().div(127.5).sub(1).unsqueeze(1)       # (32, 1, 28, 28) in [-1, 1]
    z = torch.randn(32, 16)
    G_old, D_old = copy.deepcopy(G), copy.deepcopy(D)
    with torch.no_grad():
        fake_old = G_old(z)
    stats = dcgan_step(G, D, opt_G, opt_D, real, z)
    assert set(stats) == {"loss_D", "loss_G", "D_x", "D_G_z"} and 0 < stats["D_x"] < 1 and 0 < stats["D_G_z"] < 1
    with torch.no_grad():
        # (1) D got better at telling these real digits from the fakes it was shown
        assert _bce_D(D, real, fake_old) < _bce_D(D_old, real, fake_old)
        # (2) G got better at fooling the D it was trained against
        assert _bce_G(G, D, z) < _bce_G(G_old, D, z)


def test_sampling_uses_eval_mode_batchnorm():
    torch.manual_seed(0)
    G = Generator(16, 8)
    G(torch.randn(64, 16))                         # a train-mode pass: running statistics move off their start
    z = torch.randn(8, 16)
    alone, together = sample(G, 1, z=z[:1]), sample(G, 8, z=z)
    assert not G.training
    assert torch.allclose(alone[0], together[0], atol=1e-6)  # a digit does not depend on its batch
    G.train()
    assert not torch.allclose(((G(z[:2]) + 1) / 2)[0], together[0], atol=1e-3)  # train mode: it does


def test_a_short_run_writes_its_grid_and_checkpoint_and_resumes_bit_for_bit(tmp_path, small_data):
    full = train_dcgan(DCGANConfig(epochs=2, run_dir=str(tmp_path / "full"), progress=False, **TINY), data=small_data)
    assert (tmp_path / "full" / "epoch_002.png").exists() and (tmp_path / "full" / "checkpoint.pt").exists()
    assert not full.generator.training and len(full.history["loss_D"]) == 2 and len(full.history["seconds"]) == 2
    train_dcgan(DCGANConfig(epochs=1, run_dir=str(tmp_path / "half"), progress=False, **TINY), data=small_data)
    resumed = train_dcgan(DCGANConfig(epochs=2, run_dir=str(tmp_path / "half"), resume=True, progress=False, **TINY),
                          data=small_data)
    for a, b in zip(full.generator.state_dict().values(), resumed.generator.state_dict().values()):
        assert torch.equal(a, b)
    assert full.history["step_loss_D"] == resumed.history["step_loss_D"]


def test_the_same_settings_continue_their_run_and_other_settings_start_their_own(tmp_path, small_data, monkeypatch,
                                                                                 capsys):
    import mnist_gan_utils.training.engine as engine
    monkeypatch.setattr(engine, "OUTPUTS_DIR", tmp_path)
    first = train_dcgan(DCGANConfig(epochs=1, **TINY), data=small_data)
    assert first.run_dir == run_folder("dcgan", DCGANConfig(epochs=1, **TINY)).resolve()
    assert "a new run" in capsys.readouterr().out
    more = train_dcgan(DCGANConfig(epochs=2, **TINY), data=small_data)           # more epochs: the same run
    assert more.run_dir == first.run_dir and "continuing the run with these settings after its epoch 1" in \
        capsys.readouterr().out
    again = train_dcgan(DCGANConfig(epochs=2, **TINY), data=small_data)          # run all again: nothing to do
    assert "finished 2 epochs: loaded" in capsys.readouterr().out
    assert all(torch.equal(a, b) for a, b in zip(again.generator.state_dict().values(),
                                                 more.generator.state_dict().values()))
    other = train_dcgan(DCGANConfig(epochs=1, **{**TINY, "lr": 1e-3}), data=small_data)   # a new setting
    assert other.run_dir != first.run_dir and "a new run" in capsys.readouterr().out


def test_bad_settings_name_the_setting():
    for field, value in (("lr", -1.0), ("betas", (0.5, 1.0)), ("g_channels", 0), ("noise_dim", 2.5)):
        with pytest.raises(ValueError, match=field.split("_")[0]):
            DCGANConfig(**{field: value})
