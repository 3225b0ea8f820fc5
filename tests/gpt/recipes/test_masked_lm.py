"""The quick setting of ``masked-lm``: the masked LM, a GPT and a seq2seq Transformer."""

import json

import pytest

from dlf.cli import main
from dlf.gpt.recipes.masked_lm import RECIPE, masks_figure
from dlf.recipes import run_recipe
from tests.conftest import data_available
from tests.report_checks import check_self_contained


@pytest.mark.slow
@pytest.mark.skipif(
    not data_available("tinyshakespeare"), reason="Tiny Shakespeare not in $DLF_DATA"
)
def test_quick_run(tmp_path):
    config = RECIPE.make_config(quick=True)
    run_dir, summary = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert summary["status"] == "completed"
    assert summary["mlm_val_loss"] < 4.0  # from ln 65 = 4.17
    assert 1 / 65 < summary["fill_in_accuracy_mlm"] <= 1.0
    assert 0.0 <= summary["fill_in_accuracy_gpt"] <= 1.0
    assert summary["fill_in_positions"] > 500
    assert 0.0 <= summary["seq2seq_exact_match"] <= 1.0
    assert summary["effects_shown"] == "2 of 2", summary["effects"]
    page = (run_dir.path / "report.html").read_text()
    assert check_self_contained(run_dir.path / "report.html") == 2
    for kind in ("encoder-only", "decoder-only", "encoder-decoder", "fill in the blanks"):
        assert kind in page


def test_masks_figure_has_three_panels():
    assert len(masks_figure().axes) == 3


@pytest.mark.skipif(
    not data_available("tinyshakespeare"), reason="Tiny Shakespeare not in $DLF_DATA"
)
def test_a_loss_that_blows_up_ends_the_run_diverged(tmp_path, capsys):
    status = main(["run", "masked-lm", "--quick", "learning_rate=1e9", "--runs-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" not in err, err
    last = err.splitlines()[-1]  # the lines before it are the run's progress
    assert last.startswith("dlf: diverged: the masked-LM loss became"), last
    assert "lower learning_rate" in last
    (summary_file,) = tmp_path.glob("masked-lm/*/summary.json")
    summary = json.loads(summary_file.read_text())
    assert summary["status"] == "diverged" and "masked-LM loss" in summary["diverged"]
