"""The init-and-lr recipe: its helpers; collapse, explosion and the checks in its quick setting."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlf.recipes import get_recipe, run_recipe
from dlf.scratch.recipes.init_and_lr import (
    RECIPE,
    ExponentialRange,
    smooth,
    suggest_lr,
    update_ratio,
)
from tests.report_checks import check_self_contained


def test_registered():
    assert get_recipe("init-and-lr") is RECIPE


@pytest.mark.parametrize("lo, hi, steps", [(1e-3, 1.0, 4), (1e-5, 10.0, 300), (0.1, 0.2, 2)])
def test_exponential_range_grows_by_a_constant_factor(lo, hi, steps):
    lrs = np.array([ExponentialRange(lo, hi, steps)(t) for t in range(steps + 3)])
    assert lrs[0] == pytest.approx(lo) and lrs[steps - 1] == pytest.approx(hi)
    np.testing.assert_allclose(lrs[1:steps] / lrs[: steps - 1], (hi / lo) ** (1 / (steps - 1)))
    assert (lrs[steps:] == lrs[steps - 1]).all()


def test_smooth_worked_example_and_constant():
    np.testing.assert_allclose(smooth([1.0, 1.0, 4.0], beta=0.5), [1.0, 1.0, 19 / 7])
    np.testing.assert_allclose(smooth([3.0] * 50), 3.0)


def test_suggest_lr_on_a_synthetic_valley():
    lrs = np.logspace(-4, 1, 200)
    loss = 2.3 - 2.0 / (1 + np.exp(-3 * np.log10(lrs / 1e-2))) + np.maximum(0, lrs - 0.5) * 20
    pick = suggest_lr(lrs, loss)
    assert 0.2 < pick["lr_at_min"] < 0.6
    assert pick["suggested"] == pytest.approx(pick["lr_at_min"] / 10)
    assert 5e-3 < pick["steepest"] < 2e-2  # the sigmoid's steepest point is at lr = 1e-2


def test_update_ratio():
    assert update_ratio(np.ones(4), np.ones(4) * 1.001) == pytest.approx(1e-3)


@pytest.mark.slow
@pytest.mark.usefixtures("needs_mnist")
def test_quick_setting(tmp_path):
    config = RECIPE.make_config(quick=True)
    run_dir, s = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert s["status"] == "completed"
    assert s["effects"] and all(e["shown"] for e in s["effects"]), s["effects"]
    # small normal init: activations and gradients collapse through 10 layers, for both
    for act in ("tanh", "relu"):
        assert s[f"act_ratio_{act}_small"] < 1e-4 and s[f"grad_ratio_{act}_small"] < 1e-4
    assert s["act_ratio_relu_large"] > 1e4  # N(0, 1): ReLU activations explode
    assert 0.3 < s["act_ratio_relu_he"] < 3  # He keeps a ReLU net's scale
    assert 0.1 < s["act_ratio_tanh_xavier"] < 3
    assert s["act_ratio_relu_xavier"] < s["act_ratio_relu_he"]  # Xavier halves ReLU's variance
    # the checks
    assert s["ln_classes"] == pytest.approx(math.log(10))
    assert abs(s["loss_at_init"] - math.log(10)) < 0.1 * math.log(10) and s["check_loss_at_init"]
    assert s["loss_at_init_unscaled"] > s["loss_at_init"]
    assert s["overfit_loss"] < 0.01 and s["overfit_accuracy"] == 1.0 and s["check_overfit"]
    assert 0 < s["update_ratio_min"] <= s["update_ratio_max"]
    # range test: the suggestion lies in the range and trains far above chance
    assert config.lr_min <= s["lr_suggested"] < s["lr_at_min_loss"] <= config.lr_max
    assert s["val_acc_lr_suggested"] > 0.6
    assert s["checks_total"] == s["checks_passed"] == 3
    assert check_self_contained(run_dir.path / "report.html") == 7
