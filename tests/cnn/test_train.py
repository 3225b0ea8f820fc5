"""The training loop: the loss falls, schedules match torch's, confusion matrices add up."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from dlf.cli import main
from dlf.cnn.data import image_tensors
from dlf.cnn.small_nets import small_cnn
from dlf.cnn.train import (
    StepInfo,
    TrainConfig,
    confusion_matrix,
    evaluate,
    fit,
    make_optimizer,
    make_schedule,
)
from dlf.data import ImageDataset
from dlf.recipes.config import ConfigMap
from dlf.runs import Diverged, RunDir
from tests.conftest import data_available


def bars(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """8x8 images: class 0 a horizontal bar, class 1 a vertical bar, at a random place, + noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.integers(0, 60, (n, 1, 8, 8))
    where = rng.integers(1, 7, n)
    for i in range(n):
        if y[i] == 0:
            x[i, 0, where[i], :] = 255
        else:
            x[i, 0, :, where[i]] = 255
    return x.astype(np.uint8), y.astype(np.int64)


@pytest.fixture(scope="module")
def bar_data():
    x, y = bars(256, 0)
    x_test, y_test = bars(128, 1)
    return image_tensors(ImageDataset("bars", x, y, x_test, y_test, ("horizontal", "vertical")))


def tiny_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return small_cnn(2, 1, 8, channels=(4,), kernel=3, hidden=16, dropout=0.0)


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_loss_falls_and_bars_are_learned(bar_data, optimizer, tmp_path):
    lr = 0.05 if optimizer == "sgd" else 0.01
    config = TrainConfig(epochs=6, batch_size=32, lr=lr, optimizer=optimizer, crop_padding=1)
    model = tiny_net()
    before = evaluate(model, bar_data.x_train, bar_data.y_train)
    run_dir = RunDir(tmp_path, "test", config, quiet=True)
    result = fit(model, bar_data, config, run_dir, tags={"net": "tiny"})
    losses = [r["train_loss"] for r in result.history]
    assert losses[-1] < 0.5 * before.loss and losses[-1] < losses[0]
    assert result.final["test"].accuracy > 0.9
    assert result.iterations == 6 * 8 and len(result.epoch_seconds) == 6
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2, 3, 4, 5, 6]
    keys = {"train_loss", "train_acc", "train_error", "test_loss", "test_acc", "lr", "net"}
    assert keys <= set(lines[0])
    assert lines[0]["train_error"] == pytest.approx(1 - lines[0]["train_acc"])
    assert run_dir.series("test_acc", where={"net": "tiny"})[1][-1] == result.final["test"].accuracy


def test_same_seed_same_run_and_validation_logged():
    x, y = bars(200, 2)
    data = image_tensors(ImageDataset("bars", x, y, x[:20], y[:20], ("h", "v")), val_fraction=0.2)
    config = TrainConfig(epochs=2, batch_size=32, crop_padding=1, flip=True)
    a, b = fit(tiny_net(), data, config), fit(tiny_net(), data, config)
    assert a.history[-1]["train_loss"] == b.history[-1]["train_loss"]
    assert "val_acc" in a.history[-1] and "test_acc" in a.history[-1]


def test_hook_sees_every_iteration_with_gradients(bar_data):
    seen: list[StepInfo] = []

    def hook(info: StepInfo) -> None:
        assert all(p.grad is not None for p in info.model.parameters())
        seen.append(info)

    fit(tiny_net(), bar_data, TrainConfig(epochs=2, batch_size=64, lr=0.1), on_step=hook)
    assert [s.iteration for s in seen] == list(range(8))
    assert [s.epoch for s in seen] == [1] * 4 + [2] * 4
    assert seen[0].lr == pytest.approx(0.1) and seen[-1].lr < seen[0].lr


def test_divergence_raises_or_stops_before_a_non_finite_step(bar_data):
    config = TrainConfig(epochs=2, batch_size=32, lr=1e6, momentum=0.0, weight_decay=0.0)
    with pytest.raises(Diverged, match="training loss became .* at step .*lower lr"):
        fit(tiny_net(), bar_data, config)
    config.stop_on_divergence = True
    seen: list[StepInfo] = []
    result = fit(tiny_net(), bar_data, config, on_step=seen.append)
    assert result.diverged and result.history == []
    assert result.diverged_at == len(seen) == result.iterations  # no step after the bad loss
    assert all(np.isfinite(s.loss) for s in seen)


def test_a_finite_loss_step_that_makes_the_weights_inf_is_undone(bar_data):
    # SGD's step lr * (g + lambda w): 3e38 * (about 0.1 to 3) overflows float32 on the first step,
    # whose loss was finite
    config = TrainConfig(epochs=2, batch_size=32, lr=3e38, momentum=0.0, weight_decay=10.0)
    model = tiny_net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(Diverged, match=r"the weights became (-?inf|nan) at step 0; lower lr"):
        fit(model, bar_data, config)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k  # the last finite state: before the step
    config.stop_on_divergence = True
    seen: list[StepInfo] = []
    result = fit(model, bar_data, config, on_step=seen.append)
    assert result.diverged and result.diverged_at == 0 == result.iterations
    assert len(seen) == 1 and np.isfinite(seen[0].loss)  # the step was taken on a finite loss
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


@pytest.mark.skipif(not data_available("mnist"), reason="MNIST not in $DLF_DATA")
def test_a_run_whose_weights_become_inf_ends_diverged(tmp_path, capsys):
    argv = ["run", "cnn-mnist", "--quick", "lr=3e38", "weight_decay=10", "momentum=0",
            "train_subset=256", "test_subset=64", "--runs-dir", str(tmp_path)]  # fmt: skip
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err, err
    last = err.splitlines()[-1]  # the lines before it are the run's progress
    assert last.startswith("dlf: diverged: the weights became") and "lower lr" in last, last
    (summary_file,) = tmp_path.glob("cnn-mnist/*/summary.json")
    assert json.loads(summary_file.read_text())["status"] == "diverged"


@pytest.mark.parametrize("schedule", ["cosine", "step"])
@pytest.mark.parametrize("per_epoch", [1, 7])
def test_schedule_per_iteration_matches_torch(schedule, per_epoch):
    config = TrainConfig(epochs=6, lr=0.3, schedule=schedule, step_epochs=2, gamma=0.5)
    ours = make_schedule(config, per_epoch)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3)
    if schedule == "cosine":
        ref = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6 * per_epoch)
    else:
        ref = torch.optim.lr_scheduler.StepLR(opt, step_size=2 * per_epoch, gamma=0.5)
    for t in range(6 * per_epoch):
        assert ours(t) == pytest.approx(opt.param_groups[0]["lr"], abs=1e-12)
        opt.step()
        ref.step()


def test_warmup_then_cosine():
    schedule = make_schedule(TrainConfig(epochs=4, lr=1.0, warmup_epochs=1), 10)
    assert schedule(0) == 0.0 and schedule(5) == pytest.approx(0.5) and schedule(10) == 1.0
    assert schedule(40) == pytest.approx(0.0, abs=1e-12)


def test_optimizer_settings_and_config_from_fields():
    model = tiny_net()
    sgd = make_optimizer(model, TrainConfig(lr=0.2, momentum=0.8, weight_decay=1e-3))
    assert isinstance(sgd, torch.optim.SGD)
    assert sgd.defaults["momentum"] == 0.8 and sgd.defaults["weight_decay"] == 1e-3
    with pytest.raises(ValueError, match="sgd"):
        make_optimizer(model, TrainConfig(optimizer="lamb"))

    @dataclass
    class RecipeConfig:
        epochs: int = 3
        lr: float = 0.7
        hidden: tuple[int, ...] = (10,)

    config_map = ConfigMap(RecipeConfig, (TrainConfig,), own={"hidden"})
    config = config_map.build(TrainConfig, RecipeConfig())
    assert (config.epochs, config.lr, config.batch_size) == (3, 0.7, TrainConfig().batch_size)


@pytest.mark.parametrize("n,k", [(1, 2), (50, 3), (1000, 10)])
def test_confusion_matrix_counts_pairs(n, k):
    rng = np.random.default_rng(n)
    y_true, y_pred = rng.integers(0, k, n), rng.integers(0, k, n)
    matrix = confusion_matrix(torch.from_numpy(y_true), torch.from_numpy(y_pred), k)
    reference = np.zeros((k, k), dtype=np.int64)
    for t, p in zip(y_true, y_pred, strict=True):
        reference[t, p] += 1
    assert matrix.shape == (k, k) and (matrix.numpy() == reference).all()
    assert matrix.sum() == n and matrix.trace() == (y_true == y_pred).sum()
    assert (matrix.sum(dim=1).numpy() == np.bincount(y_true, minlength=k)).all()
    assert confusion_matrix([0, 1, 1], [0, 0, 1], 2).tolist() == [[1, 0], [1, 1]]


def test_channels_last_trains_the_same_net(bar_data):
    config = TrainConfig(epochs=2, batch_size=64, crop_padding=1)
    dense = fit(tiny_net(), bar_data, config)
    config.channels_last = True
    last = fit(tiny_net(), bar_data, config)
    for a, b in zip(dense.history, last.history, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["test_acc"] == pytest.approx(b["test_acc"], abs=1 / 128 + 1e-9)
