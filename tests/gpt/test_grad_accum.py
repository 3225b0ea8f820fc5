import json

import pytest

from dlf.cli import main
from dlf.gpt.recipes.grad_accum import RECIPE
from dlf.recipes import run_recipe


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
