"""Exercises for the lessons: a student writes a few lines, then ``check("name", their_function)`` runs them on
fresh random inputs (a new seed each call, so no printed answer can be copied) against the kit's own code, the
functions the lessons train and draw with, and names the typical mistake a wrong answer looks like."""
from __future__ import annotations

import copy
import dataclasses
import random
from typing import Callable

import torch
from torch import nn

from .evaluation import RECOGNISED_THRESHOLD as THRESHOLD, proportion_interval, recognised_rate
from .latent import interpolate
from .models import Decoder
from .models.common import _normal, _slices, _uniform
from .models.flow_matching import euler_step
from .training.averaging import ema_avg_fn
from .training.flow_matching import straight_path
from .training.dcgan import dcgan_step
from .training.predictor import code_bank
from .training.wgan_gp import gradient_penalty

TRIALS = 3  # random inputs per check: one lucky match is not enough


@dataclasses.dataclass(frozen=True)
class Exercise:
    lesson: str                                           # the notebook it belongs to: "01" .. "07"
    task: str                                             # one line: what to write
    signature: str                                        # the function the student writes
    source: str                                           # the kit's code the answer is checked against
    inputs: Callable = dataclasses.field(repr=False)      # torch.Generator -> the arguments of one trial
    reference: Callable = dataclasses.field(repr=False)   # the right answer, computed by the kit's code
    mistakes: tuple = dataclasses.field(repr=False)       # (hint, wrong answer, ...): the typical mistakes


class _Pass(nn.Module):  # a stand-in network: fn(x) times a weight of 1, a parameter for optimizers and backward()
    def __init__(self, fn=lambda x: x):
        super().__init__()
        self.fn, self.noise_dim, self.w = fn, 1, nn.Parameter(torch.ones(()))

    def forward(self, x):
        return self.fn(x) * self.w


def _probs(g, n):  # class probabilities (n, 10), from sure to unsure: each row's logits scaled by 0..8
    return torch.softmax(torch.randn(n, 10, generator=g) * 8 * torch.rand(n, 1, generator=g), 1)


def _prior_inputs(g, k=4, d=3, n=32):  # 01
    # float64 noise within +-3.5: the reference takes it through quantiles and back, which the decoder keeps 1e-6
    # from 0 and 1, and Phi(-3.5) = 2e-4 of the lightest weight (>= 0.05 / 4.2) is still more than that
    f64 = dict(generator=g, dtype=torch.float64)
    w = torch.rand(k, **f64) ** 2 + 0.05  # uneven weights, so that ignoring them shows
    return (w / w.sum(), 3 * torch.randn(k, d, **f64), 0.3 + 0.5 * torch.rand(k, d, **f64),  # stds != stds ** 2
            torch.rand(n, **f64), torch.randn(n, d, **f64).clamp(-3.5, 3.5))


def _sample_prior(weights, means, stds, u, eps):
    # Decoder.prior itself. It reads the component and the noise from one z: z[:, 0]'s quantile picks a slice of the
    # cumulative weights and, stretched over it, is the first noise number. So build the z for (u's slice, eps).
    dec = Decoder(means.shape[1], hidden=2, components=means.shape[0]).double()
    dec.set_prior(weights, means, torch.diag_embed(stds ** 2))  # diagonal covariances: Cholesky factor diag(stds)
    k, edges = _slices(u, dec.prior_cdf)
    first = edges[k] + _uniform(eps[:, 0]) * (edges[k + 1] - edges[k])
    return dec.prior(torch.cat([_normal(first)[:, None], eps[:, 1:]], 1))


def _dcgan_losses(real_logits, fake_logits) -> dict:  # 02
    # dcgan_step's own losses: G and D pass their inputs through (the "images" are logits); lr 0 keeps D for G's turn
    G, D = _Pass(), _Pass()
    return dcgan_step(G, D, *(torch.optim.SGD(m.parameters(), lr=0.0) for m in (G, D)), real_logits, fake_logits)


def _bce(logits, label):
    return nn.functional.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


def _arc(z0, z1, steps, omega):  # 03's mistakes: slerp with another angle
    t = torch.linspace(0, 1, steps, dtype=z0.dtype)[:, None]
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def _s1_error(probs):  # 04: 1 - recognised_rate, and the Wilson interval of the count of errors behind it
    n, errors = len(probs), len(probs) - round(recognised_rate(probs) * len(probs))
    return (errors / n, *proportion_interval(errors, n))


def _s1(probs, z=1.96, textbook=False, argmax=False, flip=False):  # 04's mistakes
    top = probs.argmax(1) if argmax else probs.max(1).values
    n, errors = len(probs), int(((top < THRESHOLD) ^ flip).sum())
    p, half = errors / n, z * (errors / n * (1 - errors / n) / n) ** 0.5  # the normal approximation's half-width
    return (p, p - half, p + half) if textbook else (p, *proportion_interval(errors, n, z))


def _bank_inputs(g):  # 05
    z, probs = torch.randn(40, 4, generator=g), _probs(g, 40)
    conf, t = probs.max(1).values, 0.6 + 0.3 * float(torch.rand((), generator=g))
    while (conf - t).abs().min() < 1e-3:  # no code right at the threshold, where rounding would decide
        t += 1e-3
    return z, probs, t


def _confident_codes(z, probs, threshold):
    # code_bank itself, on stand-ins: G draws the i-th code it gets as an image filled with (i + 0.5) / n, the
    # classifier answers log probs[i] for it (softmax: probs[i]); the codes kept are mapped back to rows of z
    n, drawn = z.shape[0], []

    def draw(codes):
        i = sum(len(c) for c in drawn) + torch.arange(len(codes))
        drawn.append(codes)
        return ((i + 0.5) / n * 2 - 1).view(-1, 1, 1, 1).expand(-1, 1, 28, 28)  # to_unit: (i + 0.5) / n
    kept, labels = code_bank(_Pass(draw), _Pass(lambda x: probs[(x[:, 0, 0, 0] * n).long()].log()), n, threshold)
    rows = (kept[:, None, :] == torch.cat(drawn)[None]).all(-1).float().argmax(1)  # which drawn codes were kept
    return z[rows], labels


def _ema_update(avg, new, decay):  # 06
    # ema_avg_fn's decay at update n is min(decay, (1 + n) / (4 + n)): long after its warm-up, the plain update
    return ema_avg_fn(decay)(avg, new, torch.tensor(10 ** 6))


def _penalty(grads):
    # the penalty of a critic whose gradient is `grads` everywhere: the linear one, D(x) = sum(grads * x)
    x = torch.zeros_like(grads)
    return gradient_penalty(lambda x: (grads * x).flatten(1).sum(1), x, x, torch.full((len(x),), 0.5)).detach()


def _euler_inputs(g):
    (a, b, c, x), (t, dt) = torch.randn(4, 5, generator=g), torch.rand(2, generator=g).tolist()
    return (lambda x, t: a * x + b * t + c), x, 0.8 * t, 0.05 + 0.45 * dt


TWICE = "sigmoid is applied twice: binary_cross_entropy_with_logits applies it itself, so pass it the logits"
EXERCISES = {
    "sample_prior": Exercise(
        "01", "draw codes from the mixture prior: component k = torch.searchsorted(weights.cumsum(0), u), then "
        "means[k] + stds[k] * eps", "sample_prior(weights (K,), means (K, d), stds (K, d), u (N,), eps (N, d))",
        "Decoder.prior", _prior_inputs, _sample_prior, (
            ("it picks every component equally often: pick k by where u falls among the cumulative weights, "
             "weights.cumsum(0)", lambda w, m, s, u, e: _sample_prior(torch.ones_like(w) / len(w), m, s, u, e)),
            ("it scales the noise by the variance (stds ** 2): scale it by the standard deviation, stds[k]",
             lambda w, m, s, u, e: _sample_prior(w, m, s ** 2, u, e)),
            ("it forgets the mean: means[k] + stds[k] * eps", lambda w, m, s, u, e: _sample_prior(w, 0 * m, s, u, e)))),
    "discriminator_loss": Exercise(
        "02", "D's loss: cross-entropy (with logits) of real images against label 1 plus fakes against label 0",
        "discriminator_loss(real_logits (B,), fake_logits (B,)) -> loss", "dcgan_step's loss_D",
        lambda g: tuple(2 * torch.randn(2, 8, generator=g)), lambda r, f: _dcgan_losses(r, f)["loss_D"], (
            ("the labels look swapped: real images should get label 1, fakes 0", lambda r, f: _bce(r, 0) + _bce(f, 1)),
            (TWICE, lambda r, f: _bce(r.sigmoid(), 1) + _bce(f.sigmoid(), 0)),
            ("it averages the two terms: dcgan_step adds them", lambda r, f: (_bce(r, 1) + _bce(f, 0)) / 2),
            ("it has one of the two terms only", lambda r, f: _bce(r, 1), lambda r, f: _bce(f, 0)))),
    "generator_loss": Exercise(
        "02", "G's non-saturating loss: cross-entropy (with logits) of D's logits for the fakes against label 1",
        "generator_loss(fake_logits (B,)) -> loss", "dcgan_step's loss_G", lambda g: (2 * torch.randn(8, generator=g),),
        lambda f: _dcgan_losses(torch.zeros_like(f), f)["loss_G"], (
            ("this is the saturating loss, minimising log(1 - D(G(z))), whose gradient vanishes while D rejects "
             "the fakes: maximise log D(G(z)) instead, i.e. cross-entropy against label 1", lambda f: -_bce(f, 0)),
            ("it uses label 0: G wants D to call its fakes real, label 1", lambda f: _bce(f, 0)),
            (TWICE, lambda f: _bce(f.sigmoid(), 1)))),
    "slerp": Exercise(
        "03", "at t = linspace(0, 1, steps): (sin((1-t) W) z0 + sin(t W) z1) / sin W, W the angle between z0, z1",
        "slerp(z0 (D,), z1 (D,), steps) -> codes (steps, D)", "latent.interpolate(method='slerp')",
        lambda g: (*torch.randn(2, 8, generator=g), int(torch.randint(4, 10, (), generator=g))),
        lambda z0, z1, steps: interpolate(z0, z1, steps, "slerp"), (
            ("that is linear interpolation (a straight line, whose midpoints are too short): slerp walks the great "
             "circle", lambda z0, z1, n: interpolate(z0, z1, n, "linear")),
            ("the angle W: arccos needs the cosine, the dot product of the *unit* vectors z0 / |z0| and z1 / |z1|",
             lambda z0, z1, n: _arc(z0, z1, n, omega=torch.arccos(torch.dot(z0, z1)))),
            ("the walk runs backwards: it should start at z0 (t = 0)", lambda z0, z1, n: interpolate(z1, z0, n)))),
    "s1_error": Exercise(
        "04", f"the share of digits whose top probability is below {THRESHOLD}, and its 95% Wilson interval",
        "s1_error(probs (N, 10)) -> (error, low, high)", "evaluation.recognised_rate and proportion_interval",
        lambda g: (_probs(g, 60),), _s1_error, (
            ("that is the recognised rate: the S1 error is the share *not* recognised", lambda p: _s1(p, flip=True)),
            ("argmax gives the class, not its probability: use probs.max(1).values", lambda p: _s1(p, argmax=True)),
            ("that is the textbook normal interval p +- 1.96 sqrt(p(1-p)/n): the kit uses Wilson's score interval",
             lambda p: _s1(p, textbook=True)),
            ("a 95% interval uses z = 1.96", lambda p: _s1(p, z=1.0), lambda p: _s1(p, z=1.0, textbook=True)))),
    "confident_codes": Exercise(
        "05", "keep the codes whose top class probability is >= threshold, labelled with that class",
        "confident_codes(z (N, D), probs (N, 10), threshold) -> (codes, labels)", "training.predictor.code_bank",
        _bank_inputs, _confident_codes, (
            ("it keeps the codes the classifier is unsure of: keep those whose top probability is >= threshold",
             lambda z, p, t: (z[p.max(1).values < t], p.argmax(1)[p.max(1).values < t])),
            ("the labels should be the digits (probs.argmax(1)), not their probabilities",
             lambda z, p, t: (z[p.max(1).values >= t], p.max(1).values[p.max(1).values >= t])),
            ("it keeps every code, confident or not", lambda z, p, t: (z, p.argmax(1))))),
    "ema_update": Exercise(
        "06", "one update of the weight average: keep `decay` of the average, take 1 - decay of the new weights",
        "ema_update(avg, new, decay) -> new average", "training.averaging.ema_avg_fn",
        lambda g: (*torch.randn(2, 6, generator=g), 0.5 + 0.49 * float(torch.rand((), generator=g))), _ema_update, (
            ("decay and 1 - decay are swapped: keep `decay` of the average", lambda a, n, d: a * (1 - d) + n * d),
            ("the new weights need the factor (1 - decay)", lambda a, n, d: a * d + n))),
    "penalty_from_grads": Exercise(
        "06", "WGAN-GP's penalty: (each example's gradient norm, over all its pixels, - 1) ** 2, batch mean",
        "penalty_from_grads(grads (B, 1, 28, 28)) -> penalty", "training.wgan_gp.gradient_penalty",
        lambda g: (torch.randn(4, 1, 28, 28, generator=g) * (0.2 + 1.8 * torch.rand(4, 1, 1, 1, generator=g)) / 28,),
        _penalty, (
            ("it takes the norm per pixel: one norm per example, over all of its pixels (grads.flatten(1).norm(dim=1))",
             lambda gr: ((gr.abs() - 1) ** 2).mean(), lambda gr: ((gr.norm(dim=-1) - 1) ** 2).mean()),
            ("it does not square (norm - 1)", lambda gr: (gr.flatten(1).norm(dim=1) - 1).mean(),
             lambda gr: (gr.flatten(1).norm(dim=1) - 1).abs().mean()),
            ("it takes one norm of the whole batch: take one per example", lambda gr: (gr.norm() - 1) ** 2))),
    "flow_matching_target": Exercise(
        "07", "x_t = (1 - t) x0 + t x1 (t.view(-1, 1, 1, 1)) from noise x0 to digit x1, and the velocity x1 - x0",
        "flow_matching_target(x0 (B, 1, 28, 28), x1 (B, 1, 28, 28), t (B,)) -> (x_t, target)",
        "training.flow_matching.straight_path", lambda g: (
            torch.randn(3, 1, 28, 28, generator=g), 2 * torch.rand(3, 1, 28, 28, generator=g) - 1,
            torch.rand(3, generator=g)), straight_path, (
            ("the velocity points the wrong way: the path runs from the noise x0 (t = 0) to the digit x1 (t = 1), "
             "so its velocity is x1 - x0", lambda x0, x1, t: (straight_path(x0, x1, t)[0], x0 - x1)),
            ("x_t runs the path backwards: at t = 0 it should be the noise x0, at t = 1 the digit x1",
             lambda x0, x1, t: (straight_path(x1, x0, t)[0], x1 - x0), lambda x0, x1, t: straight_path(x1, x0, t)))),
    "euler_update": Exercise(
        "07", "one Euler step: move from x along velocity(x, t) for a time dt", "euler_update(velocity, x, t, dt) -> x",
        "models.flow_matching.euler_step", _euler_inputs, euler_step, (
            ("it uses the velocity at t + dt: Euler's step uses the velocity where it starts, velocity(x, t)",
             lambda v, x, t, dt: x + dt * v(x, t + dt)),
            ("it forgets dt: the step is dt * velocity(x, t)", lambda v, x, t, dt: x + v(x, t)),
            ("it steps against the velocity: add dt * velocity(x, t)", lambda v, x, t, dt: x - dt * v(x, t)))),
}


def reference(name: str) -> Callable:
    """The right answer to exercise ``name``, with the student's signature, computed by the kit's own code."""
    if name not in EXERCISES:
        raise ValueError(f"no exercise {name!r}; the exercises are: {', '.join(EXERCISES)}")
    return EXERCISES[name].reference


def _close(a, b) -> bool:
    if isinstance(b, (tuple, list)):
        return isinstance(a, (tuple, list)) and len(a) == len(b) and all(map(_close, a, b))
    try:
        a, b = (torch.as_tensor(x).detach().cpu().double() for x in (a, b))
    except (TypeError, ValueError, RuntimeError):
        return False
    a, b = (a.reshape(()), b.reshape(())) if a.numel() == b.numel() == 1 else (a, b)  # 1.0, tensor(1.), tensor([1.])
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-4, atol=1e-6, equal_nan=True)


def _show(x) -> str:
    if isinstance(x, (tuple, list)):
        return "(" + ", ".join(map(_show, x)) + ")"
    if not isinstance(x, torch.Tensor) or x.numel() == 1:
        return f"{float(x):.6g}" if isinstance(x, (int, float, torch.Tensor)) else repr(x)
    head = ", ".join(f"{v:.4g}" for v in x.detach().flatten()[:4].double().tolist())
    return f"tensor of shape {tuple(x.shape)} [{head}{', ...' if x.numel() > 4 else ''}]"


def _mistake(ex: Exercise, fn, trials, want) -> str:
    # the typical mistake the answer matches on the trial it fails and on two more (one match may be chance)
    def run(f, args):
        try:
            return f(*copy.deepcopy(args))
        except Exception:  # a mistake that cannot even run on these inputs is not the one made
            return None
    got = [run(fn, args) for args in trials]
    for hint, *wrongs in ex.mistakes:
        if any(all(_close(out, run(wrong, args)) for out, args in zip(got, trials)) for wrong in wrongs):
            return hint
    one_number = not isinstance(want, tuple) and torch.as_tensor(want).numel() == 1
    if one_number and isinstance(got[0], torch.Tensor) and got[0].numel() > 1:
        return "return one number: the mean over the batch"
    return "not the expected answer"


def check(name: str, fn: Callable, seed: int | None = None) -> bool:
    """Run the student's ``fn`` for exercise ``name`` on fresh random inputs (``seed``: repeat a check's) against
    the kit's own code. Right: prints one line, returns True. Wrong: AssertionError naming the likely mistake.
    Not written yet (raises NotImplementedError, or returns None or ...): prints what to write, returns False."""
    ex = EXERCISES[name] if name in EXERCISES else reference(name)  # reference(): the ValueError listing names
    seed = random.SystemRandom().randrange(2 ** 32) if seed is None else seed
    g = torch.Generator().manual_seed(seed)
    for _ in range(TRIALS):
        args = ex.inputs(g)
        try:  # on copies: an answer that changes its inputs in place must not change the expected answer
            got = fn(*copy.deepcopy(args))
        except NotImplementedError:
            got = None
        if got is None or got is Ellipsis:
            print(f"{name}: not written yet: {ex.task}")
            return False
        want = ex.reference(*copy.deepcopy(args))
        if not _close(got, want):
            hint = _mistake(ex, fn, [args, ex.inputs(g), ex.inputs(g)], want)
            raise AssertionError(f"{name}: {hint}.\n  expected {_show(want)}\n  got      "
                                 f"{_show(got)}\n  (check({name!r}, ..., seed={seed}) repeats these inputs)")
    print(f"Right: your {name} matches the kit's {ex.source} on {TRIALS} random inputs.")
    return True
