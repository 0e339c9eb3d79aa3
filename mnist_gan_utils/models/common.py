"""What every network of the kit shares: image and label conventions, and the input checks that turn a
wrong shape, dtype or device into an error naming the argument."""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

NUM_CLASSES = 10
MAX_CLUSTERS = 1000
IMAGE_SHAPE = (1, 28, 28)


def memory_format(device) -> torch.memory_format:
    """Channels-last on a CPU, where the kit's convolutions run faster in it (docs/benchmarks.md; same
    results up to float rounding); the default layout elsewhere. Use it for a network's weights and for its
    inputs alike."""
    return torch.channels_last if torch.device(device).type == "cpu" else torch.contiguous_format


def is_integer(value, low=1, high=None) -> bool:
    """An int (not a bool) in [low, high] (no bound above: ``high=None``)."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value and (high is None or value <= high)


# Each raises ValueError("<name> must be <its range>, got <repr>"), for a value of the wrong type too (a float
# where an integer is due, a string, None, a bool): README.
def check_int(name, value, low=1, high=None):
    if not is_integer(value, low, high):
        allowed = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {allowed}, got {value!r}")


def check_ints(low=1, **values) -> None:
    for name, value in values.items():  # in the order given, as separate check_int calls would
        check_int(name, value, low)


def _finite_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        (isinstance(value, int) or math.isfinite(value))  # an int is finite, and may be too large for a float


def check_positive_float(name: str, value) -> None:
    if not _finite_number(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def check_range(name: str, value, low: float, high: float, high_open: bool = False) -> None:
    if not (_finite_number(value) and low <= value and (value < high if high_open else value <= high)):
        raise ValueError(f"{name} must be a number in [{low}, {high}{')' if high_open else ']'}, got {value!r}")


def check_betas(value) -> None:
    pair = isinstance(value, (tuple, list)) and len(value) == 2
    if not (pair and all(_finite_number(b) and 0 <= b < 1 for b in value)):
        raise ValueError(f"betas must be a pair (beta1, beta2), each in [0, 1), got {value!r}")


# Checks of config fields, by name (a config's CHECKS): each takes (name, value).
def integer(low: int = 1, high: int | None = None) -> Callable:
    """A check of a config field: an integer in [low, high] (no bound above: ``high=None``)."""
    return lambda name, value: check_int(name, value, low, high)


def number(low: float, high: float, high_open: bool = False) -> Callable:
    """A check of a config field: a finite number in [low, high], or [low, high) with ``high_open``."""
    return lambda name, value: check_range(name, value, low, high, high_open)


def optional(check: Callable) -> Callable:
    """A check of a config field that also lets ``None`` through."""
    return lambda name, value: value is None or check(name, value)


def rule(ok: Callable, allowed: str) -> Callable:
    """A check of a config field: ``ok(value)`` must hold, else "<name> must be <allowed>, got <value>"."""
    def check(name, value):
        if not ok(value):
            raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return check


def check_input(name: str, x, trailing: tuple, what: str, module: nn.Module):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor of shape {what}, got {type(x).__name__}")
    p = next(module.parameters(), None)
    if p is not None and p.device != x.device:
        raise ValueError(f"{name}: expected a tensor on {p.device} (where the model is), got one on {x.device}; "
                         f"move it with .to({str(p.device)!r})")
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got {x.dtype}; convert with .float()")
    if p is not None and x.dtype == torch.float64 != p.dtype:  # numpy's default dtype
        raise TypeError(f"{name}: expected a {p.dtype} tensor (the model's weights), got {x.dtype}; convert with "
                        f".float()")
    if tuple(x.shape[1:]) != trailing:
        raise ValueError(f"{name}: expected shape {what}, got {tuple(x.shape)}")


def _uniform(z: torch.Tensor) -> torch.Tensor:
    """Standard normal numbers -> their quantiles, uniform in (0, 1)."""
    return 0.5 * (1 + torch.erf(z / 2 ** 0.5))


def _normal(u: torch.Tensor) -> torch.Tensor:
    """Quantiles in (0, 1) -> standard normal numbers (kept off the infinite ends)."""
    return 2 ** 0.5 * torch.erfinv(2 * u.clamp(1e-6, 1 - 1e-6) - 1)


def _slices(u: torch.Tensor, cdf: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The slice of (0, 1) each quantile ``u`` falls in, when slice k ends at ``cdf[k]`` (cumulative shares),
    and the edges of the slices ``(K + 1,)``."""
    k = torch.bucketize(u, cdf[:-1].contiguous()).clamp_max(cdf.numel() - 1)
    return k, nn.functional.pad(cdf, (1, 0))


class CountedWeights:
    """``load_state_dict`` that names a file of another number of clusters (or prior components, or another
    width), and the fix, instead of listing mismatched keys. A subclass's ``_weights_args(state_dict)`` gives
    the constructor arguments that the weights' shapes reveal."""

    def load_state_dict(self, state_dict, *args, **kwargs):
        if isinstance(state_dict, dict) and kwargs.get("strict", args[0] if args else True):
            wrong = {k: v for k, v in self._weights_args(state_dict).items() if getattr(self, k) != v}
            if wrong:
                name = type(self).__name__
                theirs = ", ".join(f"{k}={v!r}" for k, v in wrong.items())
                ours = ", ".join(f"{k}={getattr(self, k)!r}" for k in wrong)
                raise RuntimeError(f"these weights are of a {name} with {theirs}, this one has {ours}: build it as "
                                   f"{name}(..., {theirs}) (models/manifest.json lists each file's arguments), "
                                   f"or load it with mnist_gan_utils.load_pretrained")
        return super().load_state_dict(state_dict, *args, **kwargs)


def flat_noise(z):
    return z.flatten(1) if isinstance(z, torch.Tensor) and z.ndim == 4 and tuple(z.shape[2:]) == (1, 1) else z


def check_labels(name: str, labels, n: int | None = None, num: int = NUM_CLASSES) -> None:
    if not isinstance(labels, torch.Tensor) or labels.dtype not in (torch.int64, torch.int32) or labels.ndim != 1:
        raise TypeError(f"{name} must be an integer tensor of shape (N,), got "
                        f"{getattr(labels, 'dtype', type(labels).__name__)} {tuple(getattr(labels, 'shape', ()))}")
    if labels.numel() and (labels.min() < 0 or labels.max() >= num):
        what = "digits in [0, 9]" if num == NUM_CLASSES else f"cluster numbers in [0, {num - 1}]"
        raise ValueError(f"{name} must be {what}, got values in [{int(labels.min())}, {int(labels.max())}]")
    if n is not None and labels.shape[0] != n:
        raise ValueError(f"{name}: expected one label per image ({n}), got {labels.shape[0]}")
