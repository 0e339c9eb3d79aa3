import pytest
import torch

from mnist_gan_utils.models import (VAE, Classifier, Critic, Decoder, Discriminator, Generator, LatentCodePredictor,
                                    SelfConditionedDiscriminator, SelfConditionedGenerator)


def test_generator_shapes_and_range():
    G = Generator(noise_dim=64).eval()
    z = torch.randn(5, 64)
    x = G(z)
    assert x.shape == (5, 1, 28, 28)
    assert torch.equal(G(z[:, :, None, None]), x)  # the DCGAN (N, nz, 1, 1) convention works too
    last = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)][-1]
    with torch.no_grad():  # outputs of a fresh G are near 0; pushed far out, they stop at -1 and 1 (Tanh)
        last.weight.mul_(1e4)
        x = G(z)
    assert x.abs().max() <= 1 and (x.abs() > 0.99).float().mean() > 0.5


def test_the_wgan_gp_critic_is_the_discriminator_without_batchnorm():
    C = Critic(channels=8)
    assert C(Generator(16, channels=8)(torch.randn(4, 16))).shape == (4,)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in C.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in Discriminator(channels=8).modules())


def test_decoder_vae_classifier_predictor_shapes():
    dec = Decoder(latent_dim=8).eval()
    z = torch.randn(3, 8)
    img = dec(z)
    with torch.no_grad():  # pixels in [0, 1]: the sigmoid of the logits the VAE trains through
        assert img.shape == (3, 1, 28, 28) and torch.allclose(img, torch.sigmoid(dec.decode_logits(z)))
    logits, mu, logvar = VAE(latent_dim=8)(torch.rand(3, 1, 28, 28))
    assert logits.shape == (3, 1, 28, 28) and mu.shape == logvar.shape == (3, 8)
    C = Classifier()
    assert C(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert C.features(torch.rand(3, 1, 28, 28)).shape == (3, C.feature_dim)
    P = LatentCodePredictor(noise_dim=64)
    assert P(torch.tensor([0, 3, 9])).shape == (3, 64)
    assert P(torch.tensor([1]), torch.zeros(1, P.eps_dim)).shape == (1, 64)


def test_published_loading_idiom(tmp_path):
    """`G = Generator(noise_dim=64); G.load_state_dict(torch.load(path))`, as users write it, restores the very
    generator saved, BatchNorm statistics included: the same digits from the same noise."""
    torch.manual_seed(0)
    saved = Generator(noise_dim=64)
    saved(torch.randn(64, 64))  # a train-mode pass: running statistics of its own, as after training
    path = tmp_path / "g.pth"
    torch.save(saved.state_dict(), path)
    G = Generator(noise_dim=64)
    G.load_state_dict(torch.load(path))
    z = torch.randn(8, 64)
    with torch.no_grad():
        assert torch.equal(G.eval()(z), saved.eval()(z))
        assert not torch.allclose(Generator(noise_dim=64).eval()(z), saved(z))  # another G draws other digits


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
    with pytest.raises(ValueError, match=r"^noise_dim must be an integer >= 1, got 0$"):
        Generator(noise_dim=0)
    with pytest.raises(ValueError, match=r"^channels must be an integer >= 1, got 32\.0$"):
        Discriminator(channels=32.0)
    with pytest.raises(ValueError, match=r"^clusters must be an integer in \[2, 1000\], got 1001$"):
        SelfConditionedGenerator(16, clusters=1001)
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


def test_self_conditioned_generator_draws_each_cluster_as_often_as_its_prior():
    G = SelfConditionedGenerator(16, channels=8, clusters=4, embed_dim=4).eval()
    prior = torch.tensor([0.1, 0.2, 0.3, 0.4])
    G.set_prior(prior)
    z = torch.randn(40_000, 16, generator=torch.Generator().manual_seed(0))
    shares = torch.bincount(G.code(z), minlength=4).float() / z.shape[0]
    assert torch.allclose(shares, prior, atol=0.01)
    # the first noise number alone picks the cluster; G(z) is the cluster's image
    z2 = z[:8].clone()
    z2[:, 1:] = torch.randn(8, 15)
    assert torch.equal(G.code(z2), G.code(z[:8]))
    assert torch.allclose(G(z[:8]), G(z[:8], G.code(z[:8])))
    assert not torch.allclose(G(z[:1], torch.tensor([0])), G(z[:1], torch.tensor([3])))
    with pytest.raises(ValueError, match="cluster numbers in \\[0, 3\\]"):
        G(z[:1], torch.tensor([4]))
    with pytest.raises(ValueError, match="clusters"):
        SelfConditionedGenerator(16, clusters=1)


def test_self_conditioned_discriminator_finds_the_cluster_itself():
    from mnist_gan_utils.clusters import fit_clusters
    x = torch.randint(0, 256, (200, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    fitted = fit_clusters(x, k=5, pca_dim=10)
    D = SelfConditionedDiscriminator(channels=8, clusters=5, pca_dim=10).eval()  # eval: no power iteration per call
    D.set_clusters(fitted)
    images = x.unsqueeze(1).float() / 127.5 - 1
    assert torch.equal(D.assign(images), fitted.assignments)
    assert torch.allclose(D(images[:4]), D(images[:4], fitted.assignments[:4]))
    assert D(images[:1], torch.tensor([0])).item() != D(images[:1], torch.tensor([1])).item()


def test_centroid_embedding_gives_clusters_at_the_same_place_the_same_vector():
    """What one cluster learns carries to its look-alikes: the vector is a function of the centroid, and the
    gradient reaches the shared MLP through every cluster of the batch."""
    from mnist_gan_utils.models import CentroidEmbedding
    e = CentroidEmbedding(4, 6, pca_dim=3)
    e.set_points(torch.tensor([[0.0, 1, 2], [5, 5, 5], [0, 1, 2], [-3, 0, 1]]))
    assert torch.allclose(e.points.mean(0), torch.zeros(3), atol=1e-6) and abs(e.points.std().item() - 1) < 1e-5
    v = e(torch.tensor([0, 1, 2, 3, 1]))                                   # (5, 6), like nn.Embedding
    assert v.shape == (5, 6) and torch.equal(v[0], v[2]) and torch.equal(v[1], v[4])
    assert not torch.allclose(v[0], v[1])
    v.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in e.parameters())
    G = SelfConditionedGenerator(16, channels=8, clusters=3, embed_dim=4)
    a, b = torch.randn(2, 50, generator=torch.Generator().manual_seed(0))   # clusters 0 and 1 at one place
    G.set_prior(torch.ones(3), torch.stack([a, a, b]))
    z = torch.randn(2, 16)
    assert torch.equal(G.eval()(z, torch.tensor([0, 0])), G(z, torch.tensor([1, 1])))  # same centroid, same digit
    with pytest.raises(ValueError, match="cluster_embedding must be one of"):
        SelfConditionedGenerator(16, clusters=3, cluster_embedding="lookup")
    with pytest.raises(ValueError, match="cluster_embedding must be one of"):
        SelfConditionedDiscriminator(clusters=3, cluster_embedding="lookup")


def test_predictor_for_a_self_conditioned_generator_draws_the_clusters_it_is_told():
    """The code's first number lands in the drawn cluster's slice (G.code gives it back), and each digit
    draws its clusters as often as set_clusters says; the network writes the other numbers."""
    G = SelfConditionedGenerator(noise_dim=16, channels=8, clusters=6)
    G.set_prior(torch.tensor([1.0, 2, 3, 1, 1, 2]))
    P = LatentCodePredictor(noise_dim=16, clusters=6)
    weights = torch.zeros(10, 6)
    weights[:, 0], weights[3] = 1.0, torch.tensor([0.0, 0, 1, 0, 3, 0])  # a 3: clusters 2 and 4, 1:3
    P.set_clusters(weights, G.cluster_cdf)
    labels = torch.full((4000,), 3)
    eps = torch.randn(4000, P.eps_dim, generator=torch.Generator().manual_seed(0))
    z = P(labels, eps)
    assert z.shape == (4000, 16) and torch.equal(G.code(z), P.pick_clusters(labels, eps))
    share = torch.bincount(G.code(z), minlength=6).float() / 4000
    assert share[[0, 1, 3, 5]].sum() == 0 and abs(share[4] - 0.75) < 0.03
    assert torch.equal(G.code(P(torch.zeros(5, dtype=torch.long))), torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="positive weight in every row"):
        P.set_clusters(torch.zeros(10, 6), G.cluster_cdf)


def test_decoder_prior_turns_gaussian_noise_into_exact_mixture_samples():
    dec = Decoder(latent_dim=2, hidden=16, components=2)
    means = torch.tensor([[-10.0, 0.0], [10.0, 3.0]])
    covs = torch.stack([torch.eye(2), torch.tensor([[4.0, 0.0], [0.0, 0.25]])])
    dec.set_prior(torch.tensor([3.0, 1.0]), means, covs)  # weights need not sum to 1
    z = torch.randn(40_000, 2, generator=torch.Generator().manual_seed(0))
    codes = dec.prior(z)
    right = codes[:, 0] > 0
    assert abs(right.float().mean().item() - 0.25) < 0.01             # each component as often as its weight
    for side, k in ((~right, 0), (right, 1)):
        assert torch.allclose(codes[side].mean(0), means[k], atol=0.1)
        assert torch.allclose(torch.cov(codes[side].T), covs[k], rtol=0.1, atol=0.05)  # the first number is reused, still N(0, 1)
    assert torch.allclose(dec.prior(z, temperature=0.5)[right].std(0), torch.tensor([1.0, 0.25]), rtol=0.1)
    assert dec.eval()(z[:4]).shape == (4, 1, 28, 28) and torch.equal(dec(z[:4]), dec.decode(dec.prior(z[:4])))
    assert torch.equal(Decoder(latent_dim=2, hidden=16).prior(z[:4]), z[:4])  # components=0: codes are the noise
    with pytest.raises(ValueError, match="mixture of 2 Gaussians"):
        dec.set_prior(torch.ones(3), torch.zeros(3, 2), torch.eye(2).repeat(3, 1, 1))
    with pytest.raises(RuntimeError, match="components=2"):
        Decoder(latent_dim=2, hidden=16).load_state_dict(dec.state_dict())


def test_self_conditioned_weights_of_another_width_or_cluster_count_name_the_arguments_to_build():
    """Loading a self-conditioned G's weights into one built otherwise says how to build it, naming only the
    arguments that differ, instead of PyTorch's list of mismatched shapes."""
    SC = SelfConditionedGenerator
    state = SC(16, channels=8, clusters=4, embed_dim=4).state_dict()
    with pytest.raises(RuntimeError, match=r"channels=8, clusters=4, this one has channels=4, clusters=300: "
                                           r"build it as SelfConditionedGenerator\(\.\.\., channels=8, clusters=4\)"):
        SC(16, channels=4, embed_dim=4).load_state_dict(state)
    with pytest.raises(RuntimeError, match=r"with channels=8, this one has channels=4: build it as "
                                           r"SelfConditionedGenerator\(\.\.\., channels=8\)"):
        SC(16, channels=4, clusters=4, embed_dim=4).load_state_dict(state)
    SC(16, channels=8, clusters=4, embed_dim=4).load_state_dict(state)  # the right arguments load
    table = SC(16, channels=8, clusters=4, embed_dim=4, cluster_embedding="table").state_dict()
    with pytest.raises(RuntimeError, match=r"build it as SelfConditionedGenerator\(\.\.\., cluster_embedding='table'\)"):
        SC(16, channels=8, clusters=4, embed_dim=4).load_state_dict(table)
    SC(16, channels=8, clusters=4, embed_dim=4, cluster_embedding="table").load_state_dict(table)
    d_table = SelfConditionedDiscriminator(channels=8, clusters=4, cluster_embedding="table").state_dict()
    with pytest.raises(RuntimeError, match="cluster_embedding='table'"):
        SelfConditionedDiscriminator(channels=8, clusters=4).load_state_dict(d_table)
