import json
import subprocess
import sys

from mnist_gan_utils.paths import REPO_ROOT


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mnist_gan_utils", *args], cwd=cwd or REPO_ROOT,
                          capture_output=True, text=True, timeout=600)


def test_train_gan_from_another_directory_writes_grid_and_checkpoint(tmp_path):
    run = tmp_path / "run"
    r = _run("train", "gan", "--epochs", "1", "--max-steps", "3", "--batch-size", "32", "--run-dir", str(run),
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (run / "epoch_001.png").exists() and (run / "checkpoint.pt").exists()


def test_bad_hyperparameter_is_a_clear_error(tmp_path):
    r = _run("train", "gan", "--epochs", "0", "--run-dir", str(tmp_path / "r"))
    assert r.returncode != 0 and "epochs must be" in r.stderr


def test_pretrain_quick_writes_models_and_manifest(tmp_path):
    r = _run("pretrain", "--all", "--quick", "--models-dir", str(tmp_path))  # every recipe, tiny: ~30 s
    assert r.returncode == 0, r.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest["models"]) == {"classifier", "decoder", "generator", "discriminator", "latent_code_predictor",
                                       "conditional_generator", "conditional_discriminator", "wgan_gp_generator",
                                       "wgan_gp_critic"}
    assert manifest["models"]["latent_code_predictor"]["config"]["clusters"] == \
        manifest["models"]["generator"]["config"]["clusters"] > 0  # the predictor fits its self-conditioned G
    entry = manifest["models"]["decoder"]
    assert (tmp_path / entry["file"]).exists() and len(entry["sha256"]) == 64
    assert "recognised_rate" in entry["metrics"] and entry["command"].startswith("python -m mnist_gan_utils pretrain")


def test_rebuild_estimate_counts_each_model_once_and_the_companions_evaluation():
    from mnist_gan_utils.pretrain import rebuild_estimate
    # a GAN's companion shares its training time; its evaluation clock runs on from the generator's start
    models = {"classifier": {"training_seconds": 10.0, "evaluation_seconds": 1.0},
              "generator": {"training_seconds": 100.0, "evaluation_seconds": 5.0},
              "discriminator": {"training_seconds": 100.0, "evaluation_seconds": 8.0}}
    assert rebuild_estimate({"models": models}) == 10.0 + 1.0 + 100.0 + 8.0
