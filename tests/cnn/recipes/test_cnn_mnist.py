"""The cnn-mnist recipe's quick setting: it trains, and its report has every piece."""

from __future__ import annotations

import pytest

from dlf.recipes import get_recipe, run_recipe
from tests.conftest import data_available
from tests.report_checks import check_self_contained

pytestmark = pytest.mark.skipif(not data_available("mnist"), reason="MNIST not in $DLF_DATA")


@pytest.mark.slow
def test_quick_setting(tmp_path):
    from dlf.cnn.recipes.cnn_mnist import RECIPE

    assert get_recipe("cnn-mnist") is RECIPE
    config = RECIPE.make_config(quick=True)
    run_dir, s = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert s["status"] == "completed" and s["epochs_run"] == config.epochs
    assert s["effects_shown"] == "1 of 1", s["effects"]  # far above chance
    assert s["test_errors"] == round((1 - s["test_accuracy"]) * config.test_subset)
    assert s["parameters"] > 0 and s["mult_adds"] > 0
    for name in ("architecture", "loss", "error", "confusion", "filters", "feature_maps",
                 "misclassified"):  # fmt: skip
        assert (run_dir.path / f"{name}.png").is_file()
    page = (run_dir.path / "report.html").read_text()
    assert "Receptive fields" in page and "Total mult-adds" in page
    assert check_self_contained(run_dir.path / "report.html") == 7


def test_most_confused_worked_example():
    import torch

    from dlf.cnn.recipes.classifier_report import most_confused

    matrix = torch.tensor([[5, 2, 0], [0, 4, 7], [1, 0, 3]])
    assert most_confused(matrix, ("a", "b", "c"), k=2) == ["b as c: 7", "a as b: 2"]
