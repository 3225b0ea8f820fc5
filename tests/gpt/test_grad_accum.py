import json

import pytest

from dlf.cli import main
from dlf.gpt.recipes.grad_accum import RECIPE, GradAccumConfig, in_own_process
from dlf.recipes import run_recipe
from tests.conftest import data_available

needs_text = pytest.mark.skipif(
    not data_available("tinyshakespeare"), reason="Tiny Shakespeare not in $DLF_DATA"
)


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["ks=1,3"], "ks [3] do not divide batch_size=64"),
        (["ks=0"], "ks must be >= 1, got 0"),
        (["n_head=3"], "n_embd=128 must be divisible by n_head=3"),
        (["learning_rate=0"], "learning_rate must be > 0, got 0.0"),
    ],
)
def test_bad_values_stop_before_any_folder(tmp_path, capsys, pairs, message):
    assert main(["run", "grad-accum", *pairs, "--runs-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"dlf: error: {message}")
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_quick_run_shows_memory_falling_and_equal_curves(tmp_path):
    run_dir, summary = run_recipe(RECIPE, RECIPE.make_config(quick=True), tmp_path, quiet=True)
    assert summary["effects_shown"] == "2 of 2", summary["effects"]
    assert summary["peak_mib_k4"] < summary["peak_mib_k1"]
    history = [json.loads(line) for line in (run_dir.path / "metrics.jsonl").open()]
    assert {k for r in history for k in r} == {"step", "loss_k1", "loss_k4"}
    assert all((run_dir.path / f"{name}.png").exists() for name in ("loss_curves", "peak_memory"))


def test_peak_memory_sees_a_freed_allocation_and_not_what_came_before():
    import numpy as np

    from dlf.gpt.recipes.grad_accum import PeakMemory

    before = np.ones(25_000_000)  # 200 MB held before the measurement starts
    memory = PeakMemory()
    transient = np.ones(12_500_000)  # 100 MB, freed before the reading
    del transient
    grown = memory.grown()
    assert 90e6 < grown < 150e6, grown
    del before


@needs_text
def test_a_divergence_in_the_child_process_ends_the_run_diverged(tmp_path, capsys):
    argv = ["run", "grad-accum", "--quick", "learning_rate=1e9", "ks=1", "steps=3"]
    status = main([*argv, "--runs-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err, err
    last = err.splitlines()[-1]
    assert last.startswith("dlf: diverged: training with k=1: the loss became"), last
    assert "lower learning_rate" in last
    (summary_file,) = tmp_path.glob("grad-accum/*/summary.json")
    summary = json.loads(summary_file.read_text())
    assert summary["status"] == "diverged" and "training with k=1" in summary["diverged"]


@needs_text
def test_any_other_failure_of_the_child_is_one_line(capfd):
    config = GradAccumConfig(n_head=3, n_layer=1, steps=1, block_size=8)  # no preflight here
    with pytest.raises(RuntimeError) as caught:
        in_own_process(config, 1, 1)
    message = str(caught.value)
    assert message.startswith("training with k=1 failed: ") and "\n" not in message
    assert "divisible by n_head=3" in message
    assert "Traceback" not in capfd.readouterr().err  # the child's stderr stays captured
