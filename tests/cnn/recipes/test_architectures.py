"""The architectures recipe's quick setting: one row per net with accuracy, size and cost."""

from __future__ import annotations

import pytest

from dlf.recipes import get_recipe, run_recipe
from tests.conftest import data_available
from tests.report_checks import check_self_contained

pytestmark = pytest.mark.skipif(
    not data_available("fashion-mnist"), reason="Fashion-MNIST not in $DLF_DATA"
)


@pytest.mark.slow
def test_quick_setting(tmp_path):
    from dlf.cnn.recipes.architectures import BUILDERS, RECIPE

    assert get_recipe("architectures") is RECIPE
    run_dir, s = run_recipe(RECIPE, RECIPE.make_config(quick=True), tmp_path, quiet=True)
    assert s["status"] == "completed"
    assert s["effects_shown"] == f"{len(BUILDERS)} of {len(BUILDERS)}", s["effects"]
    for name in BUILDERS:
        assert 0.0 <= s[f"test_accuracy_{name}"] <= 1.0
        assert s[f"seconds_per_epoch_{name}"] > 0
    assert s["parameters_lenet5"] == 61_706  # the paper's net, 10 classes
    assert s["mult_adds_lenet5"] < s["mult_adds_small_resnet"] < s["mult_adds_vgg_small"]
    assert s["parameters_small_resnet"] < s["parameters_alexnet_small"]
    page = (run_dir.path / "report.html").read_text()
    assert all(name in page for name in BUILDERS)
    assert check_self_contained(run_dir.path / "report.html") == 2


def test_unknown_model_is_refused(tmp_path):
    from dlf.cnn.recipes.architectures import RECIPE

    config = RECIPE.make_config(quick=True, overrides={"models": "lenet5,resnet9000"})
    with pytest.raises(ValueError, match="choose from"):
        run_recipe(RECIPE, config, tmp_path, quiet=True)
