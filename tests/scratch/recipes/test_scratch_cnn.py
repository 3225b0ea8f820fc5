"""The quick setting of ``scratch-cnn`` runs, learns, saves reloadable weights and leaves a report;
the network builder gives the layer shapes and parameter counts the docstring states."""

import json

import numpy as np
import pytest

from dlf.recipes import get_recipe, run_recipe
from dlf.runs import load_arrays
from dlf.scratch.recipes.scratch_cnn import RECIPE, small_cnn
from tests.report_checks import check_self_contained


@pytest.mark.slow
def test_quick_run(tmp_path, needs_mnist):
    assert get_recipe("scratch-cnn") is RECIPE and RECIPE.module == 2
    config = RECIPE.make_config(quick=True)
    run_dir, summary = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert summary["status"] == "completed"
    assert summary["effects"] and all(e["shown"] for e in summary["effects"]), summary["effects"]
    assert summary["val_accuracy"] > 0.7  # 2 epochs on 2,000 images; chance is 0.1
    assert summary["epochs_run"] == 2 and summary["parameters"] == 20_490
    assert summary["weights_reload_identical"] is True
    weights = load_arrays(run_dir.path / summary["weights_file"])
    assert weights["0.W"].shape == (16, 1, 3, 3) and weights["3.W"].shape == (32, 16, 3, 3)
    assert weights["7.W"].shape == (32 * 7 * 7, 10)
    assert all(np.all(np.isfinite(w)) for w in weights.values())
    lines = (run_dir.path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(s)["step"] for s in lines] == [1, 2]
    for name in ("learning_curves", "iterations", "filters", "misclassified"):
        assert (run_dir.path / f"{name}.png").stat().st_size > 1000
    assert check_self_contained(run_dir.path / "report.html") >= 4


@pytest.mark.parametrize(
    ("channels", "batch_norm", "hidden", "n_params"),
    [
        ((16, 32), False, 0, 160 + 4_640 + 15_690),
        ((8,), True, 32, 72 + 16 + 1_568 * 32 + 32 + 330),
        ((4, 8, 16), False, 0, 40 + 296 + 1_168 + (16 * 3 * 3) * 10 + 10),  # 28 -> 14 -> 7 -> 3
    ],
)
def test_small_cnn_shapes(channels, batch_norm, hidden, n_params):
    model = small_cnn(channels, batch_norm=batch_norm, hidden=hidden, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).random((3, 1, 28, 28), dtype=np.float32)
    assert model.forward(x).shape == (3, 10)
    assert model.num_parameters() == n_params


def test_small_cnn_rejects_bad_sizes():
    with pytest.raises(ValueError, match="odd kernel_size"):
        small_cnn((8,), kernel_size=4)
    with pytest.raises(ValueError, match="nothing"):
        small_cnn((2, 2, 2, 2, 2))


@pytest.mark.usefixtures("needs_mnist")
def test_interrupted_after_an_epoch_keeps_the_best_weights(tmp_path, monkeypatch):
    """Ctrl-C (SIGTERM under dlf run becomes the same KeyboardInterrupt) as epoch 2 is logged:
    the run closes "interrupted" with model.safetensors holding epoch 1's weights, the best."""
    from dlf.runs import RunDir

    log = RunDir.log

    def log_then_interrupt(self, step, **metrics):
        log(self, step, **metrics)
        if step == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(RunDir, "log", log_then_interrupt)
    overrides = {"train_subset": 300, "val_subset": 200, "test_subset": 200, "epochs": 5}
    config = RECIPE.make_config(quick=True, overrides=overrides)
    with pytest.raises(KeyboardInterrupt):
        run_recipe(RECIPE, config, tmp_path, quiet=True)
    (run_dir,) = (tmp_path / "scratch-cnn").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert summary["weights_files"] == ["model.safetensors"]
    weights = load_arrays(run_dir / "model.safetensors")
    assert weights["0.W"].shape == (16, 1, 3, 3)
    assert all(np.all(np.isfinite(w)) for w in weights.values())
    assert (
        "the weights of epoch 1, the lowest validation loss"
        in (run_dir / "report.html").read_text()
    )
