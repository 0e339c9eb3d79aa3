import json
import os
import subprocess
import sys

import pytest

from mnist_gan_utils.paths import REPO_ROOT


def _run(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "mnist_gan_utils", *args], cwd=cwd or REPO_ROOT,
                          capture_output=True, text=True, timeout=600, env=env)


def test_train_gan_from_another_directory_writes_grid_and_checkpoint(tmp_path):
    for kind in ("dcgan", "gan"):
        run = tmp_path / kind
        r = _run("train", kind, "--epochs", "1", "--max-steps", "3", "--batch-size", "32", "--run-dir", str(run),
                 cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert (run / "epoch_001.png").exists() and (run / "checkpoint.pt").exists()


def test_train_dcgan_again_continues_with_the_same_settings_and_says_so(kit_home):
    """No --run-dir: a folder per settings. The same command continues its run, another lr starts its own."""
    home, env = kit_home, dict(os.environ)  # the kit's layout with an outputs/ of its own
    common = ("train", "dcgan", "--max-steps", "2", "--batch-size", "32", "--train-size", "256", "--g-channels", "8",
              "--d-channels", "8")
    first = _run(*common, "--epochs", "1", env=env)
    assert first.returncode == 0, first.stderr
    assert "a new run" in first.stdout
    again = _run(*common, "--epochs", "2", env=env)
    assert again.returncode == 0 and "continuing the run with these settings after its epoch 1" in again.stdout
    other = _run(*common, "--epochs", "1", "--lr", "0.001", env=env)
    assert other.returncode == 0 and "a new run" in other.stdout
    assert len(list((home / "outputs" / "dcgan").iterdir())) == 2


def test_bad_hyperparameter_is_a_clear_error(tmp_path):
    """One line naming the setting, its range and the value, before any data loads or folder is made."""
    r = _run("train", "gan", "--epochs", "0", "--run-dir", str(tmp_path / "r"))
    assert (r.returncode, r.stderr, r.stdout) == (2, "error: epochs must be an integer >= 1, got 0\n", "")
    r = _run("train", "vae", "--lr", "nan", "--run-dir", str(tmp_path / "r"))
    assert (r.returncode, r.stderr) == (2, "error: lr must be a finite number > 0, got nan\n")
    assert not (tmp_path / "r").exists()


def test_an_option_the_kind_has_no_setting_for_is_refused_not_dropped(tmp_path, capsys):
    """Every option given reaches the run's config or is refused by name, with the kinds that take it."""
    from unittest import mock
    from mnist_gan_utils.cli import main
    run_dir = ["--run-dir", str(tmp_path / "r")]
    training = mock.patch("mnist_gan_utils.cli.import_module", side_effect=AssertionError("it went on to train"))
    for argv, err in [
        (["train", "classifier", "--clusters", "5"], "--clusters (a setting of train gan)"),
        (["train", "dcgan", "--rotation", "10"], "--rotation (a setting of train classifier / gan)"),
        (["train", "vae", "--loss", "bce", "--g-channels", "8"],
         "--g-channels (a setting of train dcgan / gan); --loss (a setting of train gan)"),
    ]:
        with training:
            assert main(argv + run_dir) == 2
        assert capsys.readouterr().err == f"error: train {argv[1]} has no setting {err}\n"
    with training:
        assert main(["train", "predictor", "--train-size", "256", *run_dir]) == 2
    assert capsys.readouterr().err.startswith("error: train_size must be None for the predictor")
    assert not (tmp_path / "r").exists()


def test_the_classifier_takes_its_rotation_from_the_command_line():
    """``train classifier --rotation`` was dropped before it reached the config."""
    from unittest import mock
    from mnist_gan_utils import cli
    with mock.patch("mnist_gan_utils.training.classifier.train_classifier", side_effect=SystemExit(7)) as train:
        with pytest.raises(SystemExit):
            cli.main(["train", "classifier", "--rotation", "12.5", "--epochs", "1"])
    assert train.call_args.kwargs["rotation"] == 12.5 and train.call_args.kwargs["epochs"] == 1


@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_a_sample_count_below_one_is_refused_by_the_parser(command, capsys):
    from mnist_gan_utils.cli import main
    with pytest.raises(SystemExit) as stop:
        main([command, "--n", "0"])
    assert stop.value.code == 2 and "argument --n: must be an integer >= 1, got 0" in capsys.readouterr().err


def test_pretrain_quick_writes_models_and_manifest(tmp_path, kit_home):
    """Its run folders (outputs/pretrain_quick-<models dir>-<hash>) land in kit_home's outputs/, never in the
    checkout's."""
    r = _run("pretrain", "--all", "--quick", "--models-dir", str(tmp_path))  # every recipe, tiny: ~30 s
    assert r.returncode == 0, r.stderr
    assert len(list((kit_home / "outputs").glob(f"pretrain_quick-{tmp_path.name}-*"))) == 1
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    from mnist_gan_utils.registry import RECIPES
    assert set(manifest["models"]) == set(RECIPES)
    assert manifest["models"]["latent_code_predictor"]["config"]["clusters"] == 0  # it serves the DCGAN of notebook 02
    assert manifest["models"]["generator"]["class"] == "Generator"
    entry = manifest["models"]["decoder"]
    assert (tmp_path / entry["file"]).exists() and len(entry["sha256"]) == 64
    assert "recognised_rate" in entry["metrics"] and entry["command"].startswith("python -m mnist_gan_utils pretrain")
    predictor = manifest["models"]["latent_code_predictor"]
    assert "judge_label_accuracy" in predictor["metrics"] and "judge_label_accuracy" in predictor["targets"]
    assert not any(e["train_config"]["run_dir"].startswith("/") for e in manifest["models"].values())


def test_rebuild_estimate_counts_each_model_once_and_the_companions_evaluation():
    from mnist_gan_utils.pretrain import rebuild_estimate
    # a GAN's companion shares its training time; its evaluation clock runs on from the generator's start
    models = {"classifier": {"training_seconds": 10.0, "evaluation_seconds": 1.0},
              "generator": {"training_seconds": 100.0, "evaluation_seconds": 5.0},
              "discriminator": {"training_seconds": 100.0, "evaluation_seconds": 8.0}}
    assert rebuild_estimate({"models": models}) == 10.0 + 1.0 + 100.0 + 8.0
    # the 14-epoch run continues the averaged 6-epoch one: its first 6 epochs' seconds count once
    models.update(averaged_generator={"training_seconds": 25.0, "evaluation_seconds": 2.0})
    assert rebuild_estimate({"models": models}) == 10.0 + 1.0 + (100.0 - 25.0) + 8.0 + 25.0 + 2.0


def test_the_generator_rebuilt_by_continuing_the_averaged_6_epoch_run_equals_one_trained_from_scratch(tmp_path, monkeypatch):
    import shutil

    import mnist_gan_utils.pretrain as pt
    from mnist_gan_utils.paths import MODELS_DIR
    monkeypatch.setattr(pt, "OUTPUTS_DIR", tmp_path / "outputs")
    for folder in ("both", "alone"):  # the evaluation's judge
        (tmp_path / folder).mkdir()
        for file in ("classifier.pth", "manifest.json"):
            shutil.copy(MODELS_DIR / file, tmp_path / folder)
    both = pt.pretrain(["averaged_generator", "generator"], tmp_path / "both", quick=True, command="test")["models"]
    alone = pt.pretrain(["generator"], tmp_path / "alone", quick=True, command="test")["models"]
    assert both["generator"]["train_config"]["epochs"] == 2 and both["averaged_generator"]["train_config"]["epochs"] == 1
    for name in ("generator", "discriminator"):
        assert both[name]["sha256"] == alone[name]["sha256"]
        assert {**both[name]["train_config"], "run_dir": None} == {**alone[name]["train_config"], "run_dir": None}
    assert both["generator"]["training_seconds"] >= both["averaged_generator"]["training_seconds"]


def test_two_rebuilds_into_two_models_folders_keep_their_own_run_folders(tmp_path, monkeypatch):
    """A rebuild into another --models-dir trains in run folders of its own: a second rebuild elsewhere never
    overwrites the first one's checkpoints (which its --resume needs); the kit's models/ keeps outputs/pretrain."""
    import mnist_gan_utils.pretrain as pt
    from mnist_gan_utils.paths import MODELS_DIR
    monkeypatch.setattr(pt, "OUTPUTS_DIR", tmp_path / "outputs")
    dirs = [tmp_path / folder / "models" for folder in ("a", "b")]
    recorded = [pt.pretrain(["mlp_classifier"], d, quick=True, command="test")["models"]["mlp_classifier"]
                ["train_config"]["run_dir"] for d in dirs]
    runs = [pt.runs_folder(d, quick=True) / "mlp_classifier" for d in dirs]
    assert recorded == [str(r) for r in runs] and runs[0] != runs[1]
    assert all((r / "checkpoint.pt").is_file() for r in runs)
    assert pt.runs_folder(MODELS_DIR) == tmp_path / "outputs" / "pretrain"


def test_every_ladder_rung_has_a_recipe_and_a_bad_name_is_named():
    from mnist_gan_utils.pretrain import LOOPS, train_generator
    from mnist_gan_utils.registry import RECIPES, ladder, ladder_base, partners
    assert all(RECIPES[n].train in LOOPS for n in ladder()) and set(ladder()) <= set(partners())
    assert set(ladder_base()) <= set(ladder()) and set(ladder_base().values()) <= set(ladder())
    assert set(partners().values()) <= set(RECIPES)
    with pytest.raises(ValueError, match="not a GAN generator"):
        train_generator("decoder")


def test_the_ladder_gives_every_rung_the_same_generator_updates():
    from mnist_gan_utils.comparison import generator_updates
    from mnist_gan_utils.pretrain import LOOPS
    from mnist_gan_utils.registry import RECIPES, ladder
    manifest = {"models": {}}
    for name in ladder():
        cfg = LOOPS[RECIPES[name].train].config(**RECIPES[name].settings)
        manifest["models"][name] = {"train_config": cfg.to_dict()}
    updates = {generator_updates(name, manifest) for name in ladder()}
    assert updates == {6 * (60_000 // 128), 3 * (60_000 // 64)}   # 2,808 (batches of 128) and 2,811 (of 64)
    assert max(updates) - min(updates) <= 0.002 * max(updates)


def test_the_teachers_guide_quotes_the_manifests_rebuild_costs():
    from mnist_gan_utils.paths import REPO_ROOT
    from mnist_gan_utils.pretrain import costs_table
    assert costs_table() in (REPO_ROOT / "docs" / "teaching.md").read_text(), \
        "docs/teaching.md's table differs from the manifest: paste pretrain.costs_table()'s output"


def test_the_readme_stays_a_guide():
    from mnist_gan_utils.paths import README_PATH
    assert len(README_PATH.read_text().splitlines()) <= 200
