"""One epoch's progress: a bar while it runs (a widget in Jupyter, text in a terminal), one line when it ends."""
from __future__ import annotations

import os
import time

from . import distributed

PROGRESS_ENV = "MNIST_GAN_KIT_PROGRESS"  # "0": no progress bars (papermill, CI), only the epoch lines


class progress_bar:
    """One epoch's steps with a progress bar that shows the running means of what :meth:`log` is given
    (a widget in Jupyter, text in a terminal). The bar disappears when the epoch ends and leaves one
    line: the epoch's steps, seconds and mean statistics. ``enabled=False`` shows neither (tests); with
    the environment variable ``MNIST_GAN_KIT_PROGRESS=0`` only the line is printed, so that notebooks run
    by papermill or CI store no bars. Under ``torchrun`` only rank 0 shows anything."""

    REFRESH_EVERY = 20  # steps between postfix updates: formatting them every step costs more than it shows

    def __init__(self, iterable, total: int, desc: str, enabled: bool):
        self.desc, self.total = desc, total
        self.enabled = enabled and distributed.is_main()
        self.sums: dict[str, float] = {}
        self.count, self.seconds = 0, 0.0
        self.bar = _tqdm()(iterable, total=total, desc=desc, leave=False, mininterval=1.0) \
            if self.enabled and os.environ.get(PROGRESS_ENV, "1") != "0" else None
        self.iterable = self.bar if self.bar is not None else iterable

    def __iter__(self):
        start = time.perf_counter()
        yield from self.iterable
        self.seconds = time.perf_counter() - start
        if self.bar is not None:
            self.bar.close()
        if self.enabled:
            print(self.summary(), flush=True)

    def log(self, **stats: float) -> None:
        """Add one step's statistics to the epoch's means."""
        for k, v in stats.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v)
        self.count += 1
        if self.bar is not None and self.count % self.REFRESH_EVERY == 1:
            self.bar.set_postfix({k: f"{v:.3f}" for k, v in self.means().items()}, refresh=False)

    def means(self) -> dict[str, float]:
        """The mean of each logged statistic over the steps so far."""
        return {k: v / max(1, self.count) for k, v in self.sums.items()}

    def summary(self) -> str:
        stats = "".join(f", {k} {v:.3f}" for k, v in self.means().items())
        return f"{self.desc}: {self.total} steps in {self.seconds:.0f} s{stats}"


def _tqdm():
    """tqdm's notebook widget where ipywidgets is installed, else its text bar (``tqdm.auto`` would warn
    "IProgress not found" and then print a line per refresh into the notebook)."""
    import importlib.util
    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm
    return tqdm
