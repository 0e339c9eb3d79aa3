import pytest
import torch

from mnist_gan_utils.models import VAE, Classifier, Decoder, Discriminator, Generator, LatentCodePredictor


def test_generator_shapes_and_range():
    G = Generator(noise_dim=64).eval()
    x = G(torch.randn(5, 64))
    assert x.shape == (5, 1, 28, 28)
    assert x.min() >= -1 and x.max() <= 1
    assert G(torch.randn(5, 64, 1, 1)).shape == (5, 1, 28, 28)  # the DCGAN (N, nz, 1, 1) convention works too


@pytest.mark.parametrize("deep", [False, True])
def test_discriminator_and_generator_variants(deep):
    G, D = Generator(16, channels=8, deep=deep), Discriminator(channels=8, deep=deep, norm="batch")
    assert D(G(torch.randn(4, 16))).shape == (4,)


def test_decoder_vae_classifier_predictor_shapes():
    dec = Decoder(latent_dim=8)
    img = dec(torch.randn(3, 8))
    assert img.shape == (3, 1, 28, 28) and img.min() >= 0 and img.max() <= 1
    logits, mu, logvar = VAE(latent_dim=8)(torch.rand(3, 1, 28, 28))
    assert logits.shape == (3, 1, 28, 28) and mu.shape == logvar.shape == (3, 8)
    C = Classifier()
    assert C(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert C.features(torch.rand(3, 1, 28, 28)).shape == (3, C.feature_dim)
    P = LatentCodePredictor(noise_dim=64)
    assert P(torch.tensor([0, 3, 9])).shape == (3, 64)
    assert P(torch.tensor([1]), torch.zeros(1, P.eps_dim)).shape == (1, 64)


def test_published_loading_idiom(tmp_path):
    """`G = Generator(noise_dim=64); G.load_state_dict(torch.load(path))` works as users write it."""
    path = tmp_path / "g.pth"
    torch.save(Generator(noise_dim=64).state_dict(), path)
    G = Generator(noise_dim=64)
    G.load_state_dict(torch.load(path))


@pytest.mark.parametrize("make, bad, error", [
    (lambda: Generator(64), torch.randn(2, 32), ValueError),        # wrong noise_dim
    (lambda: Generator(64), torch.ones(2, 64, dtype=torch.long), TypeError),
    (lambda: Discriminator(), torch.randn(2, 1, 32, 32), ValueError),
    (lambda: Classifier(), torch.randn(2, 28, 28), ValueError),
    (lambda: Decoder(8), "not a tensor", TypeError),
])
def test_wrong_input_names_the_problem(make, bad, error):
    with pytest.raises(error, match="expected"):
        make()(bad)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="noise_dim"):
        Generator(noise_dim=0)
    with pytest.raises(ValueError, match="norm"):
        Discriminator(norm="layer")
    with pytest.raises(ValueError, match="labels"):
        LatentCodePredictor()(torch.tensor([10]))
    with pytest.raises(TypeError, match="labels"):
        LatentCodePredictor()(torch.tensor([1.0]))


def test_conditional_gan_shapes_and_label_checks():
    from mnist_gan_utils.models import ConditionalDiscriminator, ConditionalGenerator
    G, D = ConditionalGenerator(16, channels=8, embed_dim=4).eval(), ConditionalDiscriminator(channels=8)
    y = torch.tensor([0, 3, 9])
    x = G(torch.randn(3, 16), y)
    assert x.shape == (3, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert D(x, y).shape == (3,)
    # the label changes the image and D's score: it is really used
    z = torch.randn(1, 16)
    assert not torch.allclose(G(z, torch.tensor([1])), G(z, torch.tensor([7])))
    assert D(x[:1], torch.tensor([1])).item() != D(x[:1], torch.tensor([7])).item()
    assert G.decode(z, G.embed(torch.tensor([5]))).shape == (1, 1, 28, 28)
    with pytest.raises(ValueError, match="digits in \\[0, 9\\]"):
        G(torch.randn(1, 16), torch.tensor([10]))
    with pytest.raises(TypeError, match="integer tensor"):
        D(x, torch.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="one label per image"):
        D(x, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="expected shape"):
        G(torch.randn(2, 15), torch.tensor([0, 1]))
