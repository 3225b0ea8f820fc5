"""The quick setting of ``optimizers``: one run per optimizer from one seed, quadratic paths."""

import numpy as np
import pytest

from dlf.recipes import ConfigError, run_recipe
from dlf.scratch.optim import Optimizer
from dlf.scratch.recipes.optimizers import NAMES, OPTIMIZERS, RECIPE, make_optimizer, smooth
from tests.report_checks import check_self_contained


@pytest.mark.slow
def test_quick_run(tmp_path, needs_mnist):
    run_dir, summary = run_recipe(RECIPE, RECIPE.make_config(quick=True), tmp_path, quiet=True)
    assert summary["status"] == "completed"
    assert summary["effects"] and all(e["shown"] for e in summary["effects"]), summary["effects"]
    for key in ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"):
        assert summary[f"{key}_val_accuracy"] > 0.5  # every rule learns, even in 2 epochs
    # on the ill-conditioned quadratic momentum and Adam go further than plain SGD
    assert summary["momentum_quadratic_loss"] < 0.1 * summary["sgd_quadratic_loss"]
    assert summary["adam_quadratic_loss"] < 0.1 * summary["sgd_quadratic_loss"]
    steps, _ = run_dir.series("train_loss", where={"optimizer": "adam"})
    assert steps == [1, 2]
    assert check_self_contained(run_dir.path / "report.html") == 3


@pytest.mark.slow
def test_same_seed_gives_the_same_start_for_every_optimizer(tmp_path, needs_mnist):
    config = RECIPE.make_config(quick=True, overrides={"epochs": 1, "lrs": (0.0,) * len(NAMES)})
    run_dir, _ = run_recipe(RECIPE, config, tmp_path, quiet=True)
    losses = {r["optimizer"]: r["train_loss"] for r in run_dir.history}
    assert len(set(losses.values())) == 1  # lr 0: identical weights and batches, identical loss


def test_make_optimizer_and_smooth():
    made = [type(make_optimizer(n, 0.1)).__name__ for n in NAMES]
    assert {"SGD", "Momentum", "Nesterov", "RMSProp", "Adam", "AdamW"} <= set(made)
    with pytest.raises(ValueError, match="use one of"):
        make_optimizer("Lion", 0.1)
    np.testing.assert_allclose(smooth([1, 3, 5], 2), [1, 2, 4])


def test_wrong_number_of_learning_rates_is_explained():
    config = RECIPE.make_config(quick=True, overrides={"lrs": (0.1, 0.1)})
    with pytest.raises(ConfigError, match="one per SGD"):
        RECIPE.preflight(config)


def test_the_registry_is_the_one_list_of_optimizers():
    """Names, keys, defaults and the recipe's config all come from OPTIMIZERS."""
    config = RECIPE.config()
    assert len(config.lrs) == len(config.quad_lrs) == len(OPTIMIZERS) == len(NAMES)
    assert len({c.key for c in OPTIMIZERS}) == len(OPTIMIZERS)
    for c in OPTIMIZERS:
        assert isinstance(c.make(c.lr, 0.9, 0.01), Optimizer)
