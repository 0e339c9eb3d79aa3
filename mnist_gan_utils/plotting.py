"""Matplotlib figures from tensors and histories. Functions return figures; they save only when asked."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch


def _subplots(*args, **kwargs):
    """``plt.subplots``; pyplot is imported when a figure is drawn, not with the kit (the command line, training)."""
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def _finish(fig, title: str | None = None):
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _unit(images: torch.Tensor, value_range=(0, 1)) -> torch.Tensor:
    lo, hi = value_range
    return ((images.detach().float().cpu() - lo) / (hi - lo)).clamp(0, 1)


def save_grid(images: torch.Tensor, path, value_range=(0, 1), nrow: int = 8) -> Path:
    """Save ``images (N, 1, 28, 28)`` as one PNG grid (via ``torchvision.utils.save_image``)."""
    from torchvision.utils import save_image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(_unit(images, value_range), path, nrow=nrow, padding=2, pad_value=1.0)
    return path


def show_grid(images: torch.Tensor, nrow: int = 5, value_range=(0, 1), titles: Sequence[str] | None = None,
              title: str | None = None, scale: float = 1.2, title_colors: Sequence[str] | None = None):
    """A figure with ``images`` laid out ``nrow`` per row (``nrow=5`` and 10 images gives 2x5)."""
    imgs = _unit(images, value_range)
    n = imgs.shape[0]
    rows = int(np.ceil(n / nrow))
    fig, axes = _subplots(rows, nrow, figsize=(nrow * scale, rows * scale * (1.25 if titles else 1.0)), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(imgs[i, 0].numpy(), cmap="gray", vmin=0, vmax=1)
            if titles is not None:
                ax.set_title(titles[i], fontsize=8, color=(title_colors[i] if title_colors else "black"))
    return _finish(fig, title)


def show_rows(rows: Sequence[torch.Tensor], row_labels: Sequence[str], value_range=(0, 1), title=None, scale=0.9):
    """One row of images per entry of ``rows`` (e.g. one row per digit), labelled on the left."""
    ncol = max(r.shape[0] for r in rows)
    fig, axes = _subplots(len(rows), ncol, figsize=(ncol * scale, len(rows) * scale), squeeze=False)
    for r, (imgs, label) in enumerate(zip(rows, row_labels)):
        imgs = _unit(imgs, value_range)
        for c, ax in enumerate(axes[r]):
            ax.set(xticks=[], yticks=[])
            ax.spines[:].set_visible(False)
            if c < imgs.shape[0]:
                ax.imshow(imgs[c, 0].numpy(), cmap="gray", vmin=0, vmax=1)
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=10)
    return _finish(fig, title)


def plot_losses(history: dict, smooth: int = 20):
    """loss_D and loss_G per step (smoothed), and D(x) and D(G(z)) beside them."""
    def sm(v):
        v = np.asarray(v, dtype=float)
        return v if len(v) < smooth or smooth <= 1 else np.convolve(v, np.ones(smooth) / smooth, mode="valid")

    fig, (a, b) = _subplots(1, 2, figsize=(11, 3.5))
    for ax, key, label in ((a, "step_loss_D", "loss_D"), (a, "step_loss_G", "loss_G"),
                           (b, "step_D_x", "D(x)"), (b, "step_D_G_z", "D(G(z))")):
        if key in history:
            ax.plot(sm(history[key]), label=label)
    a.set_xlabel("step"), a.set_ylabel("BCE loss"), a.legend(), a.set_title("Losses")
    probabilities = all(0 <= v <= 1 for k in ("step_D_x", "step_D_G_z") for v in history.get(k, []))
    b.set_xlabel("step"), b.set_ylabel("probability 'real'" if probabilities else "critic score"), b.legend()
    if probabilities:  # BCE: D outputs probabilities; WGAN-GP: unbounded critic scores
        b.set_ylim(0, 1)
    b.set_title("Discriminator outputs")
    return _finish(fig)


def plot_class_histogram(fractions, title="Class histogram of generated digits"):
    fig, ax = _subplots(figsize=(5, 3))
    ax.bar(range(10), np.asarray(fractions) * 100)
    ax.axhline(10, color="gray", ls="--", lw=1, label="uniform (10%)")
    ax.set_xticks(range(10)), ax.set_xlabel("predicted digit"), ax.set_ylabel("% of samples")
    ax.set_title(title), ax.legend()
    return _finish(fig)


def plot_confusion(matrix, title="Confusion matrix (test set)"):
    m = np.asarray(matrix)
    fig, ax = _subplots(figsize=(5, 4.5))
    ax.imshow(np.log1p(m), cmap="Blues")
    for (i, j), count in np.ndenumerate(m):
        ax.text(j, i, int(count), ha="center", va="center", fontsize=7, color="white" if i == j else "black")
    ax.set_xticks(range(10)), ax.set_yticks(range(10))
    ax.set_xlabel("predicted"), ax.set_ylabel("true"), ax.set_title(title)
    return _finish(fig)


def save_animation(frames: Sequence, path, duration_ms: int = 400, value_range=(0, 1), scale: int = 3,
                   nrow: int = 8, bounce: bool = False) -> Path:
    """A looping GIF from a list of frames: grid PNG paths (e.g. a run's per-epoch grids), PIL images,
    or image tensors (one ``(1, 28, 28)`` image or a ``(N, 1, 28, 28)`` batch laid out ``nrow`` wide
    per frame, enlarged ``scale`` times). ``bounce`` plays the frames forward then back (a smooth loop
    for interpolations)."""
    from PIL import Image

    def to_pil(f):
        if hasattr(f, "save"):
            return f
        if isinstance(f, torch.Tensor):
            from torchvision.utils import make_grid
            x = _unit(f if f.ndim == 4 else f.unsqueeze(0), value_range)
            g = make_grid(x, nrow=nrow, padding=2, pad_value=1.0)[0]
            img = Image.fromarray((g.numpy() * 255).round().astype(np.uint8))  # 2-D uint8: a grey image
            return img.resize((img.width * scale, img.height * scale), Image.NEAREST)
        return Image.open(f).convert("L")

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [to_pil(f) for f in frames]
    if not images:
        raise ValueError("save_animation needs at least one frame")
    if bounce:  # forward, then back without repeating the ends
        images += images[-2:0:-1]
    images[0].save(path, save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
    return path


def show_predictions(images: torch.Tensor, probs: torch.Tensor, nrow: int = 10, title: str | None = None,
                     threshold: float = 0.9):
    """Images with the classifier's label and confidence above each; red when not recognised
    (top probability below ``threshold``)."""
    conf, label = probs.max(1)
    # Truncate, not round: 0.897 must not read as "0.90" above a digit marked as not recognised.
    titles = [f"{int(l)} ({int(c * 100) / 100:.2f})" for l, c in zip(label, conf)]
    colors = ["black" if c >= threshold else "red" for c in conf]
    return show_grid(images, nrow=nrow, titles=titles, title_colors=colors, title=title)


def plot_histograms(values: dict, xlabel: str, title: str = "", value_range=None):
    """Overlaid histograms of named sets of numbers, e.g. ``{'real': a, 'generated': b}``, each with its
    median marked: the figure for "do these two sets differ?"."""
    fig, ax = _subplots(figsize=(6, 3))
    for i, (name, v) in enumerate(values.items()):
        v = np.asarray(v, dtype=float)
        ax.hist(v, bins=40, range=value_range, alpha=0.6, label=f"{name} (median {np.median(v):.2f})", color=f"C{i}")
        ax.axvline(np.median(v), color=f"C{i}", ls="--", lw=1)
    ax.set_xlabel(xlabel), ax.set_ylabel("count"), ax.set_title(title), ax.legend(fontsize=8)
    return _finish(fig)


def plot_score_histograms(scores: dict, title="Discriminator: probability 'real'"):
    """Overlaid histograms of D's scores, e.g. ``{'real test digits': s_real, 'generated': s_fake}``."""
    return plot_histograms(scores, "D(x)", title, value_range=(0, 1))


def plot_bars(values, ylabel="", title=""):
    fig, ax = _subplots(figsize=(6, 3))
    ax.bar(range(len(values)), np.asarray(values, dtype=float))
    ax.set_xticks(range(len(values)))
    ax.set_ylabel(ylabel), ax.set_title(title)
    return _finish(fig)


def plot_per_digit(series: dict, ylabel: str, title: str = "", reference: float | None = None, ax=None):
    """One line per named series of ten per-digit values (``{"kit classifier": [...], ...}``), the y axis
    fitted to the values so that differences of a point show; ``reference`` adds a dashed line."""
    fig, ax = _subplots(figsize=(6, 3)) if ax is None else (ax.figure, ax)
    for i, (name, values) in enumerate(series.items()):
        ax.plot(range(10), np.asarray(values, dtype=float), "o-", color=f"C{i}", label=name)
    if reference is not None:
        ax.axhline(reference, color="gray", ls="--", lw=1)
    ax.set_xticks(range(10)), ax.set_xlabel("digit asked for"), ax.set_ylabel(ylabel), ax.set_title(title)
    ax.legend(fontsize=8)
    return _finish(fig)


class LiveGrid:
    """A notebook callback for ``train_gan(on_epoch_end=...)``: shows the fixed-noise grid after each
    epoch, updated in place (one output, not one per epoch). Outside a notebook it does nothing."""

    def __init__(self, nrow: int = 8):
        self.nrow, self.handle = nrow, None

    def __call__(self, epoch, grid, history, generator=None):
        try:
            from IPython.display import display
        except ImportError:
            return
        import matplotlib.pyplot as plt

        fig = show_grid(grid, nrow=self.nrow, value_range=(-1, 1), scale=0.8,
                        title=f"epoch {epoch + 1}: loss_D {history['loss_D'][-1]:.3f}, "
                              f"loss_G {history['loss_G'][-1]:.3f}")
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)
