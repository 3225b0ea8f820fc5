import pytest

from dlf.recipes import CATALOG, get_recipe, run_recipe
from dlf.transformer.recipes.transformer_copy import RECIPE
from tests.report_checks import check_self_contained
from tests.transformer.recipes.effects import every_effect_shown


@pytest.mark.slow
def test_quick_setting_runs_and_reports(tmp_path):
    assert get_recipe("transformer-copy") is RECIPE and "transformer-copy" in CATALOG
    run_dir, summary = run_recipe(RECIPE, RECIPE.make_config(quick=True), tmp_path, quiet=True)
    assert summary["status"] == "completed"
    assert 0.0 <= summary["test_exact_match"] <= 1.0
    assert 0.0 <= summary["test_long_exact_match"] <= 1.0
    losses = [r["train_loss"] for r in run_dir.history if "train_loss" in r]
    assert losses[-1] < 0.5 * losses[0]  # it learns, even in the quick setting
    assert 0.0 <= summary["test_token_accuracy"] <= 1.0
    assert every_effect_shown(summary) == 1
    assert check_self_contained(run_dir.path / "report.html") == 4  # with the diagram
    assert (run_dir.path / "architecture.png").is_file()


def test_full_setting_is_the_default():
    full = RECIPE.make_config()
    assert full.steps >= 1000 and full.n_test == 1000 and full.max_len == 10


def test_an_untrained_model_decodes_to_the_full_budget_inside_a_learned_table(tmp_path):
    """After one step of training, outputs run to the decoding budget without ending."""
    overrides = {"positional": "learned", "steps": "1", "n_test": "10"}
    config = RECIPE.make_config(quick=True, overrides=overrides)
    _, summary = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert summary["status"] == "completed"
