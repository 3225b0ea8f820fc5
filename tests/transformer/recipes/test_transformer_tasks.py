import pytest

from dlf.recipes import CATALOG, get_recipe, run_recipe
from dlf.transformer.recipes.transformer_tasks import RECIPE, per_task
from tests.report_checks import check_self_contained
from tests.transformer.recipes.effects import every_effect_shown


@pytest.mark.slow
def test_quick_setting_runs_and_reports(tmp_path):
    assert get_recipe("transformer-tasks") is RECIPE and "transformer-tasks" in CATALOG
    config = RECIPE.make_config(quick=True)
    run_dir, summary = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert summary["status"] == "completed"
    for task in config.tasks:
        assert 0.0 <= summary[f"{task}_test_exact_match"] <= 1.0
        assert 0.0 <= summary[f"{task}_test_long_exact_match"] <= 1.0
        losses = [r["train_loss"] for r in run_dir.history if r.get("task") == task]
        assert losses[-1] < losses[0]
    assert summary["min_test_exact_match"] == min(
        summary[f"{t}_test_exact_match"] for t in config.tasks
    )
    assert every_effect_shown(summary) == len(config.tasks)  # each task far above guessing
    # one attention figure per task (every layer and head) and the learning curves
    assert check_self_contained(run_dir.path / "report.html") == len(config.tasks) + 1
    for task in config.tasks:
        assert (run_dir.path / f"attention_{task}.png").exists()


def test_full_setting_covers_the_four_tasks():
    assert RECIPE.make_config().tasks == ("reverse", "sort", "addition", "dates")


@pytest.mark.parametrize("field", ["steps", "n_train"])
def test_per_task_counts_must_match_the_tasks(tmp_path, field):
    config = RECIPE.make_config(quick=True, overrides={field: "[10,20,30]"})
    with pytest.raises(ValueError, match=f"{field}=.*one per task"):
        run_recipe(RECIPE, config, tmp_path, quiet=True)


def test_per_task():
    assert per_task("steps", (5,), ("a", "b")) == {"a": 5, "b": 5}
    assert per_task("n_train", (1, 2), ("a", "b")) == {"a": 1, "b": 2}
