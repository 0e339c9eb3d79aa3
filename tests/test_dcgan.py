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


@pytest.mark.parametrize("field, value, allowed", [
    ("lr", -1.0, "a finite number > 0"), ("betas", (0.5, 1.0), "a pair (beta1, beta2), each in [0, 1)"),
    ("g_channels", 0, "an integer in [1, 4096]"), ("d_channels", "64", "an integer in [1, 4096]"),
    ("noise_dim", 2.5, "an integer in [1, 4096]"), ("grid_size", 1025, "an integer in [1, 1024]"),
])
def test_bad_settings_name_the_setting_its_range_and_the_value(field, value, allowed):
    with pytest.raises(ValueError) as e:
        DCGANConfig(**{field: value})
    assert str(e.value) == f"{field} must be {allowed}, got {value!r}"


# --- Added for issue 32 (mutation testing): the networks' published layout, the step's figures, the loop's ----
# --- callbacks, grids, limits and divergence report, the collapse warning, and starting from pretrained files ---
def _pretrained(name, model):
    from mnist_gan_utils.paths import MODELS_DIR
    model.load_state_dict(torch.load(MODELS_DIR / f"{name}.pth", weights_only=True))
    return model.eval()


def test_the_default_networks_are_the_ones_the_pretrained_files_were_saved_from():
    G, D = Generator(), Discriminator()
    assert (G.noise_dim, G.channels, D.channels) == (64, 64, 16)
    _pretrained("generator", G), _pretrained("discriminator", D)   # same keys, same shapes: no error
    from mnist_gan_utils.checkpoints import read_manifest
    models = read_manifest()["models"]
    assert sum(p.numel() for p in G.parameters()) == models["generator"]["parameters"] == 747_841
    assert sum(p.numel() for p in D.parameters()) == models["discriminator"]["parameters"] == 64_545


def test_the_pretrained_pair_still_works_through_these_layers(mnist_test):
    """Loaded into these classes, the published weights draw digits the classifier recognises and a D that
    tells real digits from them: any change to a layer (a slope, an activation, a kernel) breaks this."""
    from mnist_gan_utils.models import Classifier
    G, D = _pretrained("generator", Generator()), _pretrained("discriminator", Discriminator())
    C = _pretrained("classifier", Classifier())
    real = mnist_test[0][:200].float().div(127.5).sub(1).unsqueeze(1)
    with torch.no_grad():
        fake = G(torch.randn(200, 64, generator=torch.Generator().manual_seed(0)))
        assert fake.min() >= -1 and fake.max() <= 1
        assert abs(fake.mean() - real.mean()) < 0.1                  # mostly background, like real digits
        recognised = (torch.softmax(C((fake + 1) / 2), 1).max(1).values >= 0.9).float().mean()
        assert recognised > 0.7                                       # the manifest records 85%
        assert torch.sigmoid(D(real)).mean() > torch.sigmoid(D(fake)).mean() + 0.02   # the manifest: 0.53 vs 0.48


def test_the_discriminator_takes_a_batch_of_one_and_names_a_wrong_image_size():
    D = Discriminator(8).eval()
    assert D(torch.zeros(1, 1, 28, 28)).shape == (1,)
    with pytest.raises(ValueError,
                       match=r"^Discriminator input x: expected shape \(N, 1, 28, 28\), got \(2, 28, 28\)$"):
        D(torch.zeros(2, 28, 28))
    with pytest.raises(ValueError, match=r"^Generator input z: expected shape \(N, 16\), got \(2, 8\)$"):
        Generator(16, 8)(torch.zeros(2, 8))
    for bad in (dict(noise_dim=0), dict(noise_dim=2.0), dict(channels=True)):
        with pytest.raises(ValueError, match=f"^{next(iter(bad))} must be an integer >= 1"):
            Generator(**bad)
    with pytest.raises(ValueError, match="^channels must be an integer >= 1, got 0$"):
        Discriminator(channels=0)


def test_the_step_reports_d_before_its_update_and_g_against_the_updated_d(small_data):
    torch.manual_seed(0)
    G, D = Generator(16, 8), Discriminator(8)
    opt_G = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    real = small_data[0][:32].float().div(127.5).sub(1).unsqueeze(1)
    z = torch.randn(32, 16)
    G_old, D_old = copy.deepcopy(G), copy.deepcopy(D)
    stats = dcgan_step(G, D, opt_G, opt_D, real, z)
    with torch.no_grad():
        fake = G_old(z)
        d_real, d_fake = D_old(real), D_old(fake)
        assert stats["loss_D"] == pytest.approx(_bce_D(D_old, real, fake), rel=1e-4)
        assert stats["D_x"] == pytest.approx(torch.sigmoid(d_real).mean().item(), rel=1e-4)
        assert stats["D_G_z"] == pytest.approx(torch.sigmoid(d_fake).mean().item(), rel=1e-4)
        assert stats["loss_G"] == pytest.approx(_bce_G(G_old, D, z), rel=1e-4)   # D as updated, G as it was
    for old, new in ((G_old, G), (D_old, D)):                                    # both networks moved
        assert not all(torch.equal(a, b) for a, b in zip(old.parameters(), new.parameters()))


def test_the_grid_noise_is_the_same_every_epoch_and_follows_the_seed():
    from mnist_gan_utils.training.dcgan import fixed_noise
    cfg = DCGANConfig(grid_size=16, noise_dim=8, seed=3)
    z = fixed_noise(cfg)
    assert z.shape == (16, 8) and torch.equal(z, fixed_noise(cfg))
    assert not torch.equal(z, fixed_noise(DCGANConfig(grid_size=16, noise_dim=8, seed=4)))
    assert abs(z.mean()) < 0.5 and 0.6 < z.std() < 1.4                          # standard Gaussian noise


def test_the_defaults_are_the_recipe_of_the_pretrained_six_epoch_generator():
    import dataclasses

    from mnist_gan_utils.checkpoints import read_manifest
    recipe = read_manifest()["models"]["generator_6_epochs"]["train_config"]
    ours = dataclasses.asdict(DCGANConfig())
    for k in ("epochs", "batch_size", "lr", "betas", "noise_dim", "g_channels", "d_channels", "grid_size", "seed",
              "init_from", "max_steps_per_epoch", "train_size"):
        assert ours[k] == (tuple(recipe[k]) if k == "betas" else recipe[k]), k


@pytest.mark.parametrize("field, limit", [("noise_dim", 4096), ("g_channels", 4096), ("d_channels", 4096),
                                          ("grid_size", 1024)])
def test_each_size_setting_takes_its_largest_value_and_not_one_more(field, limit):
    DCGANConfig(**{field: limit})
    for bad in (0, limit + 1):
        with pytest.raises(ValueError, match=rf"^{field} must be an integer in \[1, {limit}\], got {bad}$"):
            DCGANConfig(**{field: bad})


def test_a_run_calls_back_each_epoch_with_its_grid_and_keeps_every_grid_across_a_resume(tmp_path, small_data):
    from mnist_gan_utils.training.dcgan import fixed_noise
    seen = []
    cfg = DCGANConfig(epochs=2, run_dir=str(tmp_path / "r"), progress=False, **TINY)
    r = train_dcgan(cfg, data=small_data, on_epoch_end=lambda epoch, grid, history, G: seen.append(
        (epoch, grid.clone(), len(history["loss_D"]), G)))
    assert [s[0] for s in seen] == [0, 1] and [s[2] for s in seen] == [1, 2] and seen[1][3] is r.generator
    with torch.no_grad():
        assert torch.allclose(seen[1][1], r.generator(fixed_noise(cfg)), atol=1e-6)   # G in eval mode, [-1, 1]
    assert r.grids == [tmp_path / "r" / "epoch_001.png", tmp_path / "r" / "epoch_002.png"]
    assert len(r.history["step_loss_D"]) == 2 * TINY["max_steps_per_epoch"]
    assert r.history["loss_D"][0] == pytest.approx(sum(r.history["step_loss_D"][:3]) / 3)
    assert set(r.history) >= {"loss_D", "loss_G", "D_x", "D_G_z", "seconds", "step_loss_G", "step_D_x", "step_D_G_z"}
    assert not r.generator.training and not r.discriminator.training
    train_dcgan(DCGANConfig(epochs=1, run_dir=str(tmp_path / "h"), progress=False, **TINY), data=small_data)
    resumed = train_dcgan(DCGANConfig(epochs=2, run_dir=str(tmp_path / "h"), resume=True, progress=False, **TINY),
                          data=small_data)
    assert resumed.grids == [tmp_path / "h" / "epoch_001.png", tmp_path / "h" / "epoch_002.png"]


def test_a_diverged_step_names_the_epoch_and_step_and_the_checkpoint_kept(tmp_path, small_data, monkeypatch):
    from mnist_gan_utils.training import dcgan as loop
    from mnist_gan_utils.training.engine import TrainingDivergedError
    real_step, calls = loop.dcgan_step, []

    def step(*args):
        calls.append(1)
        stats = real_step(*args)
        return {**stats, "loss_G": float("nan")} if len(calls) == 5 else stats   # epoch 2, its second step
    monkeypatch.setattr(loop, "dcgan_step", step)
    with pytest.raises(TrainingDivergedError, match=r"loss_G=nan at epoch 2, step 1; the last good checkpoint "
                                                    r"\(end of epoch 1\) is kept"):
        train_dcgan(DCGANConfig(epochs=2, run_dir=str(tmp_path / "r"), progress=False, **TINY), data=small_data)


def test_mode_collapse_is_warned_about_with_the_epoch_and_the_spread():
    import warnings

    from mnist_gan_utils.training.monitors import warn_if_collapsed
    with pytest.warns(RuntimeWarning, match=r"^epoch 3: the fixed-noise samples look alike \(pixel spread 0\.00 of "
                                            r"real digits'\): a sign of mode collapse"):
        assert warn_if_collapsed(torch.zeros(8, 1, 28, 28), 2) == 0.0
    two = torch.stack([torch.zeros(1, 28, 28), torch.full((1, 28, 28), 0.19 / 28)])   # 0.19 apart: spread 0.02
    varied = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                   # none of these may warn
        assert warn_if_collapsed(varied, 0) == pytest.approx(torch.pdist(varied.flatten(1)).mean().item() / 9.5)
        assert warn_if_collapsed(torch.zeros(1, 1, 28, 28), 0) == 1.0    # one sample: nothing to compare
        assert warn_if_collapsed(two, 0, threshold=0.01) == pytest.approx(0.02, rel=1e-3)
    with pytest.warns(RuntimeWarning, match="look alike"):
        warn_if_collapsed(two, 0, threshold=0.03)


def test_a_run_of_the_dcgan_says_when_its_grid_falls_into_one_or_two_digits(tmp_path, small_data, recwarn):
    """Notebook 02's loop watches the grid's classes too, not only its pixel spread: with lr ~ 0 G keeps its
    near-constant first output, and the second epoch warns (as the add-ons' loop does)."""
    pytest.importorskip("mnist_gan_utils.checkpoints").load_pretrained("classifier")
    r = train_dcgan(DCGANConfig(epochs=2, lr=1e-12, run_dir=str(tmp_path / "r"), progress=False,
                                **{**TINY, "grid_size": 64}), data=small_data)
    assert min(r.history["fixed_noise_top2_share"]) >= 0.8
    assert any("epoch 2: mode collapse:" in str(w.message) for w in recwarn)


def test_draw_uses_eval_mode_and_returns_cpu_images_without_a_graph():
    from mnist_gan_utils.training.monitors import draw
    G = Generator(16, 8).train()
    G(torch.randn(32, 16))                                       # running statistics move off their start
    z = torch.randn(4, 16)
    images = draw(G, z)
    assert not G.training and not images.requires_grad and images.device.type == "cpu"
    with torch.no_grad():
        assert torch.equal(images, G(z))


def _pretrained_folder(tmp_path, g_channels=8, manifest=True, with_d=True):
    import json

    from mnist_gan_utils.checkpoints import save_checkpoint, sha256_file
    G, D = Generator(16, g_channels), Discriminator(8)
    with torch.no_grad():
        for p in [*G.parameters(), *D.parameters()]:
            p.uniform_(-1, 1)
    files = {"generator": save_checkpoint(G, tmp_path / "generator.pth")}
    if with_d:
        files["discriminator"] = save_checkpoint(D, tmp_path / "discriminator.pth")
    if manifest:
        (tmp_path / "manifest.json").write_text(json.dumps({"models": {
            name: {"file": p.name, "sha256": sha256_file(p), "config": {"channels": m.channels}}
            for (name, p), m in zip(files.items(), (G, D))}}))
    return G, D


@pytest.mark.parametrize("manifest", [True, False])
def test_init_from_loads_the_pretrained_pair(tmp_path, manifest):
    from mnist_gan_utils.training.dcgan import init_from
    G, D = _pretrained_folder(tmp_path, manifest=manifest)
    G2, D2 = Generator(16, 8), Discriminator(8)
    init_from(G2, D2, tmp_path)
    for a, b in ((G, G2), (D, D2)):
        assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_init_from_without_a_discriminator_file_starts_d_afresh(tmp_path):
    from mnist_gan_utils.training.dcgan import init_from
    G, _ = _pretrained_folder(tmp_path, with_d=False)
    G2, D2 = Generator(16, 8), Discriminator(8)
    fresh = copy.deepcopy(D2.state_dict())
    init_from(G2, D2, tmp_path)
    assert all(torch.equal(x, y) for x, y in zip(G.state_dict().values(), G2.state_dict().values()))
    assert all(torch.equal(x, y) for x, y in zip(fresh.values(), D2.state_dict().values()))


def test_init_from_checks_the_manifest_hash_and_names_the_width_to_set(tmp_path):
    from mnist_gan_utils.checkpoints import CheckpointError, save_checkpoint
    from mnist_gan_utils.training.dcgan import init_from
    _pretrained_folder(tmp_path)
    with pytest.raises(ValueError) as e:
        init_from(Generator(16, 12), Discriminator(8), tmp_path)
    assert str(e.value) == (f"init_from: {tmp_path / 'generator.pth'} is a generator 8 channels wide, this run's is "
                            f"12: set g_channels=8 (notebook 02: G_CHANNELS = 8) to start from it")
    save_checkpoint(Discriminator(8), tmp_path / "discriminator.pth")       # replaced after the manifest
    with pytest.raises(CheckpointError, match="discriminator.pth: sha256"):
        init_from(Generator(16, 8), Discriminator(8), tmp_path)


def test_the_state_sizes_are_the_ones_the_shape_comments_show():
    """Notebook 02 shows each block's output: G grows 1 -> 3 -> 6 -> 13 -> 28 pixels, D shrinks 28 -> 13 -> 5 -> 1."""
    def sizes(net, x):
        out = []
        for layer in net:
            x = layer(x)
            if isinstance(layer, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
                out.append(tuple(x.shape[1:]))
        return out
    G, D = Generator(noise_dim=16, channels=8).eval(), Discriminator(channels=8).eval()
    with torch.no_grad():
        assert sizes(G.net, torch.zeros(2, 16, 1, 1)) == [(32, 3, 3), (16, 6, 6), (8, 13, 13), (1, 28, 28)]
        assert sizes(D.net, torch.zeros(2, 1, 28, 28)) == [(8, 13, 13), (16, 5, 5), (32, 1, 1), (1,)]


def test_the_loop_feeds_each_step_digits_in_tanh_range_and_its_epochs_own_noise(tmp_path, small_data, monkeypatch,
                                                                                capsys):
    """What train_dcgan hands the step, what it prints, saves and warns, for a student to recognise."""
    import numpy as np
    from PIL import Image

    from mnist_gan_utils.checkpoints import load_checkpoint
    from mnist_gan_utils.training import dcgan as loop
    from mnist_gan_utils.training.engine import epoch_generator
    from mnist_gan_utils.training.progress import PROGRESS_ENV
    fed, grids, real_step = [], [], loop.dcgan_step
    monkeypatch.setattr(loop, "dcgan_step", lambda G, D, oG, oD, real, z: fed.append((real, z)) or
                        real_step(G, D, oG, oD, real, z))
    monkeypatch.setenv(PROGRESS_ENV, "0")                        # one line per epoch, as papermill runs it
    cfg = DCGANConfig(epochs=2, run_dir=str(tmp_path / "r"), progress=True, **TINY)
    with pytest.warns(RuntimeWarning, match="look alike") as warned:   # an untrained G's grid looks alike
        r = train_dcgan(cfg, data=small_data, on_epoch_end=lambda e, grid, h, G: grids.append(grid))
    assert warned[0].filename == __file__                        # it points at the line that started training
    real, z = fed[0]
    assert real.shape == (32, 1, 28, 28) and real.min() == -1 and 0.99 < real.max() <= 1   # G's Tanh range
    noise = epoch_generator(cfg.seed, 1)                          # epoch 2's noise: its own generator's draws
    assert z.shape == (32, 16) and torch.equal(fed[3][1], torch.randn(32, 16, generator=noise))
    out = capsys.readouterr().out
    assert "epoch 1/2: 3 steps in " in out and "epoch 2/2: 3 steps in " in out
    ckpt = load_checkpoint(r.run_dir / "checkpoint.pt")
    assert set(ckpt["models"]) == set(ckpt["optimizers"]) == {"G", "D"}
    png = np.asarray(Image.open(r.grids[-1]).convert("L"), dtype=float)
    first = (grids[-1][0, 0].numpy() + 1) / 2 * 255               # the grid's first image, [-1, 1] -> pixels
    assert np.abs(png[2:30, 2:30] - first).max() <= 1


def test_a_threshold_of_zero_turns_the_collapse_warning_off_and_the_message_ends_with_the_fixes():
    import warnings

    from mnist_gan_utils.training.monitors import warn_if_collapsed
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_if_collapsed(torch.zeros(4, 1, 28, 28), 0, threshold=0.0) == 0.0
    with pytest.warns(RuntimeWarning, match=r"Try a lower lr, betas=\(0\.5, 0\.999\), or restart with another seed\.$"):
        warn_if_collapsed(torch.zeros(4, 1, 28, 28), 0)


def test_a_new_run_says_it_overwrites_only_when_a_run_was_there(tmp_path, small_data, capsys, monkeypatch):
    from mnist_gan_utils.training.progress import PROGRESS_ENV
    monkeypatch.setenv(PROGRESS_ENV, "0")
    cfg = DCGANConfig(epochs=1, run_dir=str(tmp_path / "r"), overwrite=True, **TINY)
    train_dcgan(cfg, data=small_data)
    first = capsys.readouterr().out
    train_dcgan(cfg, data=small_data)
    second = capsys.readouterr().out
    assert ": a new run\n" in first and "overwriting" not in first
    assert ": a new run (overwriting the run that was there)\n" in second
