"""The decoder's prior: how many Gaussians, chosen without the classifier, and what each choice gives.

    python -m mnist_gan_utils pretrain --model decoder    # first: trains the VAE, leaves its checkpoint
    python benchmarks/decoder_prior.py                    # table on stdout and in docs/decoder_prior.md

For the VAE that ``pretrain`` trained (``outputs/pretrain/vae/checkpoint.pt``), mixtures of K Gaussians are
fitted to the encoder's mean codes of the 60,000 training digits (as ``train_vae`` does). The choice of K
reads only the **held-out log density**: the mean log density of the 10,000 *test* digits' codes under each
mixture (nats; higher is better). The classifier's figures (recognised rate, class range, Fréchet ratio on
10,000 samples, as in the manifest) are printed beside it for the record, never used to choose.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

from mnist_gan_utils import evaluation as ev
from mnist_gan_utils.checkpoints import load_pretrained
from mnist_gan_utils.clusters import fit_gaussian_mixture
from mnist_gan_utils.data import load_mnist
from mnist_gan_utils.models import VAE, Decoder
from mnist_gan_utils.paths import OUTPUTS_DIR, REPO_ROOT
from mnist_gan_utils.training.engine import set_threads
from mnist_gan_utils.training.vae import encode_means


def load_vae(checkpoint: Path) -> VAE:
    if not checkpoint.exists():
        raise SystemExit(f"no VAE checkpoint at {checkpoint}: run `python -m mnist_gan_utils pretrain --model "
                         f"decoder` first (it trains the VAE there), or pass --checkpoint")
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    config, weights = state["config"], state["models"]["vae"]
    vae = VAE(config["latent_dim"], config["hidden"])
    vae.load_state_dict({k: v for k, v in weights.items() if ".prior_" not in k})  # the network, not its prior
    return vae.eval()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, default=OUTPUTS_DIR / "pretrain" / "vae" / "checkpoint.pt")
    ap.add_argument("--components", type=int, nargs="+", default=[1, 10, 50, 100])
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "decoder_prior.md")
    args = ap.parse_args(argv)
    set_threads()
    vae = load_vae(args.checkpoint)
    x_train, _ = load_mnist("train")
    x_test, _ = load_mnist("test")
    train_codes, test_codes = encode_means(vae, x_train), encode_means(vae, x_test)
    classifier = load_pretrained("classifier")
    lines = ["# The decoder's prior", "",
             f"`python benchmarks/decoder_prior.py` on {platform.machine()}, torch {torch.__version__}, "
             f"{time.strftime('%Y-%m-%d')}. Mixtures fitted to the training digits' mean codes; K chosen by the "
             f"held-out column only. Classifier figures on {args.samples:,} samples (seed 1, as the manifest).", "",
             "| prior | held-out log density (nats) | fit (s) | recognised | classes | Fréchet ratio |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]

    def row(name, decoder, held_out, seconds):
        m = ev.evaluate_generator(decoder, classifier, args.samples, 1, x_test[:args.samples], x_train[:args.samples])
        lines.append(f"| {name} | {held_out} | {seconds} | {m['recognised_rate']:.1%} | "
                     f"{m['min_class_fraction']:.1%}–{m['max_class_fraction']:.1%} | {m['frechet_ratio']:.1f}× |")
        print(lines[-1], flush=True)

    row("N(0, I), as trained", vae.decoder, "–", "–")
    for k in args.components:
        t = time.perf_counter()
        gm = fit_gaussian_mixture(train_codes, k, seed=0)
        seconds = time.perf_counter() - t
        decoder = Decoder(vae.latent_dim, vae.hidden, k)
        decoder.net.load_state_dict(vae.decoder.net.state_dict())  # the same network, this mixture as its prior
        decoder.set_prior(gm.weights, gm.means, gm.covariances)
        row(f"{k} Gaussian{'s' if k > 1 else ''}", decoder.eval(), f"{gm.log_likelihood(test_codes):.2f}", f"{seconds:.0f}")
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
