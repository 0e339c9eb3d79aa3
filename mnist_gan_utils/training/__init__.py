"""One training loop per model family, sharing :mod:`.engine` (seeding, device, run folder, checkpoints, resume)."""
from .classifier import ClassifierConfig, train_classifier
from .engine import TrainingDivergedError, pick_device
from .gan import GANConfig, train_gan
from .predictor import PredictorConfig, train_predictor
from .vae import VAEConfig, train_vae

__all__ = ["ClassifierConfig", "GANConfig", "PredictorConfig", "TrainingDivergedError", "VAEConfig",
           "pick_device", "train_classifier", "train_gan", "train_predictor", "train_vae"]
