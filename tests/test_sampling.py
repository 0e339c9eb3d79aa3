"""Drawing digits (mnist_gan_utils.sampling): seeded Gaussian noise in, images in [0, 1] out, in eval mode,
batch by batch, for plain, conditional and decoder models, and digits on demand through the latent code predictor.

Small stand-in models record what they were fed, so each test can say exactly what `sample` passed them."""
import pytest
import torch
from torch import nn

from mnist_gan_utils.models import Classifier, ConditionalGenerator, Decoder, Generator
from mnist_gan_utils.sampling import balanced_labels, latent_size, sample, sample_digits, to_unit


class Echo(nn.Module):
    """A 'generator' whose image is tanh of its first noise number: it records each batch it is fed."""
    noise_dim = 4

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.seen, self.modes, self.grad = [], [], []

    def forward(self, z):
        self.seen.append(z.clone())
        self.modes.append(self.training)
        self.grad.append(torch.is_grad_enabled())
        return (self.scale * z[:, :1, None, None]).tanh().expand(-1, 1, 28, 28)


class LabelledEcho(Echo):
    """A conditional stand-in: records the labels of each batch too."""
    conditional = True

    def __init__(self):
        super().__init__()
        self.labels = []

    def forward(self, z, labels):
        self.labels.append(labels.clone())
        return super().forward(z)


class Predictor(nn.Module):
    """A latent code predictor stand-in: the code of digit d is eps, shifted by d in its first number."""
    eps_dim = 4

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.calls, self.modes = [], []

    def forward(self, labels, eps):
        self.calls.append((labels.clone(), eps.clone()))
        self.modes.append(self.training)
        return eps + labels[:, None].float() * torch.tensor([1.0, 0, 0, 0])


def _noise(n, dim, seed):
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def test_to_unit_maps_tanh_outputs_to_pixels_and_leaves_decoder_outputs_alone():
    x = torch.tensor([-1.0, 0.0, 0.5, 1.0])
    assert torch.equal(to_unit(x), torch.tensor([0.0, 0.5, 0.75, 1.0]))
    assert torch.equal(to_unit(x, Generator(16, 8)), torch.tensor([0.0, 0.5, 0.75, 1.0]))
    assert to_unit(x, Decoder(latent_dim=2, hidden=16)) is x     # a Decoder's sigmoid is already in [0, 1]


def test_latent_size_is_the_noise_or_latent_dimension_and_names_a_model_that_has_neither():
    assert latent_size(Generator(noise_dim=16, channels=8)) == 16
    assert latent_size(Decoder(latent_dim=3, hidden=16)) == 3
    both = nn.Module()
    both.noise_dim, both.latent_dim = 5, 7
    assert latent_size(both) == 5
    with pytest.raises(TypeError, match="^Classifier has no noise_dim or latent_dim: is it a generator"):
        latent_size(Classifier(channels=4, feature_dim=8))


def test_balanced_labels_cycle_through_the_ten_digits():
    assert balanced_labels(12).tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert torch.bincount(balanced_labels(23), minlength=10).tolist() == [3, 3, 3] + [2] * 7


def test_sample_feeds_seeded_standard_gaussian_noise_in_eval_mode_and_maps_to_unit():
    G = Echo().train()
    images = sample(G, 5, seed=3)
    assert torch.equal(G.seen[0], _noise(5, 4, 3))                      # (n, noise_dim), seeded
    assert G.modes == [False] and G.grad == [False]                     # eval mode, no autograd graph
    assert not G.training and not images.requires_grad
    assert images.shape == (5, 1, 28, 28) and images.device.type == "cpu"
    assert torch.allclose(images[:, 0, 0, 0], (_noise(5, 4, 3)[:, 0].tanh() + 1) / 2)
    assert torch.equal(sample(Echo(), 5), sample(Echo(), 5, seed=0))    # seed 0 by default
    assert not torch.equal(sample(Echo(), 5, seed=4), images)


def test_sample_goes_batch_by_batch_and_a_digit_does_not_depend_on_its_batch():
    G = Echo()
    sample(G, 7, batch_size=3, device="cpu")
    assert [z.shape[0] for z in G.seen] == [3, 3, 1]
    assert torch.equal(torch.cat(G.seen), _noise(7, 4, 0))
    real = Generator(16, 8)
    real(torch.randn(32, 16))                       # a train-mode pass moves BatchNorm's running statistics
    assert torch.allclose(sample(real, 7, batch_size=3), sample(real, 7), atol=1e-6)


def test_sample_uses_the_noise_it_is_given():
    G = Echo()
    z = torch.randn(3, 4)
    images = sample(G, 3, z=z)
    assert torch.equal(G.seen[0], z) and images.shape == (3, 1, 28, 28)


@pytest.mark.parametrize("n", [0, -1, 2.5, "3", None])
def test_sample_names_a_bad_number_of_images(n):
    with pytest.raises(ValueError, match=f"^n must be an integer >= 1, got {n!r}$"):
        sample(Echo(), n)


def test_sample_asks_a_conditional_generator_for_every_digit_equally_often_or_for_given_labels():
    G = LabelledEcho()
    sample(G, 12, batch_size=5)
    assert torch.equal(torch.cat(G.labels), balanced_labels(12))
    assert [len(b) for b in G.labels] == [len(z) for z in G.seen] == [5, 5, 2]   # labels stay with their noise
    G = LabelledEcho()
    labels = torch.tensor([7, 7, 3, 1])
    sample(G, 4, labels=labels, batch_size=3)
    assert torch.equal(torch.cat(G.labels), labels) and [len(b) for b in G.labels] == [3, 1]


def test_a_decoder_is_sampled_from_its_latent_space_in_its_own_pixel_scale():
    dec = Decoder(latent_dim=3, hidden=16)
    images = sample(dec, 4, seed=2)
    with torch.no_grad():
        expected = dec.eval()(_noise(4, 3, 2))
    assert torch.allclose(images, expected.reshape(images.shape)) and 0 <= images.min() and images.max() <= 1


def test_sample_digits_from_a_conditional_generator():
    G = ConditionalGenerator(16, channels=8, embed_dim=4)
    images, labels = sample_digits(None, G, [3, 7], n_per_digit=2, seed=5)
    assert labels.tolist() == [3, 3, 7, 7] and images.shape == (4, 1, 28, 28)
    assert torch.equal(images, sample(G, 4, seed=5, labels=labels))
    default = LabelledEcho()
    sample_digits(None, default, range(10))                       # ten of each digit, seed 0
    assert torch.equal(default.labels[0], torch.arange(10).repeat_interleave(10))
    assert torch.equal(default.seen[0], _noise(100, 4, 0))
    with pytest.raises(TypeError, match="^an unconditional Generator cannot be asked for a digit by itself: pass "
                                        "the latent code predictor"):
        sample_digits(None, Echo(), [3])


def test_sample_digits_through_the_latent_code_predictor():
    P, G = Predictor().train(), Echo().train()
    images, labels = sample_digits(P, G, [2, 5], n_per_digit=3, seed=4)
    assert labels.tolist() == [2, 2, 2, 5, 5, 5]
    asked, eps = P.calls[0]
    assert torch.equal(asked, labels) and torch.equal(eps, _noise(6, 4, 4))   # seeded (N, eps_dim) noise
    assert P.modes == [False] and G.modes == [False] and G.grad == [False]   # both in eval mode, no graph
    expected_z = _noise(6, 4, 4) + labels[:, None].float() * torch.tensor([1.0, 0, 0, 0])
    assert torch.equal(G.seen[0], expected_z)
    assert torch.allclose(images[:, 0, 0, 0], (expected_z[:, 0].tanh() + 1) / 2)   # mapped to [0, 1]
    assert images.device.type == "cpu" and not images.requires_grad
    P2, G2 = Predictor(), Echo()
    sample_digits(P2, G2, [1])
    assert len(P2.calls[0][0]) == 10 and torch.equal(P2.calls[0][1], _noise(10, 4, 0))   # 10 per digit, seed 0


def test_sample_draws_a_thousand_images_at_a_time_by_default():
    G = Echo()
    assert sample(G, 1001).shape == (1001, 1, 28, 28)
    assert [len(z) for z in G.seen] == [1000, 1]                 # 10,000 digits never make one huge batch


class OnDevice(nn.Module):
    """A stand-in whose weights live on the 'meta' device (as on a GPU: not the CPU): it records where its
    inputs were put. As a generator it answers on the CPU; as a predictor, where its inputs are."""

    def __init__(self, **attrs):
        super().__init__()
        self.w = nn.Parameter(torch.zeros((), device="meta"))
        self.__dict__.update(attrs)
        self.devices = []

    def forward(self, *inputs):
        self.devices.extend(t.device.type for t in inputs)
        n = inputs[0].shape[0]
        if getattr(self, "noise_dim", None):
            return torch.zeros(n, 1, 28, 28)
        return torch.zeros(n, 4, device=inputs[0].device)


def test_inputs_go_to_the_models_device_unless_another_is_asked_for():
    G = OnDevice(noise_dim=4)
    sample(G, 3)
    assert G.devices == ["meta"]
    sample(G, 3, device="cpu")
    assert G.devices == ["meta", "cpu"]
    P, G = OnDevice(eps_dim=4), OnDevice(noise_dim=4)
    sample_digits(P, G, [1, 2], n_per_digit=1)
    assert P.devices == ["meta", "meta"]                            # the digits asked for, and eps
