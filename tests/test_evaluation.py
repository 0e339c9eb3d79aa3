import math

import pytest
import torch

from mnist_gan_utils import evaluation as ev
from mnist_gan_utils.models import Classifier, Decoder, Generator


def test_recognised_rate_histogram_and_kl():
    probs = torch.tensor([[0.95] + [0.05 / 9] * 9, [0.5, 0.5] + [0.0] * 8, [0.0] * 9 + [1.0]])
    assert ev.recognised_rate(probs) == pytest.approx(2 / 3)
    hist = ev.class_histogram(probs)
    assert hist.tolist() == pytest.approx([2 / 3] + [0] * 8 + [1 / 3])
    assert ev.kl_to_uniform(torch.full((10,), 0.1)) == pytest.approx(0.0, abs=1e-6)
    assert ev.kl_to_uniform(torch.tensor([1.0] + [0.0] * 9)) == pytest.approx(math.log(10))


def test_blend_split_tells_one_digit_from_a_blend_of_two_and_from_neither():
    probs = torch.tensor([[0.95, 0.05] + [0.0] * 8,      # recognised
                          [0.5, 0.45, 0.05] + [0.0] * 7,  # a blend of 0 and 1
                          [0.3, 0.3, 0.4] + [0.0] * 7,    # neither: three digits share it
                          [0.85, 0.1] + [0.05 / 8] * 8])   # not recognised, top two 0.95: a blend
    split = ev.blend_split(probs)
    assert split == pytest.approx({"recognised": 0.25, "blends": 0.5, "other": 0.25})
    assert sum(split.values()) == pytest.approx(1.0)


def test_frechet_distance_zero_for_same_set_positive_for_other(mnist_test):
    C = Classifier(channels=8).eval()
    x, other = mnist_test[0][:400], mnist_test[0][400:800]
    assert ev.frechet_distance(C, x, x) == pytest.approx(0.0, abs=1e-4)
    same_kind = ev.frechet_distance(C, x, other)
    assert ev.frechet_distance(C, x, torch.rand(400, 1, 28, 28)) > 5 * same_kind > 0


def test_sample_uses_eval_mode_and_unit_range():
    G = Generator(16, 8).train()
    imgs = ev.sample(G, 12, seed=1)
    assert not G.training and imgs.shape == (12, 1, 28, 28) and imgs.min() >= 0 and imgs.max() <= 1
    assert torch.equal(imgs, ev.sample(G, 12, seed=1))  # seeded
    D = Decoder(8)
    assert ev.sample(D, 3).shape == (3, 1, 28, 28)


def test_bad_images_are_named():
    C = Classifier(channels=8)
    with pytest.raises(ValueError, match=r"\[0, 1\].*to_unit"):
        ev.predict_proba(C, torch.full((2, 1, 28, 28), -1.0))
    with pytest.raises(ValueError, match="shape"):
        ev.predict_proba(C, torch.rand(2, 3, 28, 28))
    with pytest.raises(TypeError, match="torch.Tensor"):
        ev.predict_proba(C, [[0.0]])
    with pytest.raises(ValueError, match="n must be"):
        ev.sample(Generator(16, 8), 0)


def test_pairwise_distance_and_s0_s1(mnist_test):
    x, y = mnist_test
    same = x[:1].expand(20, 28, 28)
    assert ev.pairwise_distance(same) == pytest.approx(0.0, abs=1e-4)
    assert ev.pairwise_distance(x[:50]) > 5.0
    out = ev.s0_s1(Classifier(channels=8), x[:20], y[:20], torch.rand(20, 1, 28, 28))
    assert 0 <= out["S0_error"] <= 1 and 0 <= out["S1_error"] <= 1 and out["S1_probs"].shape == (20, 10)


def test_conditional_sampling_interpolation_and_animation(tmp_path):
    from mnist_gan_utils.latent import class_interpolation, latent_walk
    from mnist_gan_utils.models import ConditionalDiscriminator, ConditionalGenerator, Generator
    from mnist_gan_utils.plotting import save_animation
    G = ConditionalGenerator(16, channels=8, embed_dim=4)
    x = ev.sample(G, 25, seed=1)
    assert x.shape == (25, 1, 28, 28) and 0 <= x.min() and x.max() <= 1
    assert torch.equal(ev.balanced_labels(25)[:12], torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]))
    images, labels = ev.sample_digits(None, G, [3, 7], n_per_digit=4)
    assert images.shape == (8, 1, 28, 28) and labels.tolist() == [3] * 4 + [7] * 4
    with pytest.raises(TypeError, match="latent code predictor"):
        ev.sample_digits(None, Generator(16, 8), [3])
    z0, z1 = torch.randn(16), torch.randn(16)
    strip = class_interpolation(G, z0, 3, 8, steps=6)
    assert strip.shape == (6, 1, 28, 28)
    ends = ev.sample(G, 2, z=torch.stack([z0, z0]), labels=torch.tensor([3, 8]))
    assert torch.allclose(strip[0], ends[0], atol=1e-5) and torch.allclose(strip[-1], ends[1], atol=1e-5)
    assert latent_walk(G, z0, z1, 5, label=2).shape == (5, 1, 28, 28)
    with pytest.raises(ValueError, match="label"):
        latent_walk(G, z0, z1, 5)
    with pytest.raises(TypeError, match="ConditionalGenerator"):
        class_interpolation(Generator(16, 8), z0, 3, 8)
    gif = save_animation(list(strip), tmp_path / "a.gif", bounce=True)
    from PIL import Image
    with Image.open(gif) as im:
        assert im.n_frames == 10 and im.size == (28 * 3, 28 * 3)   # 6 forward + 4 back; one image per frame, x3
    D = ConditionalDiscriminator(channels=8)
    s = ev.discriminator_scores(D, x, labels=ev.balanced_labels(25), batch_size=10)
    assert s.shape == (25,) and ((s >= 0) & (s <= 1)).all()   # probabilities (an untrained D may saturate)
    with pytest.raises(ValueError, match="labels="):
        ev.discriminator_scores(D, x)


def test_proportion_interval_is_wilsons_and_names_bad_counts():
    low, high = ev.proportion_interval(5, 100)
    assert low == pytest.approx(0.0215, abs=1e-3) and high == pytest.approx(0.1118, abs=1e-3)
    assert ev.proportion_interval(0, 100)[0] == 0.0 and ev.proportion_interval(100, 100)[1] == pytest.approx(1.0)
    narrow = ev.proportion_interval(500, 10_000)
    assert narrow[1] - narrow[0] < (high - low) / 5                     # ~ 1/sqrt(n): 10x the digits
    assert ev.share_with_interval(5, 100) == "5.0% of 100 (95% interval 2.2%-11.2%)"
    with pytest.raises(ValueError, match="successes"):
        ev.proportion_interval(101, 100)
    with pytest.raises(ValueError, match="n must be"):
        ev.proportion_interval(0, 0)


def test_s0_s1_counts_match_its_rates(mnist_test):
    C = Classifier(channels=4, feature_dim=8)
    x, y = mnist_test
    s = ev.s0_s1(C, x[:40].unsqueeze(1) / 255, y[:40], torch.rand(30, 1, 28, 28))
    assert s["S0_errors"] == round(s["S0_error"] * 40) and s["S1_errors"] == round(s["S1_error"] * 30)


def test_the_second_judge_is_another_kind_of_network_and_checks_its_input():
    from mnist_gan_utils.models import MLPClassifier
    C2 = MLPClassifier(hidden=16)
    assert C2(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert not any(isinstance(m, torch.nn.Conv2d) for m in C2.modules())
    with pytest.raises(ValueError, match="MLPClassifier input"):
        C2(torch.rand(3, 28, 28))


def test_the_comparison_table_shows_the_second_judge_in_columns_of_its_own():
    from mnist_gan_utils.comparison import table
    row = dict(title="m", recognised_rate=0.9, min_class_fraction=0.09, max_class_fraction=0.11, kl_to_uniform=0.0,
               frechet_distance=1.0, frechet_ratio=4.0, label_accuracy=math.nan, generator_updates=math.nan,
               training_seconds=60.0, n=10, frechet_floor=0.25)
    plain = table([row]).splitlines()[:3]
    judged = table([{**row, "label_accuracy": 0.99, "judge_recognised_rate": 0.8, "judge_label_accuracy": 0.97},
                    {**row, "judge_recognised_rate": 0.7, "judge_label_accuracy": math.nan}]).splitlines()[:4]
    assert len({line.count("|") for line in plain}) == 1 and len({line.count("|") for line in judged}) == 1
    assert judged[0].count("|") == plain[0].count("|") + 2
    assert "| 80.0% | 97.00% |" in judged[2] and "| 70.0% | – |" in judged[3]


def test_evaluate_images_splits_the_misses_into_blends_and_the_rest(mnist_test):
    from mnist_gan_utils.comparison import blends
    x, _ = mnist_test
    C = Classifier().eval()
    m = ev.evaluate_images(C, x[:50], x[50:100])
    assert m["blend_rate"] == pytest.approx(ev.blend_split(ev.predict_proba(C, x[:50]))["blends"])
    lines = blends([{"title": "m", **m}], real={"recognised": 0.98, "blends": 0.015, "other": 0.005}).splitlines()
    assert lines[2] == "| real test digits | 98.0% | 1.5% | 0.5% |" and lines[3].startswith("| m | ")
    assert len({line.count("|") for line in lines}) == 1
