"""The linear-classifiers recipe: its quick setting runs and every model beats chance by far."""

from __future__ import annotations

import json

import pytest

from dlf.recipes import get_recipe, run_recipe
from dlf.scratch.recipes.linear_classifiers import RECIPE
from tests.report_checks import check_self_contained


def test_registered():
    assert get_recipe("linear-classifiers") is RECIPE


@pytest.mark.slow
@pytest.mark.usefixtures("needs_mnist")
def test_quick_setting(tmp_path):
    config = RECIPE.make_config(quick=True)
    run_dir, summary = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert summary["status"] == "completed"
    assert summary["effects"] and all(e["shown"] for e in summary["effects"]), summary["effects"]
    # chance is 0.1; on 5,000 training images these reach 0.85-0.93
    for model in ("knn", "svm", "softmax", "perceptron"):
        assert summary[f"{model}_accuracy"] > 0.75, (model, summary[f"{model}_accuracy"])
        assert summary[f"{model}_train_seconds"] >= 0
    assert summary["knn_k"] in config.ks
    assert summary["knn_train_images"] == config.knn_train
    assert summary["knn_test_images"] == config.knn_test
    assert json.loads((run_dir.path / "summary.json").read_text())["svm_accuracy"] == pytest.approx(
        summary["svm_accuracy"]
    )
    for name in ("templates_svm", "templates_softmax", "accuracy", "knn_cv", "training"):
        assert (run_dir.path / f"{name}.png").stat().st_size > 1000
    assert check_self_contained(run_dir.path / "report.html") == 5
    epochs = [r for r in run_dir.history if "softmax_loss" in r]
    assert len(epochs) == config.epochs
    assert epochs[-1]["softmax_loss"] < epochs[0]["softmax_loss"]
