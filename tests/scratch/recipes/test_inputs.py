"""Every Module 1 recipe checks its input before any work: one line, exit 2, no run folder; and a
run whose main loss becomes NaN or infinite ends "diverged" (exit 1) with its last good weights."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlf.cli import main
from dlf.runs import load_arrays
from dlf.scratch.recipes.optimizers import NAMES, OPTIMIZERS

_LAST_BLOWS_UP = ",".join([*(str(c.lr) for c in OPTIMIZERS[:-1]), "1e38"])


def _dlf(capsys, *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    return status, capsys.readouterr().err


@pytest.mark.parametrize(
    ("recipe", "override", "says"),
    [
        ("mnist-mlp", "batch_size=0", "batch_size must be >= 1"),
        ("mnist-mlp", "dropout=1.5", "dropout must be >= 0 and < 1"),
        ("mnist-mlp", "val_fraction=0", "val_fraction must be > 0"),
        ("mnist-mlp", "lr=-1", "lr must be > 0"),
        ("scratch-cnn", "kernel_size=4", "kernel_size must be odd"),
        ("scratch-cnn", "channels=4,4,4,4,4", "halve 28x28 images to nothing"),
        ("optimizers", "lrs=0.1,0.1", "one per SGD"),
        ("optimizers", "curvatures=1,0", "curvatures must be > 0"),
        ("regularization", "weight_decay=-1", "weight_decay must be > 0"),
        ("bias-variance", "noise=0", "noise must be > 0"),
        ("bias-variance", "widths=4,0", "widths must be >= 1"),
        ("init-and-lr", "lr_min=20", "lr_min must be below lr_max"),
        ("init-and-lr", "sizes=784,10", "sizes must run from 784"),
        ("linear-classifiers", "cv_folds=1", "cv_folds must be >= 2"),
        ("linear-classifiers", "ks=1,500", "too few images for k=500"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_folder(tmp_path, capsys, recipe, override, says):
    status, err = _dlf(capsys, "run", recipe, "--quick", override, "--runs-dir", str(tmp_path))
    assert status == 2, err
    assert err.count("\n") == 1 and err.startswith("dlf: error: ") and says in err, err
    assert not list(tmp_path.iterdir())


def _diverged_run(tmp_path, capsys, recipe: str, *overrides: str) -> tuple[dict, object]:
    status, err = _dlf(
        capsys, "run", recipe, "--quick", "--quiet", *overrides, "--runs-dir", str(tmp_path)
    )
    assert status == 1, err
    assert err.count("\n") == 1 and err.startswith("dlf: diverged: the "), err
    (run_dir,) = (tmp_path / recipe).iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "diverged"
    return summary, run_dir


@pytest.mark.usefixtures("needs_mnist")
@pytest.mark.parametrize(
    ("recipe", "overrides"),
    [
        ("mnist-mlp", ("lr=1e6", "train_subset=1000")),
        ("scratch-cnn", ("lr=1e6", "train_subset=500", "epochs=1")),
    ],
)
def test_a_diverged_training_keeps_its_last_good_weights(tmp_path, capsys, recipe, overrides):
    summary, run_dir = _diverged_run(tmp_path, capsys, recipe, *overrides)
    assert "try a lower lr" in summary["diverged"]
    assert summary["weights_files"] == ["model.safetensors"]
    weights = load_arrays(run_dir / "model.safetensors")
    assert all(np.isfinite(w).all() for w in weights.values())
    assert "Diverged" in (run_dir / "report.html").read_text()


@pytest.mark.usefixtures("needs_mnist")
@pytest.mark.parametrize(
    ("recipe", "overrides", "names"),
    [
        ("optimizers", (f"lrs={_LAST_BLOWS_UP}", "epochs=1"), NAMES[-1]),
        ("regularization", ("lr=1e6", "epochs=2"), "lr"),
        ("linear-classifiers", ("softmax_lr=1e38",), "softmax_lr"),
    ],
)
def test_a_comparison_whose_runs_diverge_ends_diverged(tmp_path, capsys, recipe, overrides, names):
    summary, _ = _diverged_run(tmp_path, capsys, recipe, *overrides)
    assert names in summary["diverged"]
