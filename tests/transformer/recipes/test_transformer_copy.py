import pytest

from dlf.recipes import CATALOG, get_recipe, run_recipe
from dlf.transformer.recipes.transformer_copy import RECIPE
from tests.report_checks import check_self_contained


@pytest.mark.slow
def test_quick_setting_runs_and_reports(tmp_path):
    assert get_recipe("transformer-copy") is RECIPE and "transformer-copy" in CATALOG
    run_dir, summary = run_recipe(RECIPE, RECIPE.make_config(quick=True), tmp_path, quiet=True)
    assert summary["status"] == "completed"
    assert 0.0 <= summary["test_exact_match"] <= 1.0
    assert 0.0 <= summary["test_long_exact_match"] <= 1.0
    losses = [r["train_loss"] for r in run_dir.history if "train_loss" in r]
    assert losses[-1] < 0.5 * losses[0]  # it learns, even in the quick setting
    assert summary["test_exact_match"] > 0.05
    assert check_self_contained(run_dir.path / "report.html") == 3


def test_full_setting_is_the_default():
    full = RECIPE.make_config()
    assert full.steps >= 1000 and full.n_test == 1000 and full.max_len == 10
