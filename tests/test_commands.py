"""Every command of ``python -m mnist_gan_utils`` and every training kind runs once with tiny settings,
gives what a direct call gives, and writes where it is told and nowhere else: never into the kit's
outputs/ folder. In-process through ``cli.main`` (fast); one subprocess shows ``python -m`` works.
And ``load_pretrained``, which the commands sample with, gives every model in eval mode."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import mnist_gan_utils.data as data_module
import mnist_gan_utils.training.predictor as predictor_module
from mnist_gan_utils import cli
from mnist_gan_utils.checkpoints import load_checkpoint, load_pretrained, read_manifest
from mnist_gan_utils.evaluation import evaluate_generator, sample
from mnist_gan_utils.paths import OUTPUTS_DIR
from mnist_gan_utils.plotting import save_grid
from mnist_gan_utils.registry import RECIPES


def _listing(folder):
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns) for p in folder.rglob("*")) \
        if folder.exists() else None


@pytest.fixture
def kit_outputs(tmp_path, monkeypatch):
    """Run from tmp_path, with the kit's outputs/ moved to tmp_path/kit_outputs for every module that
    names it: a command that ignores --out or --run-dir writes there, and the test sees it."""
    moved = tmp_path / "kit_outputs"
    for name, module in list(sys.modules.items()):
        if name.startswith("mnist_gan_utils") and getattr(module, "OUTPUTS_DIR", None) == OUTPUTS_DIR:
            monkeypatch.setattr(module, "OUTPUTS_DIR", moved)
    monkeypatch.chdir(tmp_path)
    before = _listing(OUTPUTS_DIR)
    yield moved
    assert _listing(OUTPUTS_DIR) == before, "the kit's own outputs/ changed"


@pytest.fixture
def small_test_set(monkeypatch):
    """The first 500 test digits stand in for the 10,000 (the classifier's accuracy, the Fréchet distance)."""
    real = data_module.load_mnist

    def load_mnist(split="train", *args, **kwargs):
        images, labels = real(split, *args, **kwargs)
        return (images[:500], labels[:500]) if split == "test" else (images, labels)
    monkeypatch.setattr(data_module, "load_mnist", load_mnist)


def _pixels(path):
    return np.asarray(Image.open(path).convert("L"))


@pytest.mark.parametrize("model, digit", [("decoder", None), ("conditional_generator", 7)])
def test_sample_writes_the_grid_a_direct_call_draws_to_out(model, digit, kit_outputs, tmp_path, capsys):
    args = ["sample", "--model", model, "--n", "4", "--out", "tmp/x.png"] + (["--digit", str(digit)] if digit else [])
    assert cli.main(args) == 0
    out = tmp_path / "tmp" / "x.png"  # relative to the working directory
    assert f"wrote {os.path.join('tmp', 'x.png')}" in capsys.readouterr().out
    labels = None if digit is None else torch.full((4,), digit)
    direct = save_grid(sample(load_pretrained(model), 4, 0, labels=labels), tmp_path / "direct.png")
    assert np.array_equal(_pixels(out), _pixels(direct))
    assert not kit_outputs.exists()


def test_sample_refuses_a_digit_for_a_model_that_cannot_be_asked_for_one(kit_outputs, capsys):
    assert cli.main(["sample", "--model", "decoder", "--n", "4", "--digit", "3", "--out", "x.png"]) == 2
    assert "--digit needs --model conditional_generator or flow_matching" in capsys.readouterr().err
    assert not kit_outputs.exists()


def test_the_first_command_and_sample_without_out_write_into_outputs(kit_outputs, capsys):
    """``python -m mnist_gan_utils`` (the README's first command) and ``sample`` with no --out write
    their grids into outputs/ (here moved under tmp_path), as the README says."""
    assert cli.main([]) == 0
    assert cli.main(["sample", "--model", "decoder", "--n", "4"]) == 0
    written = ["first_digits_generator.png", "first_digits_decoder.png", "decoder_samples.png"]
    assert sorted(p.name for p in kit_outputs.iterdir()) == sorted(written)
    assert capsys.readouterr().out.split() == [w for name in written for w in ("wrote", str(kit_outputs / name))]


def test_data_with_mnist_in_place_checks_it_and_writes_nothing(kit_outputs, capsys):
    raw = data_module.raw_dir()
    before = _listing(raw)
    assert cli.main(["data"]) == 0
    assert capsys.readouterr().out.strip() == str(raw) and _listing(raw) == before
    assert not kit_outputs.exists()


@pytest.mark.parametrize("model", ["generator", "conditional_generator"])
def test_evaluate_prints_the_figures_of_a_direct_call(model, kit_outputs, small_test_set, capsys):
    assert cli.main(["evaluate", "--model", model, "--n", "50"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == evaluate_generator(load_pretrained(model), load_pretrained("classifier"), 50, seed=1)
    assert printed["n"] == 50
    for key in ("recognised_rate", "blend_rate", "min_class_fraction", "max_class_fraction"):
        assert 0 <= printed[key] <= 1, key
    assert len(printed["class_fractions"]) == 10 and sum(printed["class_fractions"]) == pytest.approx(1, abs=1e-3)
    assert printed["min_class_fraction"] <= printed["max_class_fraction"]
    for key in ("kl_to_uniform", "frechet_distance", "frechet_floor", "frechet_ratio"):
        assert printed[key] >= 0, key
    if model == "conditional_generator":
        assert 0 <= printed["label_accuracy"] <= 1 and len(printed["per_digit_accuracy"]) == 10
    assert not kit_outputs.exists()


NARROW = ["--g-channels", "8", "--d-channels", "8"]  # the add-ons recalibrate G on 200 batches after each epoch


@pytest.mark.slow
def test_evaluate_with_its_defaults_reproduces_the_manifests_figures(kit_outputs, capsys):
    """As the README says: 10,000 samples, judged as ``pretrain`` judged them (about 40 s of CPU)."""
    assert cli.main(["evaluate", "--model", "generator"]) == 0
    printed = json.loads(capsys.readouterr().out)
    for key, value in read_manifest()["models"]["generator"]["metrics"].items():
        assert printed[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key


@pytest.mark.parametrize("kind, extra, files", [
    ("vae", [], ["samples.png"]),
    ("classifier", [], []),
    ("predictor", [], ["digits.png"]),
    ("flow_matching", [], ["epoch_001.png"]),
    ("dcgan", [*NARROW], ["epoch_001.png"]),
    ("gan", [*NARROW, "--clusters", "8"], ["epoch_001.png"]),  # the default 300 clusters need more than 256 digits
    ("gan", [*NARROW, "--conditional", "--clusters", "0", "--loss", "wgan-gp"], ["epoch_001.png"]),
], ids=["vae", "classifier", "predictor", "flow_matching", "dcgan", "gan", "gan-conditional-wgan-gp"])
def test_train_trains_one_tiny_epoch_into_run_dir(kind, extra, files, kit_outputs, small_test_set, tmp_path,
                                                   monkeypatch, capsys):
    real = predictor_module.train_predictor  # its code bank's 20,000 candidates: no option sets them
    monkeypatch.setattr(predictor_module, "train_predictor", lambda G, C, **kw: real(G, C, candidates=2000, **kw))
    run = tmp_path / "run"
    size = None if kind == "predictor" else 256  # the predictor trains on its generator's codes, not on images
    argv = ["train", kind, "--epochs", "1", "--max-steps", "2", *(["--train-size", str(size)] if size else []),
            "--run-dir", str(run), "--device", "cpu", *extra]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert f"checkpoint: {run}/checkpoint.pt" in out
    ckpt = load_checkpoint(run / "checkpoint.pt")
    assert ckpt["epoch"] == 0
    assert {k: ckpt["config"][k] for k in ("epochs", "max_steps_per_epoch", "train_size", "device")} == \
        {"epochs": 1, "max_steps_per_epoch": 2, "train_size": size, "device": "cpu"}
    if kind == "gan":
        assert ckpt["config"]["clusters"] == (0 if "--conditional" in extra else 8)
        assert ckpt["config"]["conditional"] == ("--conditional" in extra)
        assert ckpt["config"]["loss"] == ("wgan-gp" if "--loss" in extra else "bce")
    for name in files:
        assert (run / name).is_file() and str(run / name) in out
    assert not kit_outputs.exists()


def test_python_dash_m_runs_the_command_line(kit_home, tmp_path):
    """As a student types it, from another folder, with the kit's outputs/ in a home of the test's own."""
    r = subprocess.run([sys.executable, "-m", "mnist_gan_utils", "sample", "--model", "decoder", "--n", "4",
                        "--out", "x.png"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "wrote x.png" in r.stdout and _pixels(tmp_path / "x.png").shape == (32, 122)
    assert not (kit_home / "outputs").exists()


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_load_pretrained_returns_every_model_ready_to_sample_in_eval_mode(name):
    """Dropout off and BatchNorm on its running statistics, in every sub-module: what the commands and
    the lessons sample and judge with."""
    model = load_pretrained(name)
    assert [n or type(model).__name__ for n, m in model.named_modules() if m.training] == []
