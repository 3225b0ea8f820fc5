import pytest

from dlf.recipes import CATALOG, get_recipe, run_recipe
from dlf.transformer.recipes.rnn_vs_transformer import MODELS, RECIPE
from tests.report_checks import check_self_contained
from tests.transformer.recipes.effects import every_effect_shown


@pytest.mark.slow
def test_quick_setting_runs_and_reports(tmp_path):
    assert get_recipe("rnn-vs-transformer") is RECIPE and "rnn-vs-transformer" in CATALOG
    config = RECIPE.make_config(quick=True)
    run_dir, summary = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert summary["status"] == "completed"
    for task in config.tasks:
        for model in MODELS:
            assert 0.0 <= summary[f"{task}_{model}_test"] <= 1.0
    # the RNN's gradient vanishes with distance, the Transformer's does not, and the
    # Transformer is ahead on the longest training strings of each task
    assert every_effect_shown(summary) == 2 + len(config.tasks)
    assert summary["gradient_far_near_ratio_lstm-attention_at"] > 1e-1
    assert check_self_contained(run_dir.path / "report.html") == len(config.tasks) + 1


def test_full_setting_compares_four_models_on_copy_and_reverse():
    full = RECIPE.make_config()
    assert full.models == MODELS and full.tasks == ("copy", "reverse")
