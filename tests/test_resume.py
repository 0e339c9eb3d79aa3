"""A run stopped after its first epoch and resumed ends bit for bit where the uninterrupted run ends, for
every training family: the weights, the optimisers' and schedulers' states, the random number generators
and the history (the DCGAN's and flow matching's are tested beside their loops). Under torchrun:
tests/test_distributed.py."""
import pytest
import torch

from mnist_gan_utils.checkpoints import load_checkpoint, save_checkpoint
from mnist_gan_utils.models import Classifier, Generator
from mnist_gan_utils.training import engine, train_classifier, train_gan, train_predictor, train_vae

TINY = dict(epochs=3, batch_size=32, max_steps_per_epoch=3, device="cpu", progress=False)
TINY_GAN = dict(g_channels=8, d_channels=8, noise_dim=16, grid_size=10, bn_recalibration=5,
                **TINY)


@pytest.fixture(scope="module")
def frozen_pair():
    """A tiny untrained generator and classifier for the predictor (min_bank=0: any bank will do)."""
    torch.manual_seed(0)
    return Generator(16, 8), Classifier(8, 16)


def _train(family, run_dir, data, pair, **kw):
    if family == "vae":
        return train_vae(hidden=32, latent_dim=4, prior_components=0, run_dir=run_dir, data=data, **TINY, **kw)
    if family == "classifier":
        return train_classifier(channels=8, feature_dim=16, run_dir=run_dir, data=data, **TINY, **kw)
    if family == "predictor":
        return train_predictor(*pair, eps_dim=4, hidden=16, candidates=200, keep_threshold=0.0, min_bank=0,
                               steps_per_epoch=3, run_dir=run_dir, **TINY, **kw)
    if family == "cgan":
        return train_gan(conditional=True, clusters=0, run_dir=run_dir, data=data, **TINY_GAN, **kw)
    return train_gan(loss="wgan-gp", clusters=0, n_critic=2, betas=(0.0, 0.9), run_dir=run_dir, data=data, **TINY_GAN, **kw)


def _interrupt_after_first_epoch(monkeypatch):
    """Ctrl-C right after the first epoch's checkpoint is written (the same for every loop)."""
    real = engine.Run.end_epoch

    def end_epoch(self, epoch):
        path = real(self, epoch)
        if epoch == 0:
            raise KeyboardInterrupt
        return path
    monkeypatch.setattr(engine.Run, "end_epoch", end_epoch)


def assert_same(a, b, where="checkpoint"):
    """Tensors equal bit for bit (dtype and shape too), everything else equal, at every depth."""
    assert type(a) is type(b), where
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b), where
    else:
        assert a == b, where


def _final_state(run_dir):
    """The last checkpoint without what may differ: the config's resume flag and each epoch's seconds."""
    ckpt = load_checkpoint(run_dir / "checkpoint.pt")
    del ckpt["config"]
    ckpt["history"].pop("seconds", None)
    return ckpt


@pytest.mark.parametrize("family", ["vae", "classifier", "predictor", "cgan", "wgan-gp"])
def test_a_resumed_run_equals_an_uninterrupted_one(family, tmp_path, small_data, frozen_pair, monkeypatch):
    full = _train(family, str(tmp_path / "full"), small_data, frozen_pair)
    with monkeypatch.context() as m:
        _interrupt_after_first_epoch(m)
        with pytest.raises(KeyboardInterrupt):
            _train(family, str(tmp_path / "split"), small_data, frozen_pair)
    assert load_checkpoint(tmp_path / "split" / "checkpoint.pt")["epoch"] == 0
    resumed = _train(family, str(tmp_path / "split"), small_data, frozen_pair, resume=True)
    assert_same(_final_state(full.run_dir), _final_state(resumed.run_dir))
    model = {"vae": "vae", "classifier": "classifier", "predictor": "predictor"}.get(family, "generator")
    assert_same(getattr(full, model).state_dict(), getattr(resumed, model).state_dict(), "returned model")


def test_a_checkpoint_without_cuda_random_states_still_resumes(tmp_path, small_data, monkeypatch):
    """Checkpoints written before the CUDA generators were saved hold the CPU generator's state alone."""
    full = _train("vae", str(tmp_path / "full"), small_data, None)
    with monkeypatch.context() as m:
        _interrupt_after_first_epoch(m)
        with pytest.raises(KeyboardInterrupt):
            _train("vae", str(tmp_path / "split"), small_data, None)
    path = tmp_path / "split" / "checkpoint.pt"
    ckpt = load_checkpoint(path)
    ckpt["rng"] = {"torch": ckpt["rng"]["torch"]}
    save_checkpoint(ckpt, path)
    resumed = _train("vae", str(tmp_path / "split"), small_data, None, resume=True)
    assert_same(_final_state(full.run_dir), _final_state(resumed.run_dir))


def test_the_cuda_random_states_are_saved_and_given_back(tmp_path, monkeypatch):
    """On any machine: the checkpoint carries what torch.cuda reports and resuming hands it back (the
    CUDA functions stand in for a GPU; the real thing is the next test)."""
    states, given = [torch.tensor([1, 2], dtype=torch.uint8), torch.tensor([3, 4], dtype=torch.uint8)], []
    for name, fn in {"is_initialized": lambda: True, "is_available": lambda: True, "device_count": lambda: 2,
                     "get_rng_state_all": lambda: states, "set_rng_state_all": given.extend}.items():
        monkeypatch.setattr(torch.cuda, name, fn)
    config = engine.BaseConfig(epochs=2, device="cpu", run_dir=str(tmp_path), progress=False)
    net = torch.nn.Linear(2, 2)
    engine.Run("t", config, {"net": net}, {}).end_epoch(0)
    assert_same(load_checkpoint(tmp_path / "checkpoint.pt")["rng"]["cuda"], states, "the saved CUDA states")
    config.resume = True
    assert engine.Run("t", config, {"net": net}, {}).start() == 1
    assert_same(given, states, "the CUDA states given back")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: the CUDA generators' states")
def test_resuming_restores_the_cuda_random_states(tmp_path):
    """What a CUDA run draws after resuming (dropout, the VAE's noise) is what it would have drawn."""
    config = engine.BaseConfig(epochs=2, device="cuda", run_dir=str(tmp_path), progress=False)
    net = torch.nn.Linear(2, 2).cuda()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    torch.cuda.manual_seed_all(1)
    torch.randn(8, device="cuda")
    engine.Run("t", config, {"net": net}, {"opt": opt}).end_epoch(0)
    expected = torch.randn(8, device="cuda")
    torch.cuda.manual_seed_all(2)  # as a fresh process would be seeded before resuming
    config.resume = True
    assert engine.Run("t", config, {"net": net}, {"opt": opt}).start() == 1
    assert torch.equal(torch.randn(8, device="cuda"), expected)
