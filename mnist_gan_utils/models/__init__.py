"""The kit's networks: ``nn.Module``s only, configured by constructor arguments. No training, no I/O.

Image conventions (one per model, stated once here):
  * generators (``Generator`` and the others) output Tanh images in [-1, 1] and train on data scaled to [-1, 1];
  * ``Decoder`` outputs sigmoid images in [0, 1] (the VAE's Bernoulli likelihood);
  * discriminators take [-1, 1] images and return one logit per image (use BCE *with logits*);
  * ``Classifier`` takes [0, 1] images (the pixel scale) and returns 10 logits.
:func:`mnist_gan_utils.evaluation.to_unit` maps any generator's output to [0, 1].
"""
from .classifier import MNIST_MEAN, MNIST_STD, Classifier, MLPClassifier
from .common import IMAGE_SHAPE, MAX_CLUSTERS, NUM_CLASSES
from .conditional import ConditionalDiscriminator, ConditionalGenerator
from .dcgan import Discriminator, Generator
from .flow_matching import FlowMatchingGenerator, VelocityUNet
from .labelled import CLUSTER_EMBEDDINGS, CentroidEmbedding, check_cluster_embedding
from .predictor import LatentCodePredictor
from .self_conditioned import SelfConditionedDiscriminator, SelfConditionedGenerator
from .vae import VAE, Decoder, Encoder
from .wgan_gp import Critic

__all__ = ["CLUSTER_EMBEDDINGS", "CentroidEmbedding", "Classifier", "ConditionalDiscriminator", "ConditionalGenerator",
           "Critic", "Decoder", "Discriminator", "Encoder", "FlowMatchingGenerator", "Generator", "IMAGE_SHAPE",
           "LatentCodePredictor", "MAX_CLUSTERS", "MLPClassifier", "MNIST_MEAN", "MNIST_STD", "NUM_CLASSES",
           "SelfConditionedDiscriminator", "SelfConditionedGenerator", "VAE", "VelocityUNet", "check_cluster_embedding"]
