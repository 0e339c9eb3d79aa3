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
