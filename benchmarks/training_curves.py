"""Flow matching against the conditional GAN: figures against training seconds, both trained in this process.

    python benchmarks/training_curves.py                  # both recipes; docs/training_curves.{md,png}
    python benchmarks/training_curves.py --max-steps 20   # a smoke test, not a measurement
    python benchmarks/training_curves.py --report         # rewrite the page from the saved curves

Each model trains with its ``pretrain`` recipe (the conditional GAN: ``GAN_FAMILY["conditional_generator"]``,
3 epochs; flow matching: ``FlowMatchingConfig()``, its sampling defaults) from the same seed, one after the
other, and is measured every half epoch on the same 2,000 digits (every digit 200 times, fixed noise): label
accuracy and recognised rate by the kit's classifier and by the second judge (``models/mlp_classifier.pth``),
and the Fréchet distance on the kit's classifier features over the floor of 2,000 training digits against
2,000 test digits (a 2,000-sample floor is larger than the manifest's 10,000-sample one: these ratios compare
within this table only). What is measured is the network that draws: the weight average of each. Training
seconds exclude the measurements. Never run beside another job: two processes halve each other.
"""
from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
from pathlib import Path

import torch

import mnist_gan_utils.training.flow_matching as tfm
import mnist_gan_utils.training.gan as tg
from mnist_gan_utils import evaluation as ev
from mnist_gan_utils.checkpoints import load_pretrained
from mnist_gan_utils.data import load_mnist
from mnist_gan_utils.paths import OUTPUTS_DIR, REPO_ROOT
from mnist_gan_utils.pretrain import GAN_FAMILY
from mnist_gan_utils.sampling import balanced_labels, sample
from mnist_gan_utils.training.engine import set_threads
from mnist_gan_utils.training.gan import GANConfig
from time_to_quality import Clock, plot_curves

N_EVAL = 2000
SEED = 0
POINTS_PER_EPOCH = 2


class Judge:
    """The figures of 2,000 digits drawn for fixed labels from fixed noise, by both classifiers."""

    def __init__(self, n: int = N_EVAL):
        self.C, self.C2 = load_pretrained("classifier"), load_pretrained("mlp_classifier")
        self.x_test = load_mnist("test")[0][:n]
        self.f_test = ev.features(self.C, self.x_test)
        self.x_train = load_mnist("train")[0]
        self.floor = ev.frechet_distance_features(self.f_test, ev.features(self.C, self.x_train[:n]))
        self.n, self.labels = n, balanced_labels(n)

    def __call__(self, G) -> dict:
        images = sample(G, self.n, seed=12345, labels=self.labels)
        m = ev.evaluate_images(self.C, images, self.x_test, real_test_features=self.f_test)
        p2 = ev.predict_proba(self.C2, images)
        return {"label_accuracy": ev.label_accuracy(self.C, images, self.labels)["label_accuracy"],
                "recognised_rate": m["recognised_rate"], "frechet_ratio": m["frechet_distance"] / self.floor,
                "judge_label_accuracy": (p2.argmax(1) == self.labels).float().mean().item(),
                "judge_recognised_rate": ev.recognised_rate(p2)}


def measured(module, name: str, train, judge: Judge, batch_size: int, max_steps: int | None, sampler) -> list[dict]:
    """Run ``train()``, measuring ``sampler()`` (a copy of the drawing network) ``POINTS_PER_EPOCH`` times an
    epoch, counted in updates of the weight average, which both loops update once a step
    (``module.update_ema`` is wrapped for the run)."""
    steps = min(len(judge.x_train) // batch_size, max_steps or 10 ** 9)  # the loops' batches are all full
    curve, clock, done = [], Clock(), [0]
    original = module.update_ema
    marks = {round(steps * i / POINTS_PER_EPOCH) % steps for i in range(1, POINTS_PER_EPOCH + 1)}

    def update_ema(average, net):
        original(average, net)
        done[0] += 1
        if done[0] % steps in marks:
            seconds = clock.lap()
            curve.append({"epoch": round(done[0] / steps, 2), "seconds": seconds, **judge(sampler(average))})
            print(f"[{name}] {curve[-1]}", flush=True)
            clock.resume()

    module.update_ema = update_ema
    try:
        clock.resume()
        train()
    finally:
        module.update_ema = original
    return curve


def run_cgan(judge: Judge, max_steps: int | None) -> list[dict]:
    from mnist_gan_utils.training.averaging import recalibrate_bn
    cfg = GANConfig(**GAN_FAMILY["conditional_generator"], seed=SEED, run_dir=str(OUTPUTS_DIR / "bench_curves_cgan"),
                    overwrite=True, progress=False, monitor_classes=False, max_steps_per_epoch=max_steps)

    def sampler(average):  # as the loop draws: the average with its BatchNorm statistics recomputed
        G = copy.deepcopy(average.module)
        recalibrate_bn(G, cfg.bn_recalibration, cfg.batch_size, cfg.seed, torch.device("cpu"))
        return G.eval()
    return measured(tg, "conditional GAN", lambda: tg.train_gan(cfg), judge, cfg.batch_size, max_steps, sampler)


def run_flow(judge: Judge, max_steps: int | None) -> list[dict]:
    cfg = tfm.FlowMatchingConfig(seed=SEED, run_dir=str(OUTPUTS_DIR / "bench_curves_flow"), overwrite=True,
                                 progress=False, max_steps_per_epoch=max_steps)

    def sampler(average):
        G = tfm.FlowMatchingGenerator(cfg.channels, cfg.emb_dim, cfg.steps, cfg.solver, cfg.guidance)
        G.net.load_state_dict(average.module.state_dict())
        return G.eval()
    return measured(tfm, "flow matching", lambda: tfm.train_flow_matching(cfg), judge, cfg.batch_size, max_steps,
                    sampler)


def report(results: dict, out_md: Path) -> str:
    lines = ["# Training curves: flow matching against the conditional GAN", "",
             f"`python benchmarks/training_curves.py` on {results['machine']}, torch {results['torch']}: both "
             f"recipes trained one after the other in one process, measured every half epoch on {N_EVAL:,} digits "
             "(each digit equally often, fixed noise). Label accuracy and recognised rate by the kit's "
             "classifier and by the second judge (`models/mlp_classifier.pth`); Fréchet distance on the kit's "
             f"classifier features over the {N_EVAL:,}-digit real-data floor (comparable within this page only). "
             "Training seconds exclude the measurements.", ""] + ([f"Note: {results['note']}.", ""] if results.get("note") else [])
    for key, title in (("cgan", "Conditional GAN (`pretrain`'s recipe, 3 epochs)"),
                       ("flow", "Flow matching (`FlowMatchingConfig()`, 2 midpoint steps, guidance 1.5)")):
        lines += [f"## {title}", "", "| epoch | training s | label accuracy | recognised | Fréchet / floor | "
                  "second judge: label accuracy | recognised |", "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        lines += [f"| {p['epoch']} | {p['seconds']:.0f} | {p['label_accuracy']:.1%} | {p['recognised_rate']:.1%} | "
                  f"{p['frechet_ratio']:.2f} | {p['judge_label_accuracy']:.1%} | {p['judge_recognised_rate']:.1%} |"
                  for p in results[key]]
        lines.append("")
    gan, flow = results["cgan"][-1], results["flow"]
    hit = next((p for p in flow if p["frechet_ratio"] <= gan["frechet_ratio"]), None)
    lines += ["## Read across", "",
              f"- The conditional GAN ends at {gan['seconds']:.0f} s of training: Fréchet {gan['frechet_ratio']:.2f}x, "
              f"label accuracy {gan['label_accuracy']:.1%} (second judge {gan['judge_label_accuracy']:.1%})."]
    lines.append(f"- Flow matching first draws as close to the real digits (Fréchet {hit['frechet_ratio']:.2f}x) after "
                 f"{hit['seconds']:,.0f} s (epoch {hit['epoch']}): {hit['seconds'] / gan['seconds']:.1f}x the GAN's whole "
                 "training." if hit else "- Flow matching never draws as close to the real digits within its run.")
    lines.append(f"- At its end ({flow[-1]['seconds']:,.0f} s): Fréchet {flow[-1]['frechet_ratio']:.2f}x, label accuracy "
                 f"{flow[-1]['label_accuracy']:.1%} (second judge {flow[-1]['judge_label_accuracy']:.1%}); its lowest "
                 f"Fréchet ratio, {min(p['frechet_ratio'] for p in flow):.2f}x, came at epoch "
                 f"{min(flow, key=lambda p: p['frechet_ratio'])['epoch']}.")
    lines += ["", "![training curves](training_curves.png)", ""]
    text = "\n".join(lines)
    out_md.write_text(text)
    _plot(results, out_md.with_suffix(".png"))
    return text


def _plot(results: dict, path: Path) -> None:
    fig, _ = plot_curves(((results["cgan"], "conditional GAN", "o-"), (results["flow"], "flow matching", "s-")),
                         "judge_label_accuracy", "label accuracy (second judge)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-steps", type=int, help="cap the steps of every epoch (a smoke test, not a measurement)")
    ap.add_argument("--results", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "training_curves.json")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "training_curves.md")
    ap.add_argument("--report", action="store_true", help="rewrite the report from the saved curves only")
    args = ap.parse_args(argv)
    if args.report:
        print(report(json.loads(args.results.read_text()), args.out))
        return 0
    set_threads()
    judge = Judge()
    results = {"machine": f"{platform.machine()}, {torch.get_num_threads()} threads", "torch": torch.__version__,
               "cgan": run_cgan(judge, args.max_steps), "flow": run_flow(judge, args.max_steps)}
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=1))
    print(report(results, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
