"""The quick setting of ``numpy-gpt``: the NumPy GPT learns, beside its PyTorch twin."""

import json
import math
import os
import signal
import threading

import numpy as np
import pytest

from dlf.cli import main
from dlf.gpt.recipes.numpy_gpt import RECIPE
from dlf.gpt.recipes.numpy_gpt_report import PARITY
from dlf.recipes import ConfigError, run_recipe
from dlf.runs import Diverged, RunDir
from dlf.runs.weights import load_arrays
from dlf.scratch.gpt import GPT
from tests.conftest import data_available
from tests.report_checks import check_self_contained

needs_text = pytest.mark.skipif(
    not data_available("tinyshakespeare"), reason="Tiny Shakespeare not in $DLF_DATA"
)


@pytest.mark.slow
@needs_text
def test_quick_run(tmp_path):
    config = RECIPE.make_config(quick=True)
    run_dir, summary = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert summary["status"] == "completed" and summary["steps"] == 200
    # the quick setting's effect: at least 1 nat below a uniform guess (ln 65 = 4.17)
    assert summary["uniform_loss"] == pytest.approx(math.log(65))
    assert summary["val_loss"] <= summary["uniform_loss"] - 1.0
    assert summary["effects_shown"] == "3 of 3"  # the parity with autograd is one of them
    assert summary["parity_max_rel_error"] <= PARITY
    # the same data, the same initial weights: the float32 twins end close (0.1 nat is the
    # recipe's stated bound; rounding alone keeps them far closer over 200 steps)
    assert abs(summary["val_loss"] - summary["torch_val_loss"]) <= 0.1
    assert len(summary["sample"]) == 1 + 100 and len(summary["torch_sample"]) == 1 + 100
    lines = [json.loads(s) for s in (run_dir.path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "val_loss" in r] == [0, 50, 100, 150, 200]
    assert [r["step"] for r in lines if "torch_val_loss" in r] == [0, 50, 100, 150, 200]
    state = load_arrays(run_dir.path / "model.safetensors")
    model = GPT.from_state_dict(state, n_head=config.n_head)
    assert model.n_layer == 2 and model.vocab_size == 65
    page = (run_dir.path / "report.html").read_text()
    assert "✓" in page and "PyTorch twin" in page
    assert check_self_contained(run_dir.path / "report.html") >= 1


@needs_text
@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"n_head": "3"}, "divisible by n_head"),
        ({"min_lr": "1"}, "min_lr"),
        ({"beta2": "1.0"}, "beta2 must be >= 0 and < 1"),
        ({"max_steps": "0"}, "max_steps"),
        ({"temperature": "0"}, "temperature"),
        ({"top_k": "0"}, "top_k"),
    ],
)
def test_bad_values_are_refused_before_any_work(overrides, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        config = RECIPE.make_config(quick=True, overrides=overrides)
        run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert not any(tmp_path.iterdir())


@needs_text
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy on overflowing weights
def test_a_diverged_numpy_run_keeps_the_last_finite_weights(tmp_path):
    overrides = {"learning_rate": "1e30", "warmup_steps": "0", "max_steps": "20", "peer": "false"}
    config = RECIPE.make_config(quick=True, overrides=overrides)
    kept = r"the weights of step \d+ \(.*model.safetensors\) are kept; run again with a lower"
    with pytest.raises(Diverged, match=kept):
        run_recipe(RECIPE, config, tmp_path, quiet=True)
    (folder,) = (tmp_path / "numpy-gpt").iterdir()
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["weights_files"] == ["model.safetensors"]
    state = load_arrays(folder / "model.safetensors")
    assert all(np.isfinite(v).all() for v in state.values())


@needs_text
@pytest.mark.filterwarnings("error::RuntimeWarning")  # silenced by train_numpy: none may show
def test_a_step_that_makes_the_weights_inf_ends_diverged_with_finite_weights(tmp_path, capsys):
    argv = ["run", "numpy-gpt", "--quick", "learning_rate=3e38", "warmup_steps=0", "peer=false"]
    status = main([*argv, "--runs-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err and "RuntimeWarning" not in err, err
    last = err.splitlines()[-1]  # the lines before it are the run's progress
    assert last.startswith("dlf: diverged: a weight became non-finite at step 1 (loss "), last
    assert "the weights of step 0 (" in last and "lower learning rate" in last
    (folder,) = (tmp_path / "numpy-gpt").iterdir()
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["weights_files"] == ["model.safetensors"]
    state = load_arrays(folder / "model.safetensors")
    assert all(np.isfinite(v).all() for v in state.values())


@needs_text
def test_sigterm_keeps_the_weights_of_the_last_whole_step(tmp_path, monkeypatch):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can be set only in the main thread")
    log = RunDir.log

    def terminated_at_10(self, step, **metrics):
        log(self, step, **metrics)
        if step == 10 and "loss" in metrics:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(RunDir, "log", terminated_at_10)
    config = RECIPE.make_config(quick=True, overrides={"max_steps": "40", "peer": "false"})
    with pytest.raises(KeyboardInterrupt):
        run_recipe(RECIPE, config, tmp_path, quiet=True)
    (folder,) = (tmp_path / "numpy-gpt").iterdir()
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["interrupted_after_step"] == 10
    assert summary["weights_files"] == ["model.safetensors"]
    assert GPT.from_state_dict(load_arrays(folder / "model.safetensors"), n_head=4).n_layer == 2
