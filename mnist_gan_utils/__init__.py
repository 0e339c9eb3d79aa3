"""mnist-gan-kit's shared package: every notebook imports it, nothing in it imports a notebook.

    from mnist_gan_utils import Generator, load_pretrained, sample, show_grid
    G = load_pretrained("generator")           # sha256-checked, eval() mode
    show_grid(sample(G, 10), nrow=5)          # a 2x5 grid of digits
"""
from .checkpoints import CheckpointError, load_checkpoint, load_pretrained, load_state_dict, save_checkpoint
from .data import MNISTBatches, MNISTUnavailableError, ensure_mnist, load_mnist
from .evaluation import evaluate_generator
from .models import (VAE, Classifier, ConditionalDiscriminator, ConditionalGenerator, Critic, Decoder, Discriminator,
                     Generator, LatentCodePredictor, SelfConditionedDiscriminator, SelfConditionedGenerator)
from .paths import DATA_DIR, MODELS_DIR, OUTPUTS_DIR, REPO_ROOT
from .plotting import plot_losses, save_grid, show_grid
from .sampling import sample, sample_digits, to_unit
from .training.engine import TrainingDivergedError, pick_device

__version__ = "0.1.0"
__all__ = ["CheckpointError", "Classifier", "ConditionalDiscriminator", "ConditionalGenerator", "Critic", "DATA_DIR",
           "Decoder", "Discriminator", "Generator", "LatentCodePredictor", "SelfConditionedDiscriminator",
           "SelfConditionedGenerator", "MODELS_DIR", "MNISTBatches", "MNISTUnavailableError", "OUTPUTS_DIR",
           "REPO_ROOT", "TrainingDivergedError", "VAE", "ensure_mnist", "evaluate_generator", "load_checkpoint",
           "load_mnist", "load_pretrained", "load_state_dict", "pick_device", "plot_losses", "sample",
           "sample_digits", "save_checkpoint", "save_grid", "show_grid", "to_unit"]
