"""Students interrupt kernels and paste odd values into parameter cells: nothing may be lost, and every
bad value gets an error that names it."""
import math
import signal
import subprocess
import sys
import time

import pytest
import torch
from hypothesis import HealthCheck, given, settings
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


@settings(max_examples=30, deadline=None)
@given(field=st.sampled_from(["epochs", "batch_size", "lr", "noise_dim", "g_channels", "grid_size"]),
       value=bad_numbers)
def test_bad_gan_config_values_name_the_field(field, value):
    with pytest.raises((ValueError, TypeError), match=field):
        GANConfig(**{field: value})


@settings(max_examples=30, deadline=None)
@given(b1=st.floats(allow_nan=True, allow_infinity=True), b2=st.floats(allow_nan=True, allow_infinity=True))
def test_betas_outside_unit_interval_are_refused(b1, b2):
    if 0 <= b1 < 1 and 0 <= b2 < 1:
        GANConfig(betas=(b1, b2))
    else:
        with pytest.raises(ValueError, match="betas"):
            GANConfig(betas=(b1, b2))


@settings(max_examples=20, deadline=None)
@given(field=st.sampled_from(["epochs", "batch_size", "lr", "latent_dim", "hidden", "beta"]), value=bad_numbers)
def test_bad_vae_config_values_name_the_field(field, value):
    with pytest.raises((ValueError, TypeError), match=field):
        VAEConfig(**{field: value})


@settings(max_examples=20, deadline=None)
@given(field=st.sampled_from(["epochs", "lr", "channels", "weight_decay", "rotation"]),
       value=st.one_of(st.just(-1), st.just(math.nan), st.just(-0.5)))
def test_bad_classifier_config_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        ClassifierConfig(**{field: value})


tensor_shapes = st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple)
dtypes = st.sampled_from([torch.float32, torch.float64, torch.int64, torch.uint8, torch.bool])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=tensor_shapes, dtype=dtypes)
def test_models_reject_wrong_tensors_with_a_named_error(shape, dtype):
    x = torch.zeros(shape, dtype=dtype)
    for model, ok_shape in ((Generator(16, 4), (16,)), (Decoder(8, 16), (8,)), (Classifier(4, 8), (1, 28, 28))):
        if tuple(shape[1:]) == ok_shape and dtype.is_floating_point:
            continue
        with pytest.raises((ValueError, TypeError), match="expected"):
            model.eval()(x)


@settings(max_examples=30, deadline=None)
@given(shape=tensor_shapes, scale=st.sampled_from([-2.0, 3.0, 255.0]))
def test_evaluation_rejects_wrong_shapes_and_ranges(shape, scale):
    C = Classifier(4, 8)
    with pytest.raises((ValueError, TypeError), match="images"):
        ev.predict_proba(C, torch.full(shape, scale))


def test_tensor_on_another_device_is_named():
    G = Generator(16, 4)
    x = torch.zeros(2, 16, device="meta")
    with pytest.raises(ValueError, match="expected a tensor on cpu"):
        G(x)


def test_class_collapse_is_reported_during_training(tmp_path, small_data, recwarn):
    """With lr ~ 0 the generator stays at its initial, near-constant output: every fixed-noise sample
    is the same 'digit', and training says so each epoch."""
    pytest.importorskip("mnist_gan_utils.checkpoints").load_pretrained("classifier")
    r = train_gan(GANConfig(epochs=1, lr=1e-12, run_dir=str(tmp_path / "r"), grid_size=64,
                            **{k: v for k, v in TINY.items() if k != "grid_size"}), data=small_data)
    assert r.history["fixed_noise_top2_share"][0] >= 0.8
    assert any("mode collapse" in str(w.message) for w in recwarn)
