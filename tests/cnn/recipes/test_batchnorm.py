"""The batchnorm recipe's quick setting: both nets trained, curves overlaid, report complete."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from dlf.cnn import train
from dlf.cnn.data import image_tensors
from dlf.data import ImageDataset
from dlf.recipes import get_recipe, run_recipe
from dlf.runs import Diverged
from tests.conftest import data_available
from tests.report_checks import check_self_contained

needs_fashion = pytest.mark.skipif(
    not data_available("fashion-mnist"), reason="Fashion-MNIST not in $DLF_DATA"
)


@pytest.mark.slow
@needs_fashion
def test_quick_setting(tmp_path):
    from dlf.cnn.recipes.batchnorm import RECIPE

    assert get_recipe("batchnorm") is RECIPE
    config = RECIPE.make_config(quick=True)
    run_dir, s = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert s["status"] == "completed" and s["layers"] == 12
    assert s["effects_shown"] == "2 of 2", s["effects"]  # lower loss, higher accuracy with BN
    for key in ("test_accuracy_bn", "test_accuracy_no_bn"):
        assert 0.0 <= s[key] <= 1.0
    lines = [json.loads(x) for x in (run_dir.path / "metrics.jsonl").read_text().splitlines()]
    assert sorted(r["net"] for r in lines) == ["with BN", "without BN"]
    assert check_self_contained(run_dir.path / "report.html") == 2


def synthetic_images(n_train: int = 64, n_test: int = 32) -> ImageDataset:
    rng = np.random.default_rng(0)
    return ImageDataset(
        "fashion-mnist",
        rng.integers(0, 256, (n_train, 1, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_train),
        rng.integers(0, 256, (n_test, 1, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_test),
        tuple(f"class {i}" for i in range(10)),
    )


@pytest.mark.parametrize("blows_up", ["without BN", "with BN"])
def test_a_variant_that_blows_up(blows_up, tmp_path, monkeypatch):
    """Without batch norm: reported as diverged inside a completed run; with: the run diverged."""
    from dlf.cnn.recipes import batchnorm

    def fit(model, data, config, run_dir, tags, desc):
        if tags["net"] == blows_up:
            config = dataclasses.replace(config, lr=1e12, momentum=0.0, weight_decay=0.0)
        return train.fit(model, data, config, run_dir, tags=tags, desc=desc)

    monkeypatch.setattr(batchnorm, "image_tensors", lambda name, *a: image_tensors(FAKE, *a))
    monkeypatch.setattr(batchnorm, "fit", fit)
    recipe = batchnorm.RECIPE
    overrides = {"widths": (4, 4, 4), "hidden": 8, "train_subset": 0, "test_subset": 0}
    config = recipe.make_config(quick=True, overrides=overrides)
    if blows_up == "with BN":
        with pytest.raises(Diverged, match="with batch norm diverged"):
            run_recipe(recipe, config, tmp_path, quiet=True)
        (summary_file,) = tmp_path.glob("batchnorm/*/summary.json")
        assert json.loads(summary_file.read_text())["status"] == "diverged"
        return
    run_dir, s = run_recipe(recipe, config, tmp_path, quiet=True)
    assert s["status"] == "completed" and s["diverged_no_bn"]
    assert float(s["train_loss_no_bn"]) == float("inf")  # JSON writes it as "inf"
    assert "without BN (diverged)" in (run_dir.path / "report.html").read_text()


FAKE = synthetic_images()
