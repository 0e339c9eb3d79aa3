import pytest
import torch

from mnist_gan_utils.clusters import fit_clusters, nearest


def test_clusters_are_deterministic_nearest_and_group_alike_digits(mnist_train):
    x, y = mnist_train[0][:3000], mnist_train[1][:3000]
    a, b = fit_clusters(x, k=20, seed=0), fit_clusters(x, k=20, seed=0)
    assert torch.equal(a.assignments, b.assignments) and torch.equal(a.centroids, b.centroids)
    assert a.centroids.shape == (20, 50) and a.components.shape == (50, 784)
    assert a.prior.sum().item() == pytest.approx(1.0) and (a.prior > 0).all()
    # each digit goes to its nearest centroid in the principal-component space
    p = (x.flatten(1).float() / 255 - a.mean) @ a.components.T
    assert torch.equal(nearest(p, a.centroids), a.assignments)
    # no label was read, yet clusters are mostly one digit (10 random groups would give ~0.11)
    assert a.purity(y) > 0.6


def test_bad_number_of_clusters_is_named():
    with pytest.raises(ValueError, match="k must be"):
        fit_clusters(torch.zeros(10, 28, 28, dtype=torch.uint8), k=11)


def test_gaussian_mixture_recovers_known_components_and_beats_one_gaussian_on_held_out_points():
    from mnist_gan_utils.clusters import fit_gaussian_mixture
    g = torch.Generator().manual_seed(0)
    means = torch.tensor([[-4.0, 0.0], [4.0, 0.0], [0.0, 5.0]])
    weights = torch.tensor([0.5, 0.3, 0.2])
    scale = torch.tensor([[[1.0, 0.0], [0.8, 0.6]], [[0.5, 0.0], [0.0, 0.5]], [[1.0, 0.0], [0.0, 0.3]]])

    def draw(n):
        k = torch.multinomial(weights, n, replacement=True, generator=g)
        return means[k] + (scale[k] @ torch.randn(n, 2, 1, generator=g))[:, :, 0]

    x, held_out = draw(6000), draw(2000)
    gm = fit_gaussian_mixture(x, 3, seed=0)
    order = gm.means[:, 0].argsort()  # components come back in any order: match them by position
    found = {int(i): j for i, j in zip(order, (0, 2, 1))}
    for i, j in found.items():
        assert torch.allclose(gm.means[i], means[j], atol=0.15)
        assert abs(gm.weights[i].item() - weights[j].item()) < 0.03
        assert torch.allclose(gm.covariances[i], scale[j] @ scale[j].T, atol=0.15)
    assert gm.log_likelihood(held_out) > fit_gaussian_mixture(x, 1).log_likelihood(held_out) + 0.5
    with pytest.raises(ValueError, match="k must be"):
        fit_gaussian_mixture(x[:5], 6)
