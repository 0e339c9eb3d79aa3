
import pytest
import torch

from mnist_gan_utils.checkpoints import (CheckpointError, load_checkpoint, load_pretrained, load_state_dict,
                                         save_checkpoint, sha256_file)
from mnist_gan_utils.models import Classifier, Generator


class _Evil:
    """A pickle that would create a file when unpickled."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_round_trip_is_a_plain_state_dict(tmp_path):
    G = Generator(noise_dim=16, channels=8)
    path = save_checkpoint(G, tmp_path / "g.pth")
    state = torch.load(path, weights_only=True)
    assert isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values())
    G2 = load_state_dict(Generator(noise_dim=16, channels=8), path)
    assert all(torch.equal(a, b) for a, b in zip(G.state_dict().values(), G2.state_dict().values()))
    assert [p.name for p in tmp_path.iterdir()] == ["g.pth"]  # no temporary file (any name) left


def test_hostile_pickle_is_refused_unrun(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"weight": _Evil(str(marker))}, path)
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(path)
    assert not marker.exists()


def test_truncated_file(tmp_path):
    path = save_checkpoint(Generator(16, 8), tmp_path / "g.pth")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_state_dict(Generator(16, 8), path)


def test_other_architecture_names_the_mismatch(tmp_path):
    path = save_checkpoint(Generator(noise_dim=100, channels=8), tmp_path / "g.pth")
    with pytest.raises(CheckpointError, match=r"does not fit Generator\(noise_dim=64.*shape mismatches"):
        load_state_dict(Generator(noise_dim=64, channels=8), path)
    with pytest.raises(CheckpointError, match="missing keys"):
        load_state_dict(Classifier(), path)


def test_not_a_state_dict(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match="not a state dict"):
        load_state_dict(Generator(16, 8), path)
    (tmp_path / "text.pth").write_text("hello")
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        load_checkpoint(tmp_path / "text.pth")
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "missing.pth")


def test_sha256_mismatch_is_named(tmp_path):
    path = save_checkpoint(Generator(16, 8), tmp_path / "g.pth")
    with pytest.raises(CheckpointError, match="g.pth: sha256 .* does not match"):
        load_checkpoint(path, expected_sha256="0" * 64)
    assert load_checkpoint(path, expected_sha256=sha256_file(path))


def test_gpu_tensors_are_saved_for_the_cpu(tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    G = Generator(16, 8).cuda()
    path = save_checkpoint(G, tmp_path / "g.pth")
    state = torch.load(path, weights_only=True, map_location="cpu")
    assert all(v.device.type == "cpu" for v in state.values())


def test_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = save_checkpoint({"a": torch.zeros(2)}, tmp_path / "c.pth")
    before = path.read_bytes()

    def boom(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({"a": torch.ones(2)}, path)
    assert path.read_bytes() == before


def test_load_pretrained_unknown_name(tmp_path):
    (tmp_path / "manifest.json").write_text('{"models": {}}')
    with pytest.raises(ValueError, match="unknown pretrained model"):
        load_pretrained("generatr", models_dir=tmp_path)


# --- Added for issue 32 (mutation testing): what each error says, the manifest, load_pretrained ---------------
def _tiny_models_dir(tmp_path, name="generator", config=None):
    """A models/ folder of one pretrained model: its file and a manifest entry with its sha256."""
    import json
    config = config or {"noise_dim": 16, "channels": 8}
    G = Generator(**config)
    with torch.no_grad():
        for p in G.parameters():
            p.uniform_(-1, 1)  # weights unlike a fresh model's, so loading them shows
    path = save_checkpoint(G, tmp_path / f"{name}.pth")
    manifest = {"models": {name: {"file": path.name, "config": config, "sha256": sha256_file(path)}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return G, path


def test_save_checkpoint_creates_missing_folders_and_keeps_plain_values(tmp_path):
    path = save_checkpoint({"epoch": 3, "models": {"G": {"w": torch.ones(2)}}, "betas": (0.5, 0.999),
                            "names": ["a", "b"]}, tmp_path / "run" / "deep" / "checkpoint.pt")
    state = load_checkpoint(path)
    assert path.parent == tmp_path / "run" / "deep" and state["epoch"] == 3
    assert torch.equal(state["models"]["G"]["w"], torch.ones(2))
    assert state["betas"] == (0.5, 0.999) and state["names"] == ["a", "b"]   # tuples stay tuples, lists lists


def test_every_bad_file_error_names_the_file_first_and_ends_with_its_fix(tmp_path):
    missing = tmp_path / "missing.pth"
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(missing)
    assert str(e.value).startswith(f"{missing}: no such file")
    assert "`python -m mnist_gan_utils pretrain --all`." in str(e.value)
    path = save_checkpoint(Generator(16, 8), tmp_path / "g.pth")
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path, expected_sha256="0" * 64)
    msg = str(e.value)
    assert msg.startswith(f"{path}: sha256 {sha256_file(path)[:12]}… does not match the manifest's {'0' * 12}…")
    assert "`git checkout -- g.pth`" in msg and msg.endswith("`python -m mnist_gan_utils pretrain --model g`.")
    (tmp_path / "text.pth").write_text("hello")
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(tmp_path / "text.pth")
    assert str(e.value).startswith(f"{tmp_path / 'text.pth'}: not a PyTorch checkpoint") and \
        str(e.value).endswith("Download or rebuild it.")
    import zipfile
    with zipfile.ZipFile(tmp_path / "other.pth", "w") as z:   # a zip, but not one torch.save wrote
        z.writestr("notes.txt", "hello")
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(tmp_path / "other.pth")
    assert str(e.value).startswith(f"{tmp_path / 'other.pth'}: cannot be read, the file is truncated or corrupt (")
    assert str(e.value).endswith("Download or rebuild it.")


def test_a_refused_pickle_says_what_torch_objected_to_and_how_to_resave(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"weight": _Evil(str(tmp_path / "pwned"))}, path)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: refused.") and "(Weights only load failed" in msg
    assert msg.endswith("re-save it with `torch.save(model.state_dict(), path)` if you trust its source.")


def test_not_a_state_dict_says_what_it_got_and_what_to_do(tmp_path):
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(CheckpointError) as e:
        load_state_dict(Generator(16, 8), tmp_path / "list.pth")
    assert str(e.value).startswith(f"{tmp_path / 'list.pth'}: not a state dict (got list); expected a state dict")
    with pytest.raises(CheckpointError, match=r"^the state dict: not a state dict \(got dict\); expected a state dict"):
        load_state_dict(Generator(16, 8), {"net.0.weight": 1.0})     # str keys, but a number is no tensor
    training = {"models": {"G": Generator(16, 8).state_dict()}, "epoch": 1}
    with pytest.raises(CheckpointError, match=r"a training checkpoint: pass it to the training loop's resume="):
        load_state_dict(Generator(16, 8), training)


def test_a_state_dict_that_does_not_fit_names_each_kind_of_mismatch(tmp_path):
    G = Generator(16, 8)
    own = G.state_dict()
    one_missing = {k: v for k, v in own.items() if k != "net.1.weight"}
    with pytest.raises(CheckpointError, match=r"^the state dict does not fit Generator\(noise_dim=16, channels=8\): "
                                              r"missing keys \['net.1.weight'\]\. The file"):
        load_state_dict(G, one_missing)
    with pytest.raises(CheckpointError,
                       match=r"fit Generator\(noise_dim=16, channels=8\): unexpected keys \['extra'\]\. "):
        load_state_dict(G, {**own, "extra": torch.zeros(1)})
    path = save_checkpoint({**one_missing, "extra": torch.zeros(1)}, tmp_path / "g.pth")
    with pytest.raises(CheckpointError) as e:
        load_state_dict(G, path)
    assert str(e.value).startswith(f"{path} does not fit Generator(noise_dim=16, channels=8): missing keys "
                                   f"['net.1.weight'], unexpected keys ['extra']. The file was saved from another "
                                   f"architecture") and "(see models/manifest.json)" in str(e.value)
    wide = Generator(16, 9).state_dict()
    with pytest.raises(CheckpointError, match=r"shape mismatches net.0.weight: file \(16, 36, 3, 3\) vs model "
                                              r"\(16, 32, 3, 3\); net.0.bias: file \(36,\) vs model \(32,\); "
                                              r"net.1.weight: file \(36,\) vs model \(32,\)\. The file"):
        load_state_dict(G, wide)


def test_long_lists_of_keys_are_cut_to_five_and_marked(tmp_path):
    def model(n):
        return torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(1)) for _ in range(n)])
    with pytest.raises(CheckpointError, match=r"missing keys \['0', '1', '2', '3', '4'\]\. "):
        load_state_dict(model(5), {})
    with pytest.raises(CheckpointError, match=r"missing keys \['0', '1', '2', '3', '4'\]…\. "):
        load_state_dict(model(6), {})
    with pytest.raises(CheckpointError, match=r"unexpected keys \['0', '1', '2', '3', '4'\]\. "):
        load_state_dict(model(0), model(5).state_dict())
    with pytest.raises(CheckpointError, match=r"unexpected keys \['0', '1', '2', '3', '4'\]…\. "):
        load_state_dict(model(0), model(6).state_dict())


@pytest.mark.parametrize("make, described", [
    (lambda: Classifier(channels=4, feature_dim=8), "Classifier(channels=4, feature_dim=8)"),
    (lambda: __import__("mnist_gan_utils.models", fromlist=["Decoder"]).Decoder(latent_dim=2, hidden=16),
     "Decoder(latent_dim=2, hidden=16)"),
    (lambda: __import__("mnist_gan_utils.models", fromlist=["LatentCodePredictor"]).LatentCodePredictor(
        noise_dim=8, eps_dim=3, hidden=16, clusters=4),
     "LatentCodePredictor(noise_dim=8, hidden=16, eps_dim=3, clusters=4)"),
    (lambda: __import__("mnist_gan_utils.models", fromlist=["SelfConditionedGenerator"]).SelfConditionedGenerator(
        8, channels=4, clusters=4, embed_dim=4, cluster_embedding="table"),
     "SelfConditionedGenerator(noise_dim=8, channels=4, embed_dim=4, clusters=4, cluster_embedding=table)"),
])
def test_a_mismatch_names_the_arguments_to_build_the_model_with(make, described):
    with pytest.raises(CheckpointError) as e:
        load_state_dict(make(), {})
    assert f"does not fit {described}: missing keys" in str(e.value)


def test_a_missing_manifest_says_how_to_rebuild_it(tmp_path):
    from mnist_gan_utils.checkpoints import read_manifest
    with pytest.raises(CheckpointError) as e:
        read_manifest(tmp_path / "manifest.json")
    assert str(e.value) == (f"{tmp_path / 'manifest.json'}: no manifest. Rebuild the models with "
                            f"`python -m mnist_gan_utils pretrain --all`.")


def test_a_missing_model_file_of_a_package_installed_without_the_kit_says_how_to_install_it(tmp_path, monkeypatch):
    from mnist_gan_utils import checkpoints
    from mnist_gan_utils.paths import INSTALL_HINT
    monkeypatch.setattr(checkpoints, "MODELS_DIR", tmp_path / "models")
    monkeypatch.setattr(checkpoints, "KIT_FOUND", False)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(tmp_path / "models" / "generator.pth")
    assert str(e.value) == f"{tmp_path / 'models' / 'generator.pth'}: not found; {INSTALL_HINT}."
    with pytest.raises(CheckpointError, match="no such file"):   # outside models/, the usual advice
        load_checkpoint(tmp_path / "elsewhere.pth")
    monkeypatch.setattr(checkpoints, "KIT_FOUND", True)          # a checkout: rebuild the models
    with pytest.raises(CheckpointError, match="no such file.*pretrain --all"):
        load_checkpoint(tmp_path / "models" / "generator.pth")


def test_write_manifest_is_stable_and_reads_back(tmp_path):
    import json
    from mnist_gan_utils.checkpoints import read_manifest, write_manifest
    manifest = {"models": {"b": {"sha256": "x", "file": "b.pth"}, "a": {"file": "a.pth"}}}
    path = tmp_path / "manifest.json"
    write_manifest(manifest, path)
    assert read_manifest(path) == manifest
    # sorted keys, two spaces, a final newline: regenerating the manifest changes only the lines that changed
    assert path.read_text() == json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    assert path.read_text().splitlines()[1:3] == ['  "models": {', '    "a": {']
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]  # no temporary file left behind


def test_load_pretrained_builds_checks_loads_and_evaluates(tmp_path):
    G, path = _tiny_models_dir(tmp_path)
    loaded = load_pretrained("generator", models_dir=tmp_path)
    assert type(loaded) is Generator and not loaded.training and loaded.noise_dim == 16
    assert next(loaded.parameters()).device.type == "cpu"
    assert all(torch.equal(a, b) for a, b in zip(G.state_dict().values(), loaded.state_dict().values()))
    other = save_checkpoint(Generator(16, 8), path)               # replaced after the manifest was written
    with pytest.raises(CheckpointError, match="generator.pth: sha256 .* does not match"):
        load_pretrained("generator", models_dir=tmp_path)        # checked by default
    unchecked = load_pretrained("generator", models_dir=tmp_path, verify=False)
    assert all(torch.equal(a, b) for a, b in zip(torch.load(other, weights_only=True).values(),
                                                 unchecked.state_dict().values()))
