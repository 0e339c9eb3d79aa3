"""The pretrained models of ``models/``, listed once: name -> class -> the constructor arguments recorded
in the manifest -> file. The checkpoints, the command line, ``pretrain`` and the comparison read it.
Class names are strings so that reading the list imports no torch (``--help`` stays fast)."""
from __future__ import annotations

# name: (class in mnist_gan_utils.models, the constructor arguments the manifest records)
PRETRAINED = {
    "classifier": ("Classifier", ("channels", "feature_dim")),
    "decoder": ("Decoder", ("latent_dim", "hidden", "components")),
    "generator": ("Generator", ("noise_dim", "channels")),
    "discriminator": ("Discriminator", ("channels",)),
    "generator_3_epochs": ("Generator", ("noise_dim", "channels")),
    "discriminator_3_epochs": ("Discriminator", ("channels",)),
    "averaged_generator": ("Generator", ("noise_dim", "channels")),
    "averaged_discriminator": ("Discriminator", ("channels",)),
    "mlp_classifier": ("MLPClassifier", ("hidden",)),
    "latent_code_predictor": ("LatentCodePredictor", ("noise_dim", "eps_dim", "hidden", "clusters")),
    "self_conditioned_generator": ("SelfConditionedGenerator",
                                   ("noise_dim", "channels", "deep", "clusters", "embed_dim", "cluster_embedding")),
    "self_conditioned_discriminator": ("SelfConditionedDiscriminator",
                                       ("channels", "norm", "deep", "clusters", "pca_dim", "cluster_embedding")),
    "conditional_generator": ("ConditionalGenerator", ("noise_dim", "channels", "deep", "embed_dim")),
    "conditional_discriminator": ("ConditionalDiscriminator", ("channels", "norm", "deep")),
    "wgan_gp_generator": ("Generator", ("noise_dim", "channels")),
    "wgan_gp_critic": ("Critic", ("channels",)),
    "flow_matching": ("FlowMatchingGenerator", ("channels", "emb_dim", "steps", "solver", "guidance")),
}
# each GAN generator's discriminator or critic, trained and saved with it
PRETRAINED_PARTNER = {"generator": "discriminator", "generator_3_epochs": "discriminator_3_epochs",
                      "averaged_generator": "averaged_discriminator", "self_conditioned_generator": "self_conditioned_discriminator",
                      "conditional_generator": "conditional_discriminator", "wgan_gp_generator": "wgan_gp_critic"}
# the models that draw digits, in the order of the comparison (notebook 08), with what each is
GENERATORS = {
    "generator": "DCGAN (notebook 02)",
    "self_conditioned_generator": "self-conditioned DCGAN",
    "wgan_gp_generator": "DCGAN, WGAN-GP objective",
    "conditional_generator": "conditional GAN",
    "latent_code_predictor": "latent code predictor + DCGAN",
    "decoder": "VAE decoder",
    "flow_matching": "flow matching (guidance 1.5)",
}

# the ladder of notebook 06: each rung changes one thing of the rung it builds on (LADDER_BASE), and all
# are given the same 2,811 generator updates (3 epochs of batches of 64); name -> what the rung is
LADDER = {
    "generator_3_epochs": "0 · DCGAN (notebook 02's run)",
    "averaged_generator": "1 · + weight average",
    "self_conditioned_generator": "2 · + self-conditioning",
    "conditional_generator": "3 · labels, not clusters (cGAN)",
    "wgan_gp_generator": "4 · rung 1 with WGAN-GP",
}
LADDER_BASE = {"averaged_generator": "generator_3_epochs", "self_conditioned_generator": "averaged_generator",
               "conditional_generator": "self_conditioned_generator", "wgan_gp_generator": "averaged_generator"}


def file_name(name: str) -> str:
    return f"{name}.pth"


def model_class(name: str) -> type:
    """The class of the pretrained model ``name``."""
    from . import models
    if name not in PRETRAINED:
        raise ValueError(f"unknown pretrained model {name!r}; the kit has {sorted(PRETRAINED)}")
    return getattr(models, PRETRAINED[name][0])


def constructor_args(name: str, model) -> dict:
    """The arguments that rebuild ``model`` (what the manifest records for ``name``)."""
    return {k: getattr(model, k) for k in PRETRAINED[name][1]}
