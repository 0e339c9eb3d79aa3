"""The registry is the one place that names the pretrained models: a recipe added there (and nowhere else)
is rebuilt by ``pretrain``, offered by the command line and measured by the comparison."""
import json
import shutil

import pytest

from mnist_gan_utils import cli, comparison, pretrain, registry
from mnist_gan_utils.paths import MODELS_DIR
from mnist_gan_utils.registry import RECIPES, Recipe

TOY = Recipe("toy_generator", "Generator", ("noise_dim", "channels"), train="dcgan", partner="toy_discriminator",
             settings=dict(noise_dim=8, g_channels=4, d_channels=4, grid_size=4), title="a toy DCGAN",
             rung="9 · a toy rung", base="generator_6_epochs")
TOY_D = Recipe("toy_discriminator", "Discriminator", ("channels",), metrics="discriminator")


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(RECIPES, TOY.name, TOY)
    monkeypatch.setitem(RECIPES, TOY_D.name, TOY_D)


def test_a_recipe_added_to_the_registry_alone_is_rebuilt_offered_and_compared(toy, tmp_path, capsys):
    assert TOY.name in registry.built() and registry.partners()[TOY.name] == TOY_D.name
    parser = cli.build_parser()
    for command in (["pretrain", "--model", TOY.name], ["sample", "--model", TOY.name],
                    ["evaluate", "--model", TOY.name]):
        assert parser.parse_args(command).model in (TOY.name, [TOY.name])
    assert registry.ladder()[TOY.name] == TOY.rung and list(registry.ladder())[-1] == TOY.name

    # pretrain rebuilds it (and its partner) with its loop and settings; the judge comes from the kit
    judge = registry.JUDGE
    shutil.copy(MODELS_DIR / RECIPES[judge].file, tmp_path)
    entry = json.loads((MODELS_DIR / "manifest.json").read_text())["models"][judge]
    (tmp_path / "manifest.json").write_text(json.dumps({"models": {judge: entry}}))
    manifest = pretrain.pretrain([TOY.name], tmp_path, quick=True, command="test")["models"]
    assert {TOY.name, TOY_D.name} <= set(manifest) and manifest[TOY.name]["config"] == {"noise_dim": 8, "channels": 4}
    assert "recognised_rate" in manifest[TOY.name]["metrics"] and "mean_D_x_test" in manifest[TOY_D.name]["metrics"]

    # the comparison measures every titled model of the manifest: here the toy alone
    rows = comparison.compare(n=50, models_dir=tmp_path)
    assert [(r["model"], r["title"]) for r in rows] == [(TOY.name, TOY.title)]


def test_the_registry_is_consistent():
    for name, r in RECIPES.items():
        assert r.train in (None, *pretrain.LOOPS), name
        assert r.metrics in ("classifier", "generator", "discriminator", "flow_matching", "predictor"), name
        for other in (r.partner, r.continues, r.draws_with, r.base):
            assert other is None or other in RECIPES, (name, other)
        assert r.train or name in registry.companions(), f"{name}: neither trained nor any generator's partner"
    with pytest.raises(ValueError, match="unknown pretrained model 'nope'"):
        registry.model_class("nope")


def test_every_recipe_still_describes_the_run_that_built_its_file():
    """The recipe's config, made today, is the config the manifest recorded for the pretrained file
    (settings since removed from the configs had the values the code now fixes)."""
    from mnist_gan_utils.checkpoints import read_manifest
    from mnist_gan_utils.training.wgan_gp import GP_WEIGHT
    removed = {"ema_power": 2.0, "gp_weight": GP_WEIGHT, "monitor_classes": True, "init_from": None,
               "label_smoothing": 0.0}
    per_run = ("run_dir", "resume", "overwrite", "device", "progress")
    models = read_manifest()["models"]
    for name in registry.built():
        r = RECIPES[name]
        made = pretrain.LOOPS[r.train].config(**r.settings).to_dict()
        recorded = models[name]["train_config"]
        for key, value in removed.items():
            if key in recorded and key not in made:
                assert recorded.pop(key) == value, (name, key)
        assert {k: v for k, v in made.items() if k not in per_run} == \
            {k: v for k, v in recorded.items() if k not in per_run}, name


def test_each_ladder_rung_changes_only_what_its_title_says():
    """Rung 1 (the weight average) trains the DCGAN of rung 0 as it is: the same networks, widths, batch,
    learning rate and epochs. Its settings restate DCGANConfig's defaults (the registry imports no torch),
    so a change to those defaults must reach rung 1 too, or rung 1 measures two changes at once."""
    rung0, rung1 = (RECIPES[n] for n in ("generator_6_epochs", "averaged_generator"))
    dcgan = pretrain.LOOPS[rung0.train].config(**rung0.settings).to_dict()
    gan = pretrain.LOOPS[rung1.train].config(**rung1.settings).to_dict()
    assert rung1.base == rung0.name and rung1.cls == rung0.cls
    shared = {"noise_dim", "g_channels", "d_channels", "batch_size", "epochs", "lr", "betas", "train_size"}
    assert {k: gan[k] for k in shared & dcgan.keys()} == {k: dcgan[k] for k in shared & dcgan.keys()}
    assert gan["lr_decay"] is False and gan["ema_decay"] > 0   # rung 0's learning rate is constant


def test_rung_1_trains_rung_0s_weights_step_for_step(tmp_path):
    """Rung 1 (and generator.pth, its run trained on) samples from an average of G's weights; G and D
    themselves must follow notebook 02's run exactly, or the rung measures more than the average. D is
    returned as trained, and it is the same only if every fake it saw was: G's path is rung 0's."""
    import torch
    rung0, rung1 = (RECIPES[n] for n in ("generator_6_epochs", "averaged_generator"))
    tiny = dict(epochs=2, max_steps_per_epoch=3, train_size=1280, seed=3, progress=False)
    runs = [pretrain.LOOPS[r.train].train(pretrain.LOOPS[r.train].config(
        **{**r.settings, **tiny}, run_dir=str(tmp_path / r.name))) for r in (rung0, rung1)]
    for (k, x), y in zip(runs[0].discriminator.state_dict().items(), runs[1].discriminator.state_dict().values()):
        assert torch.equal(x, y), k
    assert not torch.equal(runs[0].generator.net[0].weight, runs[1].generator.net[0].weight)  # the average
