"""A run whose loss becomes NaN or infinite ends "diverged", exit 1, with its weights kept."""

import json
import math
from dataclasses import dataclass

import numpy as np
import pytest

from dlf.cli import main
from dlf.recipes import Recipe, register
from dlf.runs import Diverged, RunDir, check_finite, load_arrays, save_arrays


@dataclass
class _Cfg:
    blow_up_at: int = 3


def _blows_up(config: _Cfg, run_dir: RunDir) -> dict:
    w = np.ones(3)
    for step in range(10):
        loss = math.inf if step == config.blow_up_at else 1.0 / (step + 1)
        check_finite(loss, step, advice="try a lower lr")
        save_arrays(run_dir.path / "weights.safetensors", {"w": w * step})
        run_dir.log(step, loss=loss)
    return {"loss": loss}


register(Recipe("diverges-test", 0, "its loss becomes inf (tests only)", _Cfg, _blows_up))


def test_check_finite_passes_numbers_and_names_the_step():
    assert check_finite(np.float32(2.5), 0) == 2.5
    with pytest.raises(Diverged, match="the loss became nan at step 7; try a lower lr"):
        check_finite(math.nan, 7, advice="try a lower lr")


def test_a_diverged_run_exits_1_with_one_line_and_keeps_its_last_weights(tmp_path, capsys):
    status = main(["run", "diverges-test", "--quiet", "--runs-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 1
    assert err == "dlf: diverged: the loss became inf at step 3; try a lower lr\n"
    (folder,) = (tmp_path / "diverges-test").iterdir()
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "diverged"
    assert summary["weights_files"] == ["weights.safetensors"]
    np.testing.assert_array_equal(load_arrays(folder / "weights.safetensors")["w"], 2.0)
    assert (folder / "report.html").exists()
