"""Students interrupt kernels and paste odd values into parameter cells: nothing may be lost, and every
bad value gets an error that names it."""
import math
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mnist_gan_utils import evaluation as ev
from mnist_gan_utils.models import Classifier, Decoder, Generator
from mnist_gan_utils.training import ClassifierConfig, GANConfig, VAEConfig, train_gan

TINY = dict(g_channels=8, d_channels=8, noise_dim=16, batch_size=32, grid_size=16, progress=False, device="cpu",
            max_steps_per_epoch=80, train_size=4096)

SCRIPT = """
import sys, time
from pathlib import Path
from mnist_gan_utils.training import GANConfig, train_gan
run = Path(sys.argv[1])
def mark(epoch, *_):
    (run.parent / f"done_{epoch}").write_text("ok")
train_gan(GANConfig(epochs=3, run_dir=str(run), **%r), on_epoch_end=mark)
""" % (TINY,)


def test_sigkill_mid_epoch_then_resume_equals_uninterrupted(tmp_path):
    run = tmp_path / "killed" / "run"
    run.parent.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(run)])
    deadline = time.time() + 300
    while not (run.parent / "done_0").exists():
        assert proc.poll() is None and time.time() < deadline, "the training subprocess ended early"
        time.sleep(0.05)
    time.sleep(0.1)  # inside the second epoch (80 steps take well over 0.1 s)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run.parent / "done_1").exists(), "killed too late to test a mid-epoch interruption"
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)  # never half-written: it loads
    assert ckpt["epoch"] == 0

    resumed = train_gan(GANConfig(epochs=3, run_dir=str(run), resume=True, **TINY))
    full = train_gan(GANConfig(epochs=3, run_dir=str(tmp_path / "full"), **TINY))
    for a, b in zip(full.generator.state_dict().values(), resumed.generator.state_dict().values()):
        assert torch.equal(a, b)
    assert full.history["step_loss_D"] == resumed.history["step_loss_D"]


bad_numbers = st.one_of(st.integers(max_value=0), st.just(math.nan), st.just(math.inf), st.just(-math.inf),
                        st.floats(max_value=0.0), st.text(max_size=3), st.none(), st.booleans())
# What each message says is allowed: "<field> must be <this>, got <repr of the value>", a ValueError whatever
# the value's type (README: "A bad setting raises a ValueError that names it and its range").
ALLOWED = {"epochs": "an integer >= 1", "batch_size": "an integer in [1, 60000]", "lr": "a finite number > 0",
           "noise_dim": "an integer in [1, 4096]", "g_channels": "an integer in [1, 4096]",
           "grid_size": "an integer in [1, 1024]", "latent_dim": "an integer >= 1", "hidden": "an integer >= 1",
           "beta": "a finite number > 0", "channels": "an integer >= 1", "weight_decay": "a number in [0.0, 1.0]",
           "rotation": "a number in [0.0, 180.0]"}


def raises_named(field, value):
    return pytest.raises(ValueError, match=f"^{re.escape(f'{field} must be {ALLOWED[field]}, got {value!r}')}$")


@settings(max_examples=30, deadline=None)
@given(field=st.sampled_from(["epochs", "batch_size", "lr", "noise_dim", "g_channels", "grid_size"]),
       value=bad_numbers)
def test_bad_gan_config_values_name_the_field(field, value):
    with raises_named(field, value):
        GANConfig(**{field: value})


@settings(max_examples=30, deadline=None)
@given(b1=st.floats(allow_nan=True, allow_infinity=True), b2=st.floats(allow_nan=True, allow_infinity=True))
@example(0.5, 1.0)  # at the ends of [0, 1)
@example(1.0, 0.0)
@example(0.0, 0.999)
@example(-1e-9, 0.9)
def test_betas_outside_unit_interval_are_refused(b1, b2):
    if 0 <= b1 < 1 and 0 <= b2 < 1:
        GANConfig(betas=(b1, b2))
    else:
        with pytest.raises(ValueError, match=re.escape(f"betas must be a pair (beta1, beta2), each in [0, 1), "
                                                       f"got {(b1, b2)!r}")):
            GANConfig(betas=(b1, b2))


@settings(max_examples=20, deadline=None)
@given(field=st.sampled_from(["epochs", "batch_size", "lr", "latent_dim", "hidden", "beta"]), value=bad_numbers)
def test_bad_vae_config_values_name_the_field(field, value):
    with raises_named(field, value):
        VAEConfig(**{field: value})


@settings(max_examples=20, deadline=None)
@given(field=st.sampled_from(["epochs", "lr", "channels", "weight_decay", "rotation"]),
       value=st.one_of(st.just(-1), st.just(math.nan), st.just(-0.5), st.just("1"), st.none()))
def test_bad_classifier_config_values_name_the_field(field, value):
    with raises_named(field, value):
        ClassifierConfig(**{field: value})


tensor_shapes = st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple)
dtypes = st.sampled_from([torch.float32, torch.float64, torch.int64, torch.uint8, torch.bool])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, 2), n=st.integers(1, 5), right_shape=st.booleans(), other=tensor_shapes, dtype=dtypes)
def test_models_reject_wrong_tensors_with_a_named_error(which, n, right_shape, other, dtype):
    """A wrong dtype is a TypeError, whatever the shape (float64, numpy's default, too: the weights are
    float32); a float32 tensor of a wrong shape a ValueError; the right one goes through."""
    model, trailing = ((Generator(16, 4), (16,)), (Decoder(8, 16), (8,)), (Classifier(4, 8), (1, 28, 28)))[which]
    x = torch.zeros((n, *trailing) if right_shape else (n, *other), dtype=dtype)
    model.eval()
    if dtype != torch.float32:
        expected = "torch.float32 tensor (the model's weights)" if dtype.is_floating_point else "floating-point tensor"
        with pytest.raises(TypeError, match="input [zx]: " + re.escape(f"expected a {expected}, got {dtype}; "
                                                                       f"convert with .float()")):
            model(x)
    elif tuple(x.shape[1:]) != trailing:  # (other has no dimension above 5: never a right shape)
        with pytest.raises(ValueError, match=r"input.*: expected shape \(N, .*\), got \("):
            model(x)
    else:
        with torch.no_grad():
            assert model(x).shape[0] == n


@settings(max_examples=30, deadline=None)
@given(shape=tensor_shapes)
def test_evaluation_rejects_wrong_shapes(shape):
    with pytest.raises(ValueError, match=r"^images must have shape \(N, 1, 28, 28\) or \(N, 28, 28\), got \("):
        ev.predict_proba(Classifier(4, 8), torch.rand(shape))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 5), three_dims=st.booleans(), ends=st.lists(st.floats(-3.0, 300.0), min_size=2, max_size=2))
def test_evaluation_rejects_images_outside_the_unit_range(n, three_dims, ends):
    """Right shapes, (N, 1, 28, 28) or (N, 28, 28): the range check answers, naming the range found."""
    x = torch.linspace(min(ends), max(ends), n * 784).view(n, 1, 28, 28)
    x = x[:, 0] if three_dims else x
    if x.min() >= 0 and x.max() <= 1:
        assert ev.predict_proba(Classifier(4, 8), x).shape == (n, 10)
    elif x.min() < -1e-3 or x.max() > 1 + 1e-3:
        found = f"[{x.min():.2f}, {x.max():.2f}]"
        with pytest.raises(ValueError, match=re.escape(f"images must be in [0, 1] (got {found}); map Generator "
                                                       f"outputs with to_unit()")):
            ev.predict_proba(Classifier(4, 8), x)


def test_tensor_on_another_device_is_named():
    G = Generator(16, 4)
    x = torch.zeros(2, 16, device="meta")
    with pytest.raises(ValueError, match="expected a tensor on cpu"):
        G(x)


def test_class_collapse_is_reported_during_training(tmp_path, small_data, recwarn):
    """With lr ~ 0 the generator stays at its initial, near-constant output: every fixed-noise sample
    is the same 'digit', and training says so from the second epoch (the first is the pixel check's alone)."""
    pytest.importorskip("mnist_gan_utils.checkpoints").load_pretrained("classifier")
    r = train_gan(GANConfig(epochs=2, lr=1e-12, run_dir=str(tmp_path / "r"), grid_size=64,
                            **{k: v for k, v in TINY.items() if k != "grid_size"}), data=small_data)
    assert min(r.history["fixed_noise_top2_share"]) >= 0.8
    assert any("epoch 2: mode collapse:" in str(w.message) for w in recwarn)  # the class check, from epoch 2
    assert not any("epoch 1: mode collapse:" in str(w.message) for w in recwarn)
