"""The quick setting of ``optimizers``: five runs from one seed, paths on the quadratic."""

import numpy as np
import pytest

from dlf.recipes import run_recipe
from dlf.scratch.recipes.optimizers import NAMES, RECIPE, make_optimizer, smooth
from tests.report_checks import check_self_contained


@pytest.mark.slow
def test_quick_run(tmp_path, needs_mnist):
    run_dir, summary = run_recipe(RECIPE, RECIPE.make_config(quick=True), tmp_path, quiet=True)
    assert summary["status"] == "completed"
    for key in ("sgd", "momentum", "nesterov", "rmsprop", "adam"):
        assert summary[f"{key}_val_accuracy"] > 0.5  # every rule learns, even in 2 epochs
    # on the ill-conditioned quadratic momentum and Adam go further than plain SGD
    assert summary["momentum_quadratic_loss"] < 0.1 * summary["sgd_quadratic_loss"]
    assert summary["adam_quadratic_loss"] < 0.1 * summary["sgd_quadratic_loss"]
    steps, _ = run_dir.series("train_loss", where={"optimizer": "adam"})
    assert steps == [1, 2]
    assert check_self_contained(run_dir.path / "report.html") == 3


def test_same_seed_gives_the_same_start_for_every_optimizer(tmp_path, needs_mnist):
    config = RECIPE.make_config(quick=True, overrides={"epochs": 1, "lrs": (0.0,) * 5})
    run_dir, _ = run_recipe(RECIPE, config, tmp_path, quiet=True)
    losses = {r["optimizer"]: r["train_loss"] for r in run_dir.history}
    assert len(set(losses.values())) == 1  # lr 0: identical weights and batches, identical loss


def test_make_optimizer_and_smooth():
    assert [type(make_optimizer(n, 0.1)).__name__ for n in NAMES] == [
        "SGD",
        "Momentum",
        "Nesterov",
        "RMSProp",
        "Adam",
    ]
    with pytest.raises(ValueError, match="use one of"):
        make_optimizer("Adagrad", 0.1)
    np.testing.assert_allclose(smooth([1, 3, 5], 2), [1, 2, 4])


def test_wrong_number_of_learning_rates_is_explained(tmp_path):
    config = RECIPE.make_config(quick=True, overrides={"lrs": (0.1, 0.1)})
    with pytest.raises(ValueError, match="one per"):
        RECIPE.run(config, None)
