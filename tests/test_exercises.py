"""The notebook exercises (mnist_gan_utils.exercises): right answers pass, unwritten ones only say what to write,
and typical wrong answers are rejected with the hint that names the mistake. All on small tensors, in seconds."""
import math

import pytest
import torch
import torch.nn.functional as F

from mnist_gan_utils import exercises
from mnist_gan_utils.exercises import EXERCISES, check, reference


def bce(logits, label):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


# ---- the answers a student would write: the notebooks' folded answers ----
def sample_prior(weights, means, stds, u, eps):
    k = torch.searchsorted(weights.cumsum(0), u)
    return means[k] + stds[k] * eps


def discriminator_loss(real_logits, fake_logits):
    return bce(real_logits, 1.0) + bce(fake_logits, 0.0)


def generator_loss(fake_logits):
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def slerp(z0, z1, steps):
    t = torch.linspace(0, 1, steps)[:, None]
    omega = torch.arccos(torch.dot(z0 / z0.norm(), z1 / z1.norm()))
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def wilson(errors, n, z=1.96):
    p = errors / n
    centre = (p + z ** 2 / (2 * n)) / (1 + z ** 2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z ** 2 / (4 * n ** 2)) / (1 + z ** 2 / n)
    return centre - half, centre + half


def s1_error(probs):
    errors, n = int((probs.max(1).values < 0.9).sum()), len(probs)
    return (errors / n, *wilson(errors, n))


def confident_codes(z, probs, threshold):
    conf, labels = probs.max(1)
    keep = conf >= threshold
    return z[keep], labels[keep]


def ema_update(avg, new, decay):
    return decay * avg + (1 - decay) * new


def penalty_from_grads(grads):
    return ((grads.flatten(1).norm(dim=1) - 1) ** 2).mean()


def flow_matching_target(x0, x1, t):
    t = t.view(-1, 1, 1, 1)
    return (1 - t) * x0 + t * x1, x1 - x0


def euler_update(velocity, x, t, dt):
    return x + dt * velocity(x, t)


ANSWERS = {f.__name__: f for f in (sample_prior, discriminator_loss, generator_loss, slerp, s1_error,
                                   confident_codes, ema_update, penalty_from_grads, flow_matching_target, euler_update)}


def textbook(errors, n, z=1.96):
    p = errors / n
    return p - z * math.sqrt(p * (1 - p) / n), p + z * math.sqrt(p * (1 - p) / n)


def s1_from(probs, counted, interval=wilson):  # the S1 figures of a student who counts these digits
    errors = int(counted.sum())
    return (errors / len(probs), *interval(errors, len(probs)))


def per_example(grads, f):  # (B, 1, 28, 28) -> f of each example's gradient norm
    return f(grads.flatten(1).norm(dim=1))


# ---- typical wrong answers, each with a word its hint must contain ----
WRONG = {
    "sample_prior": [
        (lambda w, m, s, u, e: m[(u * len(w)).long()] + s[(u * len(w)).long()] * e, "equally often"),
        (lambda w, m, s, u, e: m[torch.searchsorted(w.cumsum(0), u)] + s[torch.searchsorted(w.cumsum(0), u)] ** 2 * e,
         "variance"),
        (lambda w, m, s, u, e: s[torch.searchsorted(w.cumsum(0), u)] * e, "mean"),
    ],
    "discriminator_loss": [
        (lambda r, f: bce(r, 0.0) + bce(f, 1.0), "swapped"),
        (lambda r, f: bce(torch.sigmoid(r), 1.0) + bce(torch.sigmoid(f), 0.0), "sigmoid is applied twice"),
        (lambda r, f: (bce(r, 1.0) + bce(f, 0.0)) / 2, "adds them"),
        (lambda r, f: bce(r, 1.0), "one of the two terms"),
    ],
    "generator_loss": [
        (lambda f: torch.log(1 - torch.sigmoid(f)).mean(), "saturating"),
        (lambda f: bce(f, 0.0), "label 0"),
        (lambda f: bce(torch.sigmoid(f), 1.0), "sigmoid is applied twice"),
    ],
    "slerp": [
        (lambda z0, z1, n: (1 - torch.linspace(0, 1, n)[:, None]) * z0 + torch.linspace(0, 1, n)[:, None] * z1,
         "linear interpolation"),
        (lambda z0, z1, n: (lambda t, w: (torch.sin((1 - t) * w) * z0 + torch.sin(t * w) * z1) / torch.sin(w))(
            torch.linspace(0, 1, n)[:, None], torch.arccos(torch.dot(z0, z1))), "unit"),
        (lambda z0, z1, n: slerp(z1, z0, n), "backwards"),
    ],
    "s1_error": [
        (lambda p: s1_from(p, p.max(1).values >= 0.9), "recognised rate"),
        (lambda p: s1_from(p, p.argmax(1) < 0.9), "argmax"),
        (lambda p: s1_from(p, p.max(1).values < 0.9, textbook), "Wilson"),
        (lambda p: s1_from(p, p.max(1).values < 0.9, lambda e, n: wilson(e, n, z=1.0)), "1.96"),
    ],
    "confident_codes": [
        (lambda z, p, t: (z[p.max(1).values < t], p.argmax(1)[p.max(1).values < t]), "unsure"),
        (lambda z, p, t: (z[p.max(1).values >= t], p.max(1).values[p.max(1).values >= t]), "digits"),
        (lambda z, p, t: (z, p.argmax(1)), "every code"),
    ],
    "ema_update": [
        (lambda a, n, d: (1 - d) * a + d * n, "swapped"),
        (lambda a, n, d: d * a + n, "(1 - decay)"),
    ],
    "penalty_from_grads": [
        (lambda g: ((g.abs() - 1) ** 2).mean(), "per pixel"),
        (lambda g: ((g.norm(dim=1) - 1) ** 2).mean(), "per pixel"),  # dim=1: the channel, one "norm" per pixel
        (lambda g: per_example(g, lambda n: (n - 1).mean()), "square"),
        (lambda g: (g.norm() - 1) ** 2, "whole batch"),
    ],
    "flow_matching_target": [
        (lambda x0, x1, t: (flow_matching_target(x0, x1, t)[0], x0 - x1), "wrong way"),
        (lambda x0, x1, t: (t.view(-1, 1, 1, 1) * x0 + (1 - t.view(-1, 1, 1, 1)) * x1, x1 - x0), "backwards"),
    ],
    "euler_update": [
        (lambda v, x, t, dt: x + dt * v(x, t + dt), "t + dt"),
        (lambda v, x, t, dt: x + v(x, t), "forgets dt"),
        (lambda v, x, t, dt: x - dt * v(x, t), "against the velocity"),
    ],
}
CASES = [(name, fn, word) for name, wrongs in WRONG.items() for fn, word in wrongs]


def test_every_lesson_has_an_exercise_and_every_exercise_is_tested():
    assert {ex.lesson for ex in EXERCISES.values()} == {"01", "02", "03", "04", "05", "06", "07"}
    assert set(ANSWERS) == set(EXERCISES) == set(WRONG)
    assert all(len(wrongs) >= 2 for wrongs in WRONG.values())
    for name, ex in EXERCISES.items():
        assert ex.signature.startswith(name + "(") and ex.task and ex.source


@pytest.mark.parametrize("name", list(EXERCISES))
def test_the_reference_passes(name, capsys):
    assert check(name, reference(name)) is True
    assert f"Right: your {name} matches" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(EXERCISES))
def test_a_student_answer_passes(name, capsys):
    # written as a student would (the notebooks' folded answers), not taken from the kit
    assert check(name, ANSWERS[name]) is True
    assert "Right:" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(EXERCISES))
def test_an_unwritten_answer_says_what_to_write_and_does_not_raise(name, capsys):
    def stub(*args):
        raise NotImplementedError

    assert check(name, stub) is False
    out = capsys.readouterr().out
    assert f"{name}: not written yet: {EXERCISES[name].task}" in out and "Right" not in out


@pytest.mark.parametrize("body", [lambda *a: None, lambda *a: ...])
def test_a_body_of_pass_or_ellipsis_counts_as_unwritten(body, capsys):
    assert check("ema_update", body) is False
    assert "not written yet" in capsys.readouterr().out


@pytest.mark.parametrize("name, fn, word", CASES, ids=[f"{n}-{w}" for n, _, w in CASES])
def test_a_typical_mistake_is_named(name, fn, word):
    with pytest.raises(AssertionError) as error:
        check(name, fn)
    assert word in str(error.value)
    assert "expected" in str(error.value) and "seed=" in str(error.value)


def test_a_mistake_that_matches_another_by_chance_on_one_trial_is_not_named():
    # seed 145: on its first batch, half the right loss equals the sigmoid-twice loss to 4 digits
    with pytest.raises(AssertionError, match="adds them"):
        check("discriminator_loss", lambda r, f: (bce(r, 1.0) + bce(f, 0.0)) / 2, seed=145)


def test_an_unknown_mistake_gets_the_expected_and_the_actual_values():
    with pytest.raises(AssertionError, match="not the expected answer") as error:
        check("euler_update", lambda velocity, x, t, dt: torch.zeros_like(x))
    assert "expected tensor of shape (5,)" in str(error.value)


def test_a_loss_per_example_is_told_to_return_one_number():
    with pytest.raises(AssertionError, match="one number"):
        check("generator_loss", lambda f: F.binary_cross_entropy_with_logits(f, torch.ones_like(f), reduction="none"))


def test_an_unknown_name_lists_the_exercises():
    for call in (lambda: check("slurp", slerp), lambda: reference("slurp")):
        with pytest.raises(ValueError, match="slerp") as error:
            call()
        assert all(name in str(error.value) for name in EXERCISES)


def test_each_call_draws_fresh_inputs_and_a_seed_repeats_them():
    seen = []

    def spy(avg, new, decay):
        seen.append(decay)
        return ema_update(avg, new, decay)

    check("ema_update", spy), check("ema_update", spy)
    assert len(seen) == 2 * exercises.TRIALS and len(set(seen)) == len(seen)  # no two trials alike
    seen.clear()
    check("ema_update", spy, seed=7), check("ema_update", spy, seed=7)
    assert seen[:exercises.TRIALS] == seen[exercises.TRIALS:]


def test_an_answer_that_changes_its_inputs_in_place_still_passes():
    assert check("ema_update", lambda avg, new, decay: avg.mul_(decay).add_(new, alpha=1 - decay))


def test_the_flow_target_is_what_flow_matching_loss_regresses():
    # the exercise's reference (straight_path) is what the kit's loss regresses: its net here returns a leaf
    # tensor v; mse(v, target)'s gradient at v = 0 is -2 target / numel, which gives back the target
    from mnist_gan_utils.training.flow_matching import flow_matching_loss

    x1, seen = 2 * torch.rand(3, 1, 28, 28) - 1, {}

    def net(x_t, t, labels):
        seen.update(x_t=x_t, t=t, v=torch.zeros_like(x_t, requires_grad=True))
        return seen["v"]

    flow_matching_loss(net, x1, torch.zeros(3, dtype=torch.long), 0.0, torch.Generator().manual_seed(5)).backward()
    x0 = torch.randn(x1.shape, generator=torch.Generator().manual_seed(5))  # the loss's first draw
    x_t, target = reference("flow_matching_target")(x0, x1, seen["t"])
    torch.testing.assert_close(x_t, seen["x_t"])
    torch.testing.assert_close(target, -seen["v"].grad * x1.numel() / 2)
