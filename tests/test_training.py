import math

import pytest
import torch

from mnist_gan_utils.paths import MODELS_DIR
from mnist_gan_utils.checkpoints import load_checkpoint
from mnist_gan_utils.training import (ClassifierConfig, GANConfig, PredictorConfig, TrainingDivergedError, VAEConfig,
                                      pick_device, train_classifier, train_gan, train_vae)

TINY_GAN = dict(g_channels=8, d_channels=8, noise_dim=16, batch_size=32, grid_size=16, progress=False,
                device="cpu")  # bitwise-reproducible on the CPU; CUDA kernels may not be


def assert_every_parameter_moved(config, G, D, still_in_D=()):
    """G's and D's parameters all differ from those train_gan started from (it seeds, then builds them),
    but D's named in ``still_in_D``. Parameters, not the state_dict: BatchNorm statistics and cluster buffers
    change without any update; by more than rounding, which the weight average's arithmetic adds alone."""
    from mnist_gan_utils.training.gan import build_networks
    torch.manual_seed(config.seed)
    for before, after, still in zip(build_networks(config), (G, D), ((), still_in_D)):
        start = dict(before.named_parameters())
        unmoved = [name for name, w in after.named_parameters() if torch.allclose(w, start[name], rtol=0, atol=1e-6)]
        assert len(start) >= 3 and unmoved == [n for n in start if n in still], (type(after).__name__, unmoved)


def test_gan_step_changes_weights_and_writes_grid_and_checkpoint(tmp_path, small_data):
    config = GANConfig(epochs=1, max_steps_per_epoch=3, run_dir=str(tmp_path / "run"), ema_decay=0.0, **TINY_GAN)
    r = train_gan(config, data=small_data)
    assert_every_parameter_moved(config, r.generator, r.discriminator)
    assert (tmp_path / "run" / "epoch_001.png").exists() and (tmp_path / "run" / "checkpoint.pt").exists()
    assert set(r.history) >= {"loss_D", "loss_G", "D_x", "D_G_z", "step_loss_D", "step_D_G_z"}
    assert len(r.history["step_loss_D"]) == 3 and len(r.history["loss_D"]) == 1
    assert not r.generator.training  # returned ready for sampling


def test_short_classifier_run_lowers_the_loss_on_real_data(tmp_path, mnist_train):
    x, y = mnist_train
    r = train_classifier(epochs=2, max_steps_per_epoch=25, train_size=4000, channels=8, batch_size=64,
                         run_dir=str(tmp_path / "c"), progress=False, data=(x, y))
    assert r.history["loss"][1] < r.history["loss"][0] * 0.8


def test_short_vae_run_lowers_the_loss_on_real_data(tmp_path, small_data):
    import mnist_gan_utils.training.vae as vae_module
    r = train_vae(epochs=3, batch_size=64, hidden=64, prior_components=4, run_dir=str(tmp_path / "v"), progress=False,
                  data=small_data)
    assert r.history["loss"][-1] < r.history["loss"][0]
    # the decoder's prior was fitted to the encoder's codes of the training digits: its means are among them
    codes = vae_module.encode_means(r.vae, small_data[0])
    assert r.decoder.components == 4 and not torch.equal(r.decoder.prior_means, torch.zeros(4, 8))
    assert torch.cdist(r.decoder.prior_means, codes).min(1).values.max() < codes.std(0).mean()
    with pytest.raises(ValueError, match="prior_components"):
        VAEConfig(prior_components=-1)


def test_resumed_run_equals_uninterrupted_run(tmp_path, small_data):
    cfg = dict(max_steps_per_epoch=3, **TINY_GAN)
    full = train_gan(GANConfig(epochs=3, run_dir=str(tmp_path / "full"), **cfg), data=small_data)

    def interrupt(epoch, *_):
        if epoch == 0:
            raise KeyboardInterrupt  # as a student stopping the kernel after the first epoch

    with pytest.raises(KeyboardInterrupt):
        train_gan(GANConfig(epochs=3, run_dir=str(tmp_path / "split"), **cfg), data=small_data, on_epoch_end=interrupt)
    resumed = train_gan(GANConfig(epochs=3, run_dir=str(tmp_path / "split"), resume=True, **cfg), data=small_data)
    for a, b in zip(full.generator.state_dict().values(), resumed.generator.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(full.discriminator.state_dict().values(), resumed.discriminator.state_dict().values()):
        assert torch.equal(a, b)
    assert full.history["step_loss_G"] == resumed.history["step_loss_G"]


def test_existing_run_folder_is_not_overwritten(tmp_path, small_data):
    cfg = GANConfig(epochs=1, max_steps_per_epoch=1, run_dir=str(tmp_path / "r"), **TINY_GAN)
    train_gan(cfg, data=small_data)
    with pytest.raises(FileExistsError, match="resume=True .* overwrite=True"):
        train_gan(cfg, data=small_data)
    train_gan(cfg, data=small_data, overwrite=True)


def test_resume_with_other_settings_is_refused(tmp_path, small_data):
    cfg = GANConfig(epochs=1, max_steps_per_epoch=1, run_dir=str(tmp_path / "r"), **TINY_GAN)
    train_gan(cfg, data=small_data)
    with pytest.raises(ValueError, match=r"differ from the interrupted run \(old, new\): "
                                         r"\{'lr': \(0\.0002, 0\.001\)\}\."):
        train_gan(cfg, data=small_data, resume=True, epochs=2, lr=1e-3)  # more epochs alone would resume


def test_training_never_writes_into_models():
    with pytest.raises(ValueError, match="models/"):
        train_gan(epochs=1, run_dir=str(MODELS_DIR), **TINY_GAN)
    with pytest.raises(ValueError, match="models/"):
        train_vae(epochs=1, run_dir=str(MODELS_DIR / "sub"))


def test_nan_loss_stops_with_advice_and_keeps_checkpoint(tmp_path, small_data, monkeypatch):
    import mnist_gan_utils.training.vae as vae_module
    real_loss, calls = vae_module.vae_loss, []

    def poisoned(*args, **kwargs):  # the loss turns NaN in the second epoch
        calls.append(1)
        loss, rec, kl = real_loss(*args, **kwargs)
        return (loss * float("nan") if len(calls) > 2 else loss), rec, kl

    monkeypatch.setattr(vae_module, "vae_loss", poisoned)
    run = tmp_path / "r"
    with pytest.raises(TrainingDivergedError, match="loss=nan at epoch 2.*end of epoch 1.*lower learning rate"):
        train_vae(epochs=3, max_steps_per_epoch=2, batch_size=32, hidden=32, run_dir=str(run), progress=False,
                  data=small_data)
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    assert ckpt["epoch"] == 0 and all(torch.isfinite(v).all() for v in ckpt["models"]["vae"].values())


INTEGER, POSITIVE, UNIT = "an integer >= 1", "a finite number > 0", "a number in [0.0, 1.0)"
CLUSTERS, BETAS = "0 or an integer in [2, 1000] (self-conditioned)", "a pair (beta1, beta2), each in [0, 1)"


@pytest.mark.parametrize("field, value, allowed", [
    ("epochs", 0, INTEGER), ("epochs", -3, INTEGER), ("epochs", 1.5, INTEGER), ("epochs", "3", INTEGER),
    ("batch_size", 0, "an integer in [1, 60000]"), ("batch_size", 60_001, "an integer in [1, 60000]"),
    ("batch_size", None, "an integer in [1, 60000]"), ("lr", 0.0, POSITIVE), ("lr", -1e-3, POSITIVE),
    ("lr", math.nan, POSITIVE), ("lr", "1e-3", POSITIVE), ("seed", -1, "an integer in [0, 4294967295]"),
    ("max_steps_per_epoch", 0, INTEGER), ("train_size", 60_001, "an integer in [1, 60000]"),
    ("betas", (0.5, 1.0), BETAS), ("betas", (-0.1, 0.9), BETAS), ("betas", 0.5, BETAS), ("betas", ("a", 0.9), BETAS),
    ("noise_dim", 0, "an integer in [1, 4096]"), ("g_channels", 0, "an integer in [1, 4096]"),
    ("d_channels", 4097, "an integer in [1, 4096]"), ("rotation", -5, "a number in [0.0, 180.0]"),
    ("ema_decay", 1.0, UNIT),
    ("bn_recalibration", -1, "an integer in [0, 100000]"), ("conditional", "yes", "True or False"),
    ("grid_size", 0, "an integer in [1, 1024]"), ("embed_dim", 2000, "an integer in [1, 1024]"),
    ("mismatch", 11.0, "a number in [0.0, 10.0]"), ("n_critic", 0, "an integer in [1, 100]"),
    ("loss", "hinge", "'bce' or 'wgan-gp'"),
    ("cluster_embedding", "lookup", "one of ('centroid', 'table')"),
    ("clusters", 1, CLUSTERS), ("clusters", -2, CLUSTERS), ("clusters", 2.5, CLUSTERS),
])
def test_bad_gan_hyperparameters_name_the_parameter_its_range_and_the_value(field, value, allowed):
    """The README's promise: a bad setting raises a ValueError that names it, its range and the value given."""
    with pytest.raises(ValueError) as e:
        GANConfig(**{field: value})
    assert str(e.value) == f"{field} must be {allowed}, got {value!r}"


@pytest.mark.parametrize("power", [0.0, 2.0, 8.0])
def test_ema_power_weighs_update_t_about_t_to_the_power(power):
    """Averaging x_t = t for t = 0..N with weights ~ t ** p gives about N (p + 1) / (p + 2): the
    power sets how much of a short run the generator remembers (the decay cap is set out of reach)."""
    from mnist_gan_utils.training.averaging import ema_avg_fn
    avg, n_updates = ema_avg_fn(0.999999, power), 3000
    a = torch.zeros(1)
    for t in range(1, n_updates + 1):
        a = avg(a, torch.full((1,), float(t)), torch.tensor(t))
    assert a.item() / n_updates == pytest.approx((power + 1) / (power + 2), rel=0.01)


@pytest.mark.parametrize("conditional", [False, True])
def test_recalibrate_bn_gives_the_averaged_weights_their_own_statistics(conditional):
    """An averaged generator carries G's BatchNorm statistics; after recalibration its first BatchNorm's
    running mean is the mean of its own first layer's output on fresh noise, and it samples in eval mode."""
    from mnist_gan_utils.models import ConditionalGenerator, SelfConditionedGenerator
    from mnist_gan_utils.training.averaging import recalibrate_bn
    torch.manual_seed(0)
    G = ConditionalGenerator(16, 8) if conditional else SelfConditionedGenerator(16, 8, clusters=10)
    bn = G.net[1]
    bn.running_mean.fill_(5.0)  # stale statistics, as copied from another set of weights
    recalibrate_bn(G, batches=50, batch_size=64, seed=3)
    assert not G.training and bn.momentum == 0.1
    z = torch.randn(4096, 16)
    with torch.no_grad():
        h = torch.cat([z[:, 1:], G.embed(G.code(z))], 1) if not conditional else \
            torch.cat([z, G.embed(torch.arange(4096) % 10)], 1)
        first = G.net[0](h[:, :, None, None])  # the first transposed convolution, fed what G feeds it
    assert torch.allclose(bn.running_mean, first.mean((0, 2, 3)), atol=0.05 * first.std().item())
    with pytest.raises(ValueError, match="bn_recalibration"):
        GANConfig(bn_recalibration=-1)


def test_train_gan_recalibrates_the_averaged_generator_only(tmp_path, small_data):
    """The same run with and without recalibration: the same averaged weights, and the recalibrated run's
    statistics are those that ``recalibrate_bn`` gives those weights."""
    import copy
    from mnist_gan_utils.training.averaging import recalibrate_bn
    cfg = dict(epochs=1, max_steps_per_epoch=3, **TINY_GAN)
    kept = train_gan(GANConfig(run_dir=str(tmp_path / "kept"), bn_recalibration=0, **cfg), data=small_data).generator
    redone = train_gan(GANConfig(run_dir=str(tmp_path / "redone"), bn_recalibration=7, **cfg), data=small_data).generator
    for name, w in kept.named_parameters():
        assert torch.equal(w, dict(redone.named_parameters())[name])
    assert not torch.equal(kept.net[1].running_mean, redone.net[1].running_mean)
    expected = copy.deepcopy(kept)
    recalibrate_bn(expected, 7, TINY_GAN["batch_size"], seed=0)
    for (name, b), b_expected in zip(redone.named_buffers(), expected.buffers()):
        assert torch.allclose(b.float(), b_expected.float()), name


def test_batch_larger_than_data_is_refused(small_data):
    with pytest.raises(ValueError, match="batch_size"):
        train_gan(data=small_data, **dict(TINY_GAN, batch_size=1000))


@pytest.mark.parametrize("config, field, value, allowed", [
    (VAEConfig, "latent_dim", 0, INTEGER), (VAEConfig, "hidden", 2.0, INTEGER), (VAEConfig, "beta", "2", POSITIVE),
    (VAEConfig, "prior_components", -1, "an integer in [0, 1000] (0: the N(0, I) prior)"),
    (ClassifierConfig, "dropout", 1.0, UNIT),
    (ClassifierConfig, "weight_decay", -0.1, "a number in [0.0, 1.0]"), (ClassifierConfig, "channels", 0, INTEGER),
    (ClassifierConfig, "architecture", "resnet", "'cnn' or 'mlp'"),
    (PredictorConfig, "keep_threshold", 1.5, "a number in [0.0, 1.0]"), (PredictorConfig, "candidates", 0, INTEGER),
    (PredictorConfig, "min_bank", -1, "an integer >= 0"), (PredictorConfig, "mmd_weight", math.inf,
                                                          "a number in [0.0, 1000000.0]"),
])
def test_other_configs_name_the_parameter_its_range_and_the_value(config, field, value, allowed):
    with pytest.raises(ValueError) as e:
        config(**{field: value})
    assert str(e.value) == f"{field} must be {allowed}, got {value!r}"


def test_pick_device_prefers_cuda_then_mps_then_the_cpu(monkeypatch):
    here = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert pick_device(None) == pick_device("auto") == torch.device(here)   # this machine's best
    for cuda, mps, best in ((True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")):
        monkeypatch.setattr(torch.cuda, "is_available", lambda cuda=cuda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda mps=mps: mps)
        assert pick_device(None) == pick_device("auto") == torch.device(best), (cuda, mps)
        assert pick_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"^device 'cuda' was asked for but CUDA is not available here"):
        pick_device("cuda")
    with pytest.raises(ValueError, match=r"^device 'mps' was asked for but MPS is not available here"):
        pick_device("mps")
    with pytest.raises(ValueError, match=r"^device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got 'gpu0' \("):
        pick_device("gpu0")


def test_gradient_penalty_is_zero_for_a_unit_lipschitz_linear_critic():
    from mnist_gan_utils.training.wgan_gp import gradient_penalty
    w = torch.randn(784)
    w = w / w.norm()

    def critic(x):
        return x.flatten(1) @ w
    real, fake = torch.rand(4, 1, 28, 28), torch.rand(4, 1, 28, 28)
    assert gradient_penalty(critic, real, fake, torch.rand(4)).item() < 1e-10
    assert gradient_penalty(lambda x: 3 * critic(x), real, fake, torch.rand(4)).item() == pytest.approx(4.0, rel=1e-5)


def test_wgan_gp_option_trains_and_checks_its_settings(tmp_path, small_data):
    from mnist_gan_utils.models import Critic, Generator
    config = GANConfig(epochs=1, max_steps_per_epoch=3, loss="wgan-gp", clusters=0, n_critic=2, betas=(0.0, 0.9),
                       run_dir=str(tmp_path / "w"), **TINY_GAN)
    r = train_gan(config, data=small_data)
    assert all(math.isfinite(v) for v in r.history["step_loss_D"] + r.history["step_loss_G"])
    # G (its average) and the critic learned; the critic's last bias cannot: it cancels in E[C(fake)] - E[C(real)]
    assert_every_parameter_moved(config, r.generator, r.discriminator, still_in_D={"net.4.bias"})
    assert type(r.generator) is Generator and type(r.discriminator) is Critic   # the DCGAN's G, a critic without BN
    with pytest.raises(ValueError, match="loss"):
        GANConfig(loss="hinge")


@pytest.mark.parametrize("loss", ["bce", "wgan-gp"])
def test_conditional_gan_trains_with_either_objective(tmp_path, small_data, loss):
    from mnist_gan_utils.models import ConditionalDiscriminator, ConditionalGenerator
    extra = dict(n_critic=2, betas=(0.0, 0.9)) if loss == "wgan-gp" else {}
    config = GANConfig(epochs=1, max_steps_per_epoch=3, conditional=True, clusters=0, embed_dim=4, loss=loss,
                       run_dir=str(tmp_path / "c"), **extra, **TINY_GAN)
    r = train_gan(config, data=small_data)
    assert isinstance(r.generator, ConditionalGenerator) and isinstance(r.discriminator, ConditionalDiscriminator)
    assert all(math.isfinite(v) for v in r.history["step_loss_D"] + r.history["step_loss_G"])
    # the critic's last bias cannot learn: it cancels in E[C(fake)] - E[C(real)]
    assert_every_parameter_moved(config, r.generator, r.discriminator, {"head.bias"} if loss == "wgan-gp" else ())
    assert (tmp_path / "c" / "epoch_001.png").exists()


def test_gan_step_feeds_the_batch_labels_to_a_conditional_pair():
    from mnist_gan_utils.models import ConditionalDiscriminator, ConditionalGenerator
    from mnist_gan_utils.training.conditional import gan_step
    seen = []

    class Spy(ConditionalDiscriminator):
        def forward(self, x, labels):
            seen.append(labels.clone())
            return super().forward(x, labels)
    G, D = ConditionalGenerator(16, channels=8, embed_dim=4), Spy(channels=8)
    opt_G, opt_D = torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters())
    y = torch.tensor([1, 2, 3, 4])
    gan_step(G, D, opt_G, opt_D, torch.rand(4, 1, 28, 28) * 2 - 1, torch.randn(4, 16), labels=y)
    assert len(seen) == 3 and all(torch.equal(s, y) for s in seen)  # real, fake for D; fake for G
    seen.clear()
    gan_step(G, D, opt_G, opt_D, torch.rand(4, 1, 28, 28) * 2 - 1, torch.randn(4, 16), labels=y, mismatch=0.5)
    assert len(seen) == 4 and (seen[2] != y).all() and ((seen[2] >= 0) & (seen[2] <= 9)).all()  # + real, wrong label
    seen.clear()  # fakes asked for other labels than the real digits' (a self-conditioned G's own clusters)
    gan_step(G, D, opt_G, opt_D, torch.rand(4, 1, 28, 28) * 2 - 1, torch.randn(4, 16), labels=y,
             fake_labels=torch.tensor([5, 6, 7, 8]))
    assert torch.equal(seen[0], y) and torch.equal(seen[1], torch.tensor([5, 6, 7, 8])) and torch.equal(seen[2], seen[1])
    with pytest.raises(ValueError, match="pick one"):
        GANConfig(conditional=True, clusters=50)  # clusters and a label: D would get two
    with pytest.raises(ValueError, match=r"clusters \(300\) must not exceed train_size \(256\)"):
        GANConfig(train_size=256)  # k-means of 300 clusters on 256 images: refused before any data loads
    GANConfig(train_size=256, clusters=0), GANConfig(train_size=300)
    # the defaults: self-conditioned; no default depends on another setting
    assert (GANConfig().clusters, GANConfig().mismatch, GANConfig().cluster_embedding) == (300, 0.5, "centroid")
    assert (GANConfig(loss="wgan-gp").clusters, GANConfig(conditional=True, clusters=0).mismatch) == (300, 0.5)
    with pytest.raises(ValueError, match="cluster_embedding must be one of"):
        GANConfig(cluster_embedding="lookup")


def test_self_conditioned_gan_trains_on_clusters_not_labels(tmp_path, small_data, monkeypatch):
    """The default GAN shows D each real digit's k-means cluster; the digit labels are never read."""
    from mnist_gan_utils.clusters import fit_clusters
    from mnist_gan_utils.models import SelfConditionedDiscriminator, SelfConditionedGenerator
    from mnist_gan_utils.training import conditional
    x, y = small_data
    seen = []
    real_step = conditional.gan_step
    monkeypatch.setattr(conditional, "gan_step", lambda *a, **k: seen.append(k["labels"].clone()) or real_step(*a, **k))
    r = train_gan(GANConfig(epochs=1, max_steps_per_epoch=3, clusters=8, mismatch=0.5, run_dir=str(tmp_path / "s"),
                            **TINY_GAN),
                  data=(x, torch.zeros_like(y)))  # labels all 0: any use of them would show
    assert isinstance(r.generator, SelfConditionedGenerator) and r.generator.clusters == 8
    assert isinstance(r.discriminator, SelfConditionedDiscriminator) and r.discriminator.clusters == 8
    fitted = fit_clusters(x, 8, seed=0)
    assert torch.allclose(r.generator.cluster_cdf, fitted.prior.cumsum(0))
    assert torch.equal(r.discriminator.centroids, fitted.centroids)
    # G and D compute each cluster's vectors from its centroid (standardised), all three parts the same points
    points = fitted.centroids - fitted.centroids.mean(0)
    points = points / points.std()
    for part in (r.generator.embed, r.discriminator.embed, r.discriminator.project):
        assert torch.allclose(part.points, points)
    batch_clusters = torch.cat(seen)
    assert len(seen) == 3 and batch_clusters.max() <= 7 and len(batch_clusters.unique()) > 1
    assert set(batch_clusters.tolist()) <= set(fitted.assignments.tolist())
    assert r.generator(torch.randn(4, 16)).shape == (4, 1, 28, 28)  # sampled as G(z): a plain generator
    assert len(r.history["within_cluster_spread"]) == 1 and r.history["within_cluster_spread"][0] > 0


def test_cluster_probe_tells_a_collapse_inside_clusters_from_varied_samples(small_data):
    """One image per cluster is a collapse the probe names; other real members of the cluster are not."""
    from mnist_gan_utils.training.self_conditioning import ClusterProbe
    x, _ = small_data
    clusters = torch.arange(len(x)) % 4
    probe = ClusterProbe(x[:len(x) // 2], clusters[:len(x) // 2], noise_dim=3, seed=0, shown=4, n=16)

    class Members(torch.nn.Module):  # "draws" cluster c as real digits of c that the probe has not seen
        def __init__(self, collapsed):
            super().__init__()
            self.w, self.collapsed = torch.nn.Parameter(torch.zeros(1)), collapsed

        def forward(self, z, codes):
            pool = x[len(x) // 2:][clusters[len(x) // 2:] == codes[0]][:len(z)]
            pool = pool[:1].expand(len(z), -1, -1) if self.collapsed else pool
            return pool.float().div(127.5).sub(1)[:, None]

    assert 0.8 < probe.ratio(Members(collapsed=False)) < 1.25
    with pytest.warns(RuntimeWarning, match="look alike"):
        assert probe.check(Members(collapsed=True), epoch=0) == 0.0


def test_starting_from_a_generator_of_another_width_says_which_setting_to_change(tmp_path, small_data):
    """A pretrained generator of another width: init_from names g_channels, not mismatched shapes."""
    import json

    from mnist_gan_utils.checkpoints import sha256_file
    from mnist_gan_utils.training import DCGANConfig, train_dcgan
    tiny = dict(noise_dim=16, g_channels=8, d_channels=8, batch_size=32, grid_size=16, progress=False, device="cpu",
                max_steps_per_epoch=1)
    first = train_dcgan(DCGANConfig(epochs=1, run_dir=str(tmp_path / "a"), **tiny), data=small_data)
    path = tmp_path / "generator.pth"
    torch.save(first.generator.state_dict(), path)
    (tmp_path / "manifest.json").write_text(json.dumps({"models": {"generator": {
        "file": "generator.pth", "sha256": sha256_file(path), "config": {"channels": 8}}}}))
    with pytest.raises(ValueError, match="set g_channels=8"):
        train_dcgan(DCGANConfig(epochs=1, run_dir=str(tmp_path / "b"), init_from=str(tmp_path),
                                **{**tiny, "g_channels": 16}), data=small_data)
    train_dcgan(DCGANConfig(epochs=1, run_dir=str(tmp_path / "c"), init_from=str(tmp_path), **tiny),
                data=small_data)  # the right width starts from it


def test_the_add_on_loop_with_no_add_on_trains_the_dcgans_own_pair_with_the_average(tmp_path, small_data):
    """Notebook 06's rung 1: the DCGAN's Generator and Discriminator, the weight average, and (unless
    lr_decay=False) learning rates that fall linearly to 0."""
    from mnist_gan_utils.models import Discriminator, Generator
    tiny = dict(batch_size=32, max_steps_per_epoch=4, train_size=256, g_channels=8, d_channels=8, grid_size=16,
                progress=False, bn_recalibration=2)
    r = train_gan(GANConfig(epochs=1, clusters=0, run_dir=str(tmp_path / "a"), **tiny), data=small_data)
    assert r.history["fixed_noise_top2_share"]  # the kit's classifier watched the grid
    assert type(r.generator) is Generator and type(r.discriminator) is Discriminator
    ckpt = load_checkpoint(r.run_dir / "checkpoint.pt")
    assert ckpt["schedulers"]["G"]["_last_lr"][0] == 0.0                       # decayed to 0 over the run
    r = train_gan(GANConfig(epochs=1, clusters=0, lr_decay=False, run_dir=str(tmp_path / "b"), **tiny), data=small_data)
    assert load_checkpoint(r.run_dir / "checkpoint.pt")["schedulers"]["G"]["_last_lr"][0] == pytest.approx(2e-4)


def test_an_epoch_leaves_one_summary_line_and_no_bar_when_quiet(capsys, monkeypatch):
    import re

    from mnist_gan_utils.training.progress import PROGRESS_ENV, progress_bar
    monkeypatch.setenv(PROGRESS_ENV, "0")   # as papermill and CI run the notebooks
    bar = progress_bar(range(4), 4, "epoch 1/2", enabled=True)
    for i in bar:
        bar.log(loss_D=float(i), D_x=1.0)
    assert bar.bar is None
    out = capsys.readouterr()
    assert out.err == "" and re.fullmatch(r"epoch 1/2: 4 steps in \d+ s, loss_D 1\.500, D_x 1\.000\n", out.out)


def test_an_epoch_shows_a_bar_that_disappears_and_disabled_shows_nothing(capsys, monkeypatch):
    from mnist_gan_utils.training.progress import PROGRESS_ENV, progress_bar
    monkeypatch.setenv(PROGRESS_ENV, "1")
    bar = progress_bar(range(3), 3, "epoch 1/1", enabled=True)
    assert bar.bar is not None and not bar.bar.disable and not bar.bar.leave
    assert list(bar) == [0, 1, 2] and bar.bar.disable   # closed at the end of the epoch
    assert capsys.readouterr().out.startswith("epoch 1/1: 3 steps in ")
    silent = progress_bar(range(3), 3, "epoch 1/1", enabled=False)
    assert list(silent) == [0, 1, 2] and silent.bar is None
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_the_second_classifier_trains_and_architecture_is_checked(tmp_path, mnist_train):
    from mnist_gan_utils.models import MLPClassifier
    r = train_classifier(ClassifierConfig(architecture="mlp", epochs=1, max_steps_per_epoch=30, rotation=0.0,
                                          run_dir=str(tmp_path), progress=False), data=mnist_train)
    assert isinstance(r.classifier, MLPClassifier) and r.history["train_accuracy"][-1] > 0.5
    with pytest.raises(ValueError, match="architecture"):
        ClassifierConfig(architecture="resnet")
