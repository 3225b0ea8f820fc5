"""The resnet-depth recipe: quick setting end to end, its gradient probe, and the CIFAR-10 path."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from dlf.cnn.data import image_tensors
from dlf.cnn.models.resnet_cifar import resnet_cifar
from dlf.cnn.recipes import resnet_depth
from dlf.cnn.recipes.resnet_depth import (
    RECIPE,
    WindowedLoss,
    layer_gradient_norms,
    net_name,
    show_effects,
    weighted_layers,
)
from dlf.cnn.train import StepInfo
from dlf.data import DatasetNotFound, ImageDataset
from dlf.recipes import get_recipe, run_recipe
from tests.conftest import data_available
from tests.report_checks import check_self_contained

needs_fashion = pytest.mark.skipif(
    not data_available("fashion-mnist"), reason="Fashion-MNIST not in $DLF_DATA"
)


@pytest.mark.slow
@needs_fashion
def test_quick_setting(tmp_path):
    assert get_recipe("resnet-depth") is RECIPE
    config = RECIPE.make_config(quick=True)
    run_dir, s = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert s["status"] == "completed"
    assert s["effects_shown"] == "2 of 2", s["effects"]  # residual >= plain; plain deep < shallow
    for depth in config.depths:
        for plain in (True, False):
            key = net_name(depth, plain).lower().replace("-", "")
            assert s[f"layers_{key}"] == depth  # one gradient norm per weighted layer
            assert 0.0 <= s[f"train_error_{key}"] <= 1.0
            assert 0.0 <= s[f"test_error_{key}"] <= 1.0
            assert np.isfinite(s[f"grad_first_{key}"]) and s[f"grad_first_{key}"] > 0
    lines = [json.loads(x) for x in (run_dir.path / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in lines if "train_error" in r]
    assert len(epochs) == 4 * config.epochs
    windows = [r for r in lines if "window_train_loss" in r]
    iterations = -(-config.train_subset // config.batch_size) * config.epochs
    assert len(windows) == 4 * (iterations // config.log_every)
    assert check_self_contained(run_dir.path / "report.html") == 4


@pytest.mark.parametrize("depth", [8, 20])
@pytest.mark.parametrize("plain", [False, True])
def test_gradient_norms_one_per_layer_and_model_untouched(depth, plain):
    torch.manual_seed(0)
    model = resnet_cifar(depth, plain, 10, 1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))
    norms = layer_gradient_norms(model, x, y)
    assert len(norms) == len(weighted_layers(model)) == depth
    assert all(np.isfinite(n) and n > 0 for n in norms)
    assert all(p.grad is None for p in model.parameters())
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k  # running statistics included
    # the first entry is the stem convolution's gradient, computed directly
    model.zero_grad()
    torch.nn.functional.cross_entropy(model.train()(x), y).backward()
    assert norms[0] == pytest.approx(model.conv1.weight.grad.norm().item(), rel=1e-5)


def test_windowed_loss_averages_each_window():
    hook = WindowedLoss(2)
    for t, loss in enumerate([4.0, 2.0, 1.0, 1.0, 7.0]):
        hook(StepInfo(t, 1, loss, 0.1, torch.nn.Identity()))
    assert hook.points == [(2, 3.0), (4, 1.0)]


class Effects:
    """Stands in for a RunDir: records each effect's claim and whether it was shown."""

    def __init__(self):
        self.shown: dict[str, bool] = {}

    def effect(self, claim: str, shown: bool, figure: str) -> bool:
        self.shown[claim.split(" (")[0]] = shown
        return shown


@pytest.mark.parametrize(
    ("residual", "plain", "shown"),
    [(0.4, 0.9, True), (0.9, 0.9, True), (0.9, 0.4, False), (0.4, math.inf, True),
     (math.inf, 0.4, False), (math.inf, math.inf, False)],
)  # fmt: skip
def test_the_residual_net_must_end_finite_to_train_as_well(residual, plain, shown):
    effects = Effects()
    ends = {"plain-8": 0.5, "ResNet-8": 0.5, "plain-32": plain, "ResNet-32": residual}
    show_effects(effects, ends, (8, 32))
    claim = "the residual net trains at least as well as the plain net of the same depth"
    assert effects.shown[claim] is shown


def test_cifar10_is_refused_with_the_data_message_when_missing(tmp_path):
    if data_available("cifar10"):
        pytest.skip("CIFAR-10 is present here")
    config = RECIPE.make_config(quick=True, overrides={"dataset": "cifar10"})
    with pytest.raises(DatasetNotFound, match="cifar10.*DLF_DATA"):
        run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert not any(tmp_path.iterdir())  # refused before any run folder was made


def test_cifar_shaped_data_run_through(tmp_path, monkeypatch):
    """The dataset=cifar10 path on synthetic 3x32x32 images (CIFAR-10 itself is not here)."""
    rng = np.random.default_rng(0)
    fake = ImageDataset(
        "cifar10",
        rng.integers(0, 256, (96, 3, 32, 32), dtype=np.uint8),
        rng.integers(0, 10, 96),
        rng.integers(0, 256, (40, 3, 32, 32), dtype=np.uint8),
        rng.integers(0, 10, 40),
        tuple(f"class {i}" for i in range(10)),
    )
    monkeypatch.setattr(resnet_depth, "image_tensors", lambda name, *a: image_tensors(fake, *a))
    config = RECIPE.make_config(
        quick=True, overrides={"dataset": "cifar10", "depths": (8,), "train_subset": 0}
    )
    from dlf.runs import RunDir

    run_dir = RunDir.create(tmp_path, "resnet-depth", config, quiet=True)
    summary = RECIPE.run(config, run_dir)
    assert summary["layers_resnet8"] == 8 and 0 <= summary["train_error_plain8"] <= 1
