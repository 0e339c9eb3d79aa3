"""The flow-matching model: shapes, the loss and the solvers on toy batches, the training loop's resume
and seeding, and bad settings named."""
import pytest
import torch

from mnist_gan_utils import evaluation as ev
from mnist_gan_utils.checkpoints import load_checkpoint
from mnist_gan_utils.models import FlowMatchingGenerator, VelocityUNet
from mnist_gan_utils.models.flow_matching import NULL_LABEL, euler_step, guided_velocity, midpoint_step, solve
from mnist_gan_utils.training import FlowMatchingConfig, flow_matching_loss, train_flow_matching

TINY = dict(channels=8, emb_dim=16, batch_size=32, max_steps_per_epoch=4, grid_size=10, steps=2, progress=False,
            device="cpu", lr=3e-3)  # a step size at which 8 steps already learn something measurable


def test_the_network_keeps_the_image_shape_and_names_a_bad_input():
    net = VelocityUNet(channels=8, emb_dim=16)
    x, t, y = torch.randn(5, 1, 28, 28), torch.rand(5), torch.tensor([0, 3, 9, NULL_LABEL, 1])
    assert net(x, t, y).shape == (5, 1, 28, 28)
    with pytest.raises(ValueError, match="VelocityUNet input x"):
        net(torch.randn(5, 28, 28), t, y)
    with pytest.raises(ValueError, match="multiple of 8"):
        VelocityUNet(channels=12)


def test_the_loss_falls_on_a_toy_batch(small_data):
    torch.manual_seed(0)
    net = VelocityUNet(channels=8, emb_dim=16)
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    x1 = small_data[0][:16].float().div(127.5).sub(1).unsqueeze(1)        # 16 digits in [-1, 1]
    y = small_data[1][:16]
    g = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(60):
        loss = flow_matching_loss(net, x1, y, 0.1, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) / 10 < 0.7 * sum(losses[:10]) / 10


def test_the_solvers_follow_a_known_velocity_exactly_on_straight_paths():
    """For v(x, t) = c (a straight path), Euler and midpoint both land at x0 + c; for v = x (exponential
    growth) the midpoint step is closer to e than Euler's."""
    x0, c = torch.zeros(3), torch.tensor([1.0, -2.0, 0.5])
    for step in (euler_step, midpoint_step):
        x = x0
        for i in range(4):
            x = step(lambda x, t: c, x, i / 4, 0.25)
        assert torch.allclose(x, c)
    one = torch.ones(1)
    euler, mid = one, one
    for i in range(5):
        euler, mid = euler_step(lambda x, t: x, euler, i / 5, 0.2), midpoint_step(lambda x, t: x, mid, i / 5, 0.2)
    assert abs(mid.item() - torch.e) < abs(euler.item() - torch.e)


def test_guidance_zero_ignores_the_label_and_one_follows_it():
    torch.manual_seed(0)
    net = VelocityUNet(channels=8, emb_dim=16)
    torch.nn.init.normal_(net.out[-1].weight)  # not the zero start: the velocity must depend on the label
    x, t = torch.randn(4, 1, 28, 28), torch.rand(4)
    threes, sevens = torch.full((4,), 3), torch.full((4,), 7)
    with torch.no_grad():
        assert torch.equal(guided_velocity(net, x, t, threes, 0.0), guided_velocity(net, x, t, sevens, 0.0))
        assert torch.allclose(guided_velocity(net, x, t, threes, 1.0), net(x, t, threes))
        assert not torch.allclose(guided_velocity(net, x, t, threes, 2.0), net(x, t, threes))


def test_the_generator_samples_deterministically_in_range_through_sample():
    G = FlowMatchingGenerator(channels=8, emb_dim=16, steps=2)
    torch.nn.init.normal_(G.net.out[-1].weight, std=0.1)
    a = ev.sample(G, 6, seed=3)
    assert a.shape == (6, 1, 28, 28) and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, ev.sample(G, 6, seed=3)) and not torch.equal(a, ev.sample(G, 6, seed=4))
    images, labels = ev.sample_digits(None, G, [2, 5], 3, seed=1)
    assert images.shape == (6, 1, 28, 28) and labels.tolist() == [2, 2, 2, 5, 5, 5]
    _, states = solve(G.net, torch.randn(2, 1, 28, 28), torch.tensor([1, 2]), steps=3, trajectory=True)
    assert len(states) == 4
    with pytest.raises(ValueError, match="solver"):
        solve(G.net, torch.randn(2, 1, 28, 28), torch.tensor([1, 2]), solver="rk4")


@pytest.mark.parametrize("field, value, allowed", [
    ("label_dropout", 1.0, "a number in [0.0, 1.0)"), ("ema_decay", -0.1, "a number in [0.0, 1.0)"),
    ("solver", "heun4", "one of ('euler', 'midpoint')"), ("steps", 0, "an integer in [1, 1000]"),
    ("steps", 2.0, "an integer in [1, 1000]"), ("channels", 20, "a multiple of 8 in [8, 512] (GroupNorm's 8 groups)"),
    ("channels", 520, "an integer in [1, 512]"), ("emb_dim", None, "an integer in [1, 2048]"),
    ("guidance", -1.0, "a number in [0.0, 20.0]"), ("guidance", "1.5", "a number in [0.0, 20.0]"),
    ("lr", 0.0, "a finite number > 0"),
])
def test_bad_settings_name_the_setting_its_range_and_the_value(field, value, allowed):
    with pytest.raises(ValueError) as e:
        FlowMatchingConfig(**{field: value})
    assert str(e.value) == f"{field} must be {allowed}, got {value!r}"


def test_training_writes_grids_and_a_resumed_run_equals_an_uninterrupted_one(tmp_path, small_data):
    full = train_flow_matching(FlowMatchingConfig(epochs=2, run_dir=str(tmp_path / "full"), **TINY), data=small_data)
    assert [p.name for p in full.grids] == ["epoch_001.png", "epoch_002.png"]
    train_flow_matching(FlowMatchingConfig(epochs=1, run_dir=str(tmp_path / "half"), **TINY), data=small_data)
    resumed = train_flow_matching(FlowMatchingConfig(epochs=2, run_dir=str(tmp_path / "half"), resume=True, **TINY),
                                  data=small_data)
    a, b = (load_checkpoint(r.run_dir / "checkpoint.pt")["models"] for r in (full, resumed))
    assert all(torch.equal(a["net"][k], b["net"][k]) for k in a["net"])
    assert all(torch.equal(a["net_ema"][k], b["net_ema"][k]) for k in a["net_ema"])
    assert not full.generator.training
    # The loop learned the straight paths' velocity x1 - x0, measured here without flow_matching_loss: on 256
    # fixed points of those paths, the network that draws errs clearly less than one that predicts no velocity
    # (the untrained network, whose last layer starts at zero). About 0.95 of it after these 8 steps.
    g = torch.Generator().manual_seed(1)
    x1, y = small_data[0][:256].float().div(127.5).sub(1).unsqueeze(1), small_data[1][:256]
    x0, t = torch.randn(x1.shape, generator=g), torch.rand(256, generator=g)
    x_t = (1 - t.view(-1, 1, 1, 1)) * x0 + t.view(-1, 1, 1, 1) * x1
    with torch.no_grad():
        error = torch.nn.functional.mse_loss(full.generator.net(x_t, t, y), x1 - x0).item()
    assert error < 0.97 * (x1 - x0).pow(2).mean().item()


def test_solve_moves_noise_and_labels_drawn_on_the_cpu_to_the_networks_device():
    """Notebook 07 draws its noise and labels on the CPU; with DEVICE on a GPU the network is there. The
    meta device stands in for the GPU here: a tensor left on the CPU would fail to meet the network's."""
    from mnist_gan_utils.models.flow_matching import VelocityUNet, solve
    net = VelocityUNet(channels=8, emb_dim=16).to("meta")
    x, states = solve(net, torch.randn(2, 1, 28, 28), torch.arange(2), steps=1, trajectory=True)
    assert x.device.type == "meta" and x.shape == (2, 1, 28, 28) and states[0].device.type == "meta"
