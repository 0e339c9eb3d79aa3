"""Training: one loop (:mod:`.loop`) with callbacks, on the engine (:mod:`.engine`: seeding, device, run folder,
checkpoints, resume); each family brings its step and config. The DCGAN of notebook 02 is :mod:`.dcgan`; its
add-ons (:mod:`.averaging`, :mod:`.self_conditioning`, :mod:`.conditional`, :mod:`.wgan_gp`) come together in
:mod:`.gan`."""
from .classifier import ClassifierConfig, train_classifier
from .dcgan import DCGANConfig, dcgan_step, train_dcgan
from .engine import TrainingDivergedError, pick_device
from .flow_matching import FlowMatchingConfig, flow_matching_loss, train_flow_matching
from .gan import GANConfig, train_gan
from .predictor import PredictorConfig, train_predictor
from .run_lock import RunFolderInUseError
from .vae import VAEConfig, train_vae

__all__ = ["ClassifierConfig", "DCGANConfig", "FlowMatchingConfig", "GANConfig", "PredictorConfig", "RunFolderInUseError", "TrainingDivergedError", "VAEConfig",
           "dcgan_step", "flow_matching_loss", "pick_device", "train_classifier", "train_dcgan", "train_flow_matching", "train_gan", "train_predictor", "train_vae"]
