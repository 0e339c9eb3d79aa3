"""The pretrained models of ``models/``: one recipe each, and the one place that names them.

A recipe says what the model is (class, the constructor arguments the manifest records, file), how it is
rebuilt (the training loop and its settings, the model whose run it continues, what it needs), how it is
measured and against which targets, and where the lessons show it (its title in the comparison of
notebook 08, its rung of notebook 06's ladder). ``pretrain``, the command line, ``checkpoints`` and the
comparison read every list they need from :data:`RECIPES`. To add a model: add its recipe here.

Classes and loops are named by strings, so that reading the list imports no torch (``--help`` stays fast).
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Recipe:
    name: str                      # the manifest's name; the file is models/<name>.pth
    cls: str                       # its class in mnist_gan_utils.models
    args: tuple                    # the constructor arguments the manifest records
    train: str | None = None       # the loop that rebuilds it (pretrain.LOOPS); None: trained with its generator
    settings: dict = dataclasses.field(default_factory=dict)  # that loop's config, changed from its defaults
    partner: str | None = None     # a GAN generator's discriminator or critic, trained and saved with it
    continues: str | None = None   # rebuilt together, this run continues that model's (same weights, less time)
    draws_with: str | None = None  # the generator it draws through (it draws no digits of its own)
    digits: bool = False           # it draws the digit asked for (`sample --digit`)
    metrics: str = "generator"     # how pretrain measures it (pretrain.MEASURES)
    targets: dict = dataclasses.field(default_factory=dict)
    title: str | None = None       # its row in the comparison of every model (notebook 08), in this order
    rung: str | None = None        # its rung of notebook 06's ladder: each changes one thing of ...
    base: str | None = None        # ... this rung; every rung gets about 2,810 generator updates (6 epochs of
                                   # 128 or 3 of 64)

    @property
    def file(self) -> str:
        return f"{self.name}.pth"


def _gan(name, cls, args, partner, partner_cls, partner_args, **recipe):
    """A generator's recipe and its partner's, trained and saved with it."""
    return (Recipe(name, cls, args, partner=partner, **recipe),
            Recipe(partner, partner_cls, partner_args, metrics="discriminator"))


# The roles the kit's commands and lessons call on.
FIRST_DIGITS = ("generator", "decoder")  # what `python -m mnist_gan_utils` draws first
GENERATOR = "generator"                  # what `sample` and `evaluate` draw unless told; the predictor's G
NOTEBOOK_02 = "generator_6_epochs"       # notebook 02's DCGAN as the notebook trains it (the benchmarks')
JUDGE = "classifier"                     # the kit's classifier: every figure's judge
SECOND_JUDGE = "mlp_classifier"          # the judge no model was trained against

_G, _D = ("noise_dim", "channels"), ("channels",)
# notebook 02's DCGAN (DCGANConfig's defaults) on the loop with the add-ons, with G's weight average alone
_AVERAGED = dict(clusters=0, mismatch=0.0, g_channels=64, d_channels=16, batch_size=128, lr_decay=False)
# In the order pretrain rebuilds them: every model after the models it needs.
RECIPES = {r.name: r for r in (
    # the judges: the kit's CNN, and a second classifier of another kind for the figures of a model trained
    # against the first
    Recipe("classifier", "Classifier", ("channels", "feature_dim"), train="classifier", metrics="classifier",
           targets={"test_accuracy": ">= 0.995"}),
    Recipe("mlp_classifier", "MLPClassifier", ("hidden",), train="classifier", metrics="classifier",
           settings=dict(architecture="mlp", epochs=4, rotation=0.0, dropout=0.2)),
    # the DCGAN of notebook 02, as the notebook trains it (6 epochs)
    *_gan("generator_6_epochs", "Generator", _G, "discriminator_6_epochs", "Discriminator", _D,
          train="dcgan", rung="0 · DCGAN (notebook 02's run)"),
    # the add-ons (what each setting was chosen against: docs/experiments/): that run with G's weight average,
    # and the same run trained on to 14 epochs, the kit's first digits (no learning-rate schedule: the same
    # weights as a run of 14 from scratch)
    *_gan("averaged_generator", "Generator", _G, "averaged_discriminator", "Discriminator", _D,
          train="gan", settings=dict(_AVERAGED, epochs=6), rung="1 · + weight average", base="generator_6_epochs"),
    *_gan("generator", "Generator", _G, "discriminator", "Discriminator", _D,
          train="gan", settings=dict(_AVERAGED, epochs=14), continues="averaged_generator",
          title="DCGAN + weight average",
          targets={"recognised_rate": ">= 0.85", "class_fraction": "in [0.07, 0.13]", "frechet_ratio": "<= 20",
                   "training_seconds": "<= 900 on 2 CPU cores"}),
    # self-conditioned on 300 k-means clusters seen through a network of their centroids: GANConfig()
    *_gan("self_conditioned_generator", "SelfConditionedGenerator",
          ("noise_dim", "channels", "deep", "clusters", "embed_dim", "cluster_embedding"),
          "self_conditioned_discriminator", "SelfConditionedDiscriminator",
          ("channels", "norm", "deep", "clusters", "pca_dim", "cluster_embedding"),
          train="gan", title="self-conditioned DCGAN", rung="2 · + self-conditioning", base="averaged_generator",
          targets={"recognised_rate": ">= 0.95", "class_fraction": "in [0.07, 0.13]", "frechet_ratio": "<= 5"}),
    # the plain DCGAN's G against a critic without BatchNorm (the gradient penalty is per example),
    # Adam(1e-4, betas=(0, 0.9)) and 5 critic updates per generator update (Gulrajani et al., 2017); 15
    # epochs of 64 give G 2,811 updates, as many as the other rungs get
    *_gan("wgan_gp_generator", "Generator", _G, "wgan_gp_critic", "Critic", _D,
          train="gan", settings=dict(loss="wgan-gp", clusters=0, mismatch=0.0, lr=1e-4, betas=(0.0, 0.9), n_critic=5,
                                     g_channels=64, epochs=15),
          title="DCGAN, WGAN-GP objective", rung="4 · rung 1 with WGAN-GP", base="averaged_generator"),
    # the label joined to G's noise and D's image (and projected on D's features), a matching-aware D
    *_gan("conditional_generator", "ConditionalGenerator", ("noise_dim", "channels", "deep", "embed_dim"),
          "conditional_discriminator", "ConditionalDiscriminator", ("channels", "norm", "deep"),
          train="gan", settings=dict(conditional=True, clusters=0, epochs=3), digits=True, title="conditional GAN",
          rung="3 · labels, not clusters (cGAN)", base="self_conditioned_generator",
          targets={"label_accuracy": ">= 0.99", "recognised_rate": ">= the generator's",
                   "class_fraction": "in [0.07, 0.13]", "frechet_ratio": "<= the generator's"}),
    # judged by the second classifier: it is trained to please the kit's
    Recipe("latent_code_predictor", "LatentCodePredictor", ("noise_dim", "eps_dim", "hidden", "clusters"),
           train="predictor", draws_with=GENERATOR, metrics="predictor", title="latent code predictor + DCGAN",
           targets={"judge_label_accuracy": ">= 0.99", "variety_ratio": ">= 0.70 for every digit"}),
    Recipe("decoder", "Decoder", ("latent_dim", "hidden", "components"), train="vae", title="VAE decoder",
           targets={"recognised_rate": ">= 0.90", "class_fraction": "in [0.05, 0.15]"}),
    Recipe("flow_matching", "FlowMatchingGenerator", ("channels", "emb_dim", "steps", "solver", "guidance"),
           train="flow_matching", metrics="flow_matching", digits=True, title="flow matching (guidance 1.5)",
           targets={"label_accuracy": ">= 0.995", "recognised_rate": ">= 0.98", "class_fraction": "in [0.09, 0.11]",
                    "frechet_ratio": "<= 3 and below the conditional GAN's", "sampling_seconds": "<= 120 for 10,000",
                    "training_seconds": "<= 1800 on 2 CPU cores"}),
)}

# Views of the recipes, read when asked (a recipe added at run time shows in every one).
def partners() -> dict:
    """generator -> its discriminator or critic, trained and saved with it."""
    return {n: r.partner for n, r in RECIPES.items() if r.partner}


def companions() -> dict:
    """discriminator or critic -> its generator."""
    return {r.partner: n for n, r in RECIPES.items() if r.partner}


def built() -> tuple:
    """What ``pretrain --model`` rebuilds, in its order (each partner with its generator)."""
    return tuple(n for n, r in RECIPES.items() if r.train)


def titles() -> dict:
    """The comparison's models (notebook 08), in its order: name -> title."""
    return {n: r.title for n, r in RECIPES.items() if r.title}


def ladder() -> dict:
    """Notebook 06's ladder, rung by rung: name -> what the rung is."""
    return dict(sorted(((n, r.rung) for n, r in RECIPES.items() if r.rung), key=lambda item: item[1]))


def ladder_base() -> dict:
    """rung -> the rung it changes one thing of."""
    return {n: r.base for n, r in RECIPES.items() if r.base}


def continues() -> dict:
    """model -> the model whose run it continues when both are rebuilt."""
    return {n: r.continues for n, r in RECIPES.items() if r.continues}


def digit_models() -> tuple:
    """The models that draw the digit asked for."""
    return tuple(n for n, r in RECIPES.items() if r.digits)


def samplers() -> tuple:
    """The models that draw digits on their own (``sample`` and ``evaluate`` take them)."""
    return tuple(n for n in {**titles(), **ladder()} if not RECIPES[n].draws_with)


def recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ValueError(f"unknown pretrained model {name!r}; the kit has {sorted(RECIPES)}")
    return RECIPES[name]


def file_name(name: str) -> str:
    return recipe(name).file


def model_class(name: str) -> type:
    """The class of the pretrained model ``name``."""
    from . import models
    return getattr(models, recipe(name).cls)


def constructor_args(name: str, model) -> dict:
    """The arguments that rebuild ``model`` (what the manifest records for ``name``)."""
    return {k: getattr(model, k) for k in recipe(name).args}
