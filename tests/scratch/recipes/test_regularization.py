"""The quick setting of ``regularization``: four runs, curves and a table of accuracies."""

import pytest

from dlf.recipes import run_recipe
from dlf.scratch.recipes.regularization import KEYS, RECIPE
from tests.report_checks import check_self_contained


@pytest.mark.slow
def test_quick_run(tmp_path, needs_mnist):
    config = RECIPE.make_config(quick=True)
    run_dir, summary = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert summary["status"] == "completed"
    assert summary["effects"] and all(e["shown"] for e in summary["effects"]), summary["effects"]
    for key in KEYS.values():
        assert 0.6 < summary[f"{key}_test_accuracy"] <= 1.0
        assert summary[f"{key}_gap"] > 0  # 1,000 training images: validation loss above training
    assert summary["early_stopping_epochs"] <= config.epochs
    runs = {r["run"] for r in run_dir.history}
    assert runs == set(KEYS.values())
    assert check_self_contained(run_dir.path / "report.html") == 2
