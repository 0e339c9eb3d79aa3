"""The committed files in models/: they load, their hashes match the manifest, and each model is far
above chance on a few hundred samples (seconds), so a broken file can never land."""
import json

import pytest
import torch

from mnist_gan_utils import evaluation as ev
from mnist_gan_utils.checkpoints import load_pretrained, read_manifest, sha256_file
from mnist_gan_utils.paths import MANIFEST_PATH, MODELS_DIR, REPO_ROOT
from mnist_gan_utils.registry import RECIPES

NAMES = sorted(RECIPES)
manifest = json.loads(MANIFEST_PATH.read_text()) if MANIFEST_PATH.exists() else {"models": {}}


def test_every_model_is_in_the_manifest_with_its_provenance():
    assert set(NAMES) <= set(manifest["models"])
    for name in NAMES:
        e = manifest["models"][name]
        for key in ("sha256", "parameters", "command", "seed", "training_seconds", "machine", "metrics"):
            assert key in e, (name, key)
        assert e["command"].startswith("python -m mnist_gan_utils pretrain")
        run_dir = (e.get("train_config") or {}).get("run_dir") or ""
        assert not run_dir.startswith("/") and ":\\" not in run_dir, (name, run_dir)  # no paths of the builder


@pytest.mark.parametrize("name", NAMES)
def test_file_matches_hash_and_is_a_plain_state_dict(name):
    e = manifest["models"][name]
    path = MODELS_DIR / e["file"]
    assert sha256_file(path) == e["sha256"]
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items())
    buffers = ("running", "num_batches", "cluster_cdf", "pca_", "centroids", "prior_", ".points")  # not parameters
    assert sum(v.numel() for k, v in state.items() if not any(b in k for b in buffers)
               and not k.endswith(("_u", "_v"))) == e["parameters"]


def test_the_published_idiom_loads_the_committed_generator_verbatim(monkeypatch, C):
    """As users write it: the plain constructor, torch.load with no arguments, eval() before sampling; what
    it draws, mapped from [-1, 1] to [0, 1], the pretrained classifier recognises."""
    from mnist_gan_utils.models import Generator
    monkeypatch.chdir(REPO_ROOT)
    G = Generator(noise_dim=64); G.load_state_dict(torch.load("models/generator.pth")); G.eval()  # noqa: E702
    with torch.no_grad():
        x = (G(torch.randn(300, 64, generator=torch.Generator().manual_seed(0))) + 1) / 2
    recognisable_varied_digits(C, x, MIN_RECOGNISED["generator"])


def test_the_decoder_loads_as_written_and_names_its_prior_components(C):
    from mnist_gan_utils.models import Decoder
    state = torch.load(MODELS_DIR / "decoder.pth", map_location="cpu", weights_only=True)
    m = read_manifest()["models"]["decoder"]["config"].get("components", 0)
    dec = Decoder(latent_dim=8, components=m)
    dec.load_state_dict(state)
    with torch.no_grad():  # it draws digits from N(0, I) noise, through its prior
        x = dec.eval()(torch.randn(300, 8, generator=torch.Generator().manual_seed(0)))
    recognisable_varied_digits(C, x, MIN_RECOGNISED["decoder"])
    if m:
        with pytest.raises(RuntimeError, match=f"components={m}"):
            Decoder(latent_dim=8).load_state_dict(state)


@pytest.fixture(scope="module")
def C():
    return load_pretrained("classifier")


def recognisable_varied_digits(C, images, min_recognised):
    probs = ev.predict_proba(C, images)
    assert ev.recognised_rate(probs) > min_recognised
    assert (ev.class_histogram(probs) > 0.02).all(), ev.class_histogram(probs)  # every digit, not one look-alike


def test_classifier_far_above_chance(C, mnist_test):
    x, y = mnist_test
    assert ev.accuracy(C, x[:500], y[:500]) > 0.97


def test_the_second_classifier_is_an_mlp_far_above_chance(mnist_test):
    from mnist_gan_utils.models import MLPClassifier
    C2 = load_pretrained("mlp_classifier")
    assert isinstance(C2, MLPClassifier) and ev.accuracy(C2, mnist_test[0][:500], mnist_test[1][:500]) > 0.95


# Far above what a broken file gives (noise is recognised ~0%), well below what each model reaches. An
# untrained generator's flat grey is recognised too (~100%, all as one digit): the every-digit check catches it.
MIN_RECOGNISED = {"generator": 0.5, "self_conditioned_generator": 0.8, "decoder": 0.5, "conditional_generator": 0.8,
                  "wgan_gp_generator": 0.2, "generator_6_epochs": 0.4, "averaged_generator": 0.4, "flow_matching": 0.8}
# Every digit appears: at least 0.5% of the samples.


@pytest.mark.parametrize("name", sorted(MIN_RECOGNISED))
def test_generators_draw_recognisable_varied_digits(C, name):
    probs = ev.predict_proba(C, ev.sample(load_pretrained(name), 300, seed=123))
    assert ev.recognised_rate(probs) > MIN_RECOGNISED[name]
    assert (ev.class_histogram(probs) > 0.005).sum() == 10


@pytest.mark.parametrize("name", ["discriminator", "self_conditioned_discriminator", "discriminator_6_epochs",
                                  "averaged_discriminator"])
def test_discriminator_prefers_real_digits_to_its_generators(mnist_test, name):
    """What D was trained for. (Not noise: a DCGAN's D only learned to tell real digits from its G's fakes,
    and the plain one calls uniform noise real.)"""
    from mnist_gan_utils.registry import companions
    D, G = load_pretrained(name), load_pretrained(companions()[name])
    real = ev.discriminator_scores(D, mnist_test[0][:300])
    fake = ev.discriminator_scores(D, ev.sample(G, 300, seed=5))
    assert torch.isfinite(real).all() and real.mean() > 0.2 and real.mean() > fake.mean()


def test_flow_matching_draws_the_digit_asked_for_and_without_a_label_still_draws_digits(C):
    G = load_pretrained("flow_matching")
    images, labels = ev.sample_digits(None, G, range(10), 5, seed=7)
    assert ev.label_accuracy(C, images, labels)["label_accuracy"] > 0.95   # chance is 0.1
    G.guidance = 0.0
    assert ev.recognised_rate(ev.predict_proba(C, ev.sample(G, 50, seed=8))) > 0.3


def test_conditional_generator_draws_the_digit_asked_for(C):
    images, labels = ev.sample_digits(None, load_pretrained("conditional_generator"), range(10), 30, seed=7)
    assert ev.label_accuracy(C, images, labels)["label_accuracy"] > 0.95   # chance is 0.1


def test_conditional_discriminator_prefers_the_right_label(mnist_test):
    D = load_pretrained("conditional_discriminator")
    x, y = mnist_test[0][:300], mnist_test[1][:300]
    right = ev.discriminator_scores(D, x, labels=y)
    wrong = ev.discriminator_scores(D, x, labels=(y + 1) % 10)
    assert right.mean() > wrong.mean() and torch.isfinite(right).all()


def test_latent_code_predictor_draws_the_digit_asked_for(C):
    images, labels = ev.sample_digits(load_pretrained("latent_code_predictor"), load_pretrained("generator"),
                                      range(10), 30, seed=7)
    assert ev.label_accuracy(C, images, labels)["label_accuracy"] > 0.9   # chance is 0.1


def test_manifest_hash_mismatch_is_refused(tmp_path):
    import shutil
    for f in ("manifest.json", "generator.pth"):
        shutil.copy(MODELS_DIR / f, tmp_path / f)
    with open(tmp_path / "generator.pth", "r+b") as f:   # flip one byte
        f.seek(100)
        b = f.read(1)
        f.seek(100)
        f.write(bytes([b[0] ^ 1]))
    from mnist_gan_utils.checkpoints import CheckpointError
    with pytest.raises(CheckpointError, match="generator.pth: sha256"):
        load_pretrained("generator", models_dir=tmp_path)
