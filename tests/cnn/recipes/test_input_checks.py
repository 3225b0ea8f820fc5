"""Module 2's recipes check every value before any work: one line, exit 2, no run folder; a
run whose own loss stops being finite ends "diverged" (exit 1)."""

from __future__ import annotations

import json
import re

import pytest

from dlf.cli import main
from dlf.recipes import get_recipe
from tests.conftest import data_available

RECIPES = ["cnn-mnist", "cnn-fashion", "batchnorm", "resnet-depth", "architectures"]

BAD_VALUES = [
    ("cnn-mnist", "batch_size=0", "batch_size must be >= 1, got 0"),
    ("cnn-mnist", "dropout=1.5", "dropout must be >= 0 and < 1, got 1.5"),
    ("cnn-mnist", "lr=-1", "lr must be > 0, got -1"),
    ("cnn-mnist", "channels=8,0", "channels must be >= 1, got 0"),
    ("cnn-mnist", "kernel=4", "kernel must be odd"),
    ("cnn-mnist", "channels=8,8,8,8,8", "channels must name 1 to 4 stages"),
    ("cnn-mnist", "val_fraction=1", "val_fraction must be >= 0 and < 1, got 1"),
    ("cnn-fashion", "blocks=1,1", "need one entry per stage"),
    ("cnn-fashion", "label_smoothing=1", "label_smoothing must be >= 0 and < 1"),
    ("cnn-fashion", "epochs=0", "epochs must be >= 1, got 0"),
    ("batchnorm", "momentum=1", "momentum must be >= 0 and < 1, got 1"),
    ("batchnorm", "widths=4,4,4,4,4", "widths must name 1 to 4 stages"),
    ("resnet-depth", "depths=20,21", "every depth must be 6n + 2"),
    ("resnet-depth", "depths=2", "depths must be >= 8, got 2"),
    ("resnet-depth", "depths=8,8", "each depth once"),
    ("resnet-depth", "log_every=0", "log_every must be >= 1, got 0"),
    ("resnet-depth", "warmup_epochs=7", "must not exceed epochs"),
    ("architectures", "models=lenet5,resnet9000", "choose from"),
    ("architectures", "weight_decay=-0.1", "weight_decay must be >= 0, got -0.1"),
]


@pytest.mark.parametrize(("recipe", "pair", "message"), BAD_VALUES)
def test_a_bad_value_is_one_line_exit_2_and_no_folder(recipe, pair, message, tmp_path, capsys):
    status = main(["run", recipe, "--quick", pair, "--runs-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("dlf: error: ") and err.count("\n") == 1, err
    assert message in err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("name", RECIPES)
def test_quick_and_full_settings_pass_their_own_checks(name):
    recipe = get_recipe(name)
    for quick in (False, True):
        config = recipe.make_config(quick=quick)
        recipe.preflight(config)


@pytest.mark.skipif(not data_available("mnist"), reason="MNIST not in $DLF_DATA")
def test_a_run_whose_loss_blows_up_ends_diverged(tmp_path, capsys):
    argv = ["run", "cnn-mnist", "--quick", "lr=1e6", "train_subset=256", "test_subset=64"]
    status = main([*argv, "--runs-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err
    last = err.splitlines()[-1]  # the lines before it are the run's progress
    # a step can make the weights NaN before any loss is: whichever came first is named
    assert re.match(r"dlf: diverged: the (training loss|weights) became", last), last
    assert "lower lr" in last
    (summary_file,) = tmp_path.glob("cnn-mnist/*/summary.json")
    summary = json.loads(summary_file.read_text())
    assert summary["status"] == "diverged" and last.endswith(summary["diverged"])
