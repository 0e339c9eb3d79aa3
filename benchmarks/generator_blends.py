"""Where do the unconditional generators' unrecognised digits lie? Between two digits, or nowhere?

    python benchmarks/generator_blends.py     # about a minute

For each generator drawn without a label (10,000 samples, seed 1, as the manifest's evaluation), splits
its digits three ways by the kit's classifier (``evaluation.blend_split``): *recognised* (one digit at
p >= 0.9), *two-digit blends* (not recognised, but its two likeliest digits together reach 0.9: a digit
halfway between two), and *other* (neither). The second judge (``models/mlp_classifier.pth``) splits them too. An unconditional G
maps one connected cloud of noise onto ten separate digits, so some noise must land between them; the
share that lands there is what the self-conditioned G (a digit cluster chosen before the noise) removes.
Results: docs/experiments/plain_dcgan.md.
"""
from __future__ import annotations

import sys

from mnist_gan_utils import evaluation as ev
from mnist_gan_utils.checkpoints import load_pretrained
from mnist_gan_utils.data import load_mnist
from mnist_gan_utils.registry import GENERATORS, LADDER
from mnist_gan_utils.sampling import sample
from mnist_gan_utils.training.engine import set_threads

UNCONDITIONAL = [name for name in {**GENERATORS, **LADDER}
                 if name not in ("conditional_generator", "latent_code_predictor", "flow_matching")]


def main() -> int:
    set_threads()
    judges = {"kit": load_pretrained("classifier"), "second judge": load_pretrained("mlp_classifier")}
    print("| generator | kit: recognised | two-digit blends | other | second judge: recognised | blends | other |\n"
          "|---|---:|---:|---:|---:|---:|---:|")
    rows = {"real test digits": load_mnist("test")[0], **{f"`{name}`": None for name in UNCONDITIONAL}}
    for row, images in rows.items():
        if images is None:
            images = sample(load_pretrained(row.strip("`")), 10_000, seed=1)
        cells = [f"{share:.1%}" for judge in judges.values()
                 for share in ev.blend_split(ev.predict_proba(judge, images)).values()]
        print(f"| {row} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
