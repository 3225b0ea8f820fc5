"""The batchnorm recipe's quick setting: both nets trained, curves overlaid, report complete."""

from __future__ import annotations

import json

import pytest

from dlf.recipes import get_recipe, run_recipe
from tests.conftest import data_available
from tests.report_checks import check_self_contained

pytestmark = pytest.mark.skipif(
    not data_available("fashion-mnist"), reason="Fashion-MNIST not in $DLF_DATA"
)


@pytest.mark.slow
def test_quick_setting(tmp_path):
    from dlf.cnn.recipes.batchnorm import RECIPE

    assert get_recipe("batchnorm") is RECIPE
    config = RECIPE.make_config(quick=True)
    run_dir, s = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert s["status"] == "completed" and s["layers"] == 12
    for key in ("test_accuracy_bn", "test_accuracy_no_bn"):
        assert 0.0 <= s[key] <= 1.0
    lines = [json.loads(x) for x in (run_dir.path / "metrics.jsonl").read_text().splitlines()]
    assert sorted(r["net"] for r in lines) == ["with BN", "without BN"]
    assert check_self_contained(run_dir.path / "report.html") == 2
