import pytest

from dlf.recipes import CATALOG, get_recipe, run_recipe
from dlf.transformer.recipes.positional_encodings import RECIPE
from tests.report_checks import check_self_contained
from tests.transformer.recipes.effects import every_effect_shown


@pytest.mark.slow
def test_quick_setting_runs_and_reports(tmp_path):
    assert get_recipe("positional-encodings") is RECIPE and "positional-encodings" in CATALOG
    config = RECIPE.make_config(quick=True)
    run_dir, summary = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert summary["status"] == "completed"
    for encoding in ("none", "sinusoidal", "learned", "rope"):
        assert 0.0 <= summary[f"{encoding}_test"] <= 1.0
        assert 0.0 <= summary[f"{encoding}_test_long"] <= 1.0
    assert every_effect_shown(summary) == 3  # each encoding far above none on reverse
    assert check_self_contained(run_dir.path / "report.html") == 2


def test_unknown_encoding_is_refused(tmp_path):
    config = RECIPE.make_config(quick=True, overrides={"encodings": "none,alibi"})
    with pytest.raises(ValueError, match="alibi"):
        run_recipe(RECIPE, config, tmp_path, quiet=True)
