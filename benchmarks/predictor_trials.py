"""Trials of the latent code predictor's recipe for models/generator.pth (docs/experiments/plain_dcgan.md).

    python benchmarks/predictor_trials.py '{"keep_threshold": 0.99}' '{"keep_threshold": 0.9, "mmd_weight": 70}'

Each argument is a JSON object of ``PredictorConfig`` settings. The predictor trains against the kit's
classifier, so it is judged by what it never saw: label accuracy by the second judge
(``models/mlp_classifier.pth``) on 1,000 digits of each class, and the pixel variety of 100 of them per
digit against real test digits (``pretrain.predictor_metrics``, as the manifest's). Prints one JSON line
per trial.
"""
from __future__ import annotations

import json
import sys
import time

import mnist_gan_utils as kit
from mnist_gan_utils import evaluation as ev
from mnist_gan_utils.paths import OUTPUTS_DIR
from mnist_gan_utils.pretrain import predictor_metrics
from mnist_gan_utils.training.predictor import train_predictor


def main(argv=None) -> int:
    G, C = kit.load_pretrained("generator"), kit.load_pretrained("classifier")
    judge = kit.load_pretrained("mlp_classifier")
    x_test, y_test = kit.load_mnist("test")
    for i, arg in enumerate(argv if argv is not None else sys.argv[1:]):
        settings = json.loads(arg)
        t0 = time.time()
        result = train_predictor(G, C, seed=0, progress=False, run_dir=str(OUTPUTS_DIR / f"bench_predictor_{i}"),
                                 overwrite=True, **settings)
        seconds = time.time() - t0
        images, labels = ev.sample_digits(result.predictor, G, range(10), 1000, 1)
        m = predictor_metrics(images, labels, C, judge, x_test, y_test, 1000, result.bank_sizes)  # variety on 100
        print(json.dumps({**settings, "seconds": round(seconds), "bank_sizes": result.bank_sizes,
                          "judge_label_accuracy": round(m["judge_label_accuracy"], 4),
                          "judge_worst_digit": round(min(m["judge_per_digit_accuracy"]), 4),
                          "min_variety_ratio": round(m["min_variety_ratio"], 3),
                          "variety": [round(v, 2) for v in m["variety_ratio"]]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
