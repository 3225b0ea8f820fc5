"""The quick setting of ``mnist-mlp`` runs, learns, saves reloadable weights and leaves a report."""

import json

import numpy as np
import pytest

from dlf.recipes import get_recipe, run_recipe
from dlf.runs import load_arrays
from dlf.scratch.recipes.mnist_mlp import RECIPE
from tests.report_checks import check_self_contained


@pytest.mark.slow
def test_quick_run(tmp_path, needs_mnist):
    assert get_recipe("mnist-mlp") is RECIPE
    run_dir, summary = run_recipe(RECIPE, RECIPE.make_config(quick=True), tmp_path, quiet=True)
    assert summary["status"] == "completed"
    assert summary["effects"] and all(e["shown"] for e in summary["effects"]), summary["effects"]
    assert summary["test_accuracy"] > 0.85  # 2 epochs on 5,000 images
    assert summary["epochs_run"] == 2 and summary["parameters"] == 535_818
    assert summary["weights_reload_identical"] is True
    weights = load_arrays(run_dir.path / summary["weights_file"])
    assert weights["0.W"].shape == (784, 512) and weights["6.b"].shape == (10,)
    assert np.all(np.isfinite(weights["0.W"]))
    lines = (run_dir.path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(s)["step"] for s in lines] == [1, 2]
    assert check_self_contained(run_dir.path / "report.html") >= 3
