"""The quick setting of ``gpt-shakespeare-char`` trains, checkpoints, samples and reports."""

import json

import pytest

from dlf.cli import main
from dlf.gpt.recipes.gpt_shakespeare_char import RECIPE
from dlf.gpt.recipes.text_lm import CONFIG_MAP
from dlf.gpt.snapshot import load_gpt, read_manifest
from dlf.gpt.tokenizer import CharTokenizer
from dlf.gpt.train import TrainConfig
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
    assert summary["steps"] == 60
    assert summary["val_loss"] < 3.0  # from ln 65 = 4.17 at the start
    assert summary["val_perplexity"] == pytest.approx(2.718281828459045 ** summary["val_loss"])
    assert len(summary["sample"]) == 1 + 100
    manifest = read_manifest(run_dir.path)
    assert manifest["step"] == 60
    tokenizer = CharTokenizer.load(run_dir.path / "tokenizer.json")
    assert tokenizer.vocab_size == 65 == load_gpt(run_dir.path).config.vocab_size
    lines = [json.loads(s) for s in (run_dir.path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "val_loss" in r] == [0, 30, 60]
    assert check_self_contained(run_dir.path / "report.html") >= 2
    for name in ("architecture", "attention"):  # the model's diagram and its heads' attention
        assert (run_dir.path / f"{name}.png").is_file()


def test_text_file_as_data(tmp_path):
    text = tmp_path / "mine.txt"
    text.write_text("to be or not to be, that is the question\n" * 40)
    config = RECIPE.make_config(
        quick=True, overrides={"data": str(text), "max_steps": "4", "eval_interval": "2"}
    )
    run_dir, summary = run_recipe(RECIPE, config, tmp_path / "runs", quiet=True)
    assert summary["status"] == "completed" and summary["steps"] == 4
    assert CharTokenizer.load(run_dir.path / "tokenizer.json").vocab_size == len(
        set(text.read_text())
    )


@pytest.mark.parametrize(
    "pair",
    ["temperature=-1", "temperature=nan", "batch_size=0", "max_steps=0", "learning_rate=-1",
     "n_head=3", "dropout=1.5", "device=bogus", "val_fraction=0", "top_k=0", "sample_tokens=-1",
     "eval_batches=0", "log_interval=0", "checkpoint_interval=-1"],
)  # fmt: skip
def test_a_bad_value_is_one_line_exit_2_and_no_folder(tmp_path, capsys, pair):
    runs = tmp_path / "runs"
    status = main(["run", "gpt-shakespeare-char", "--quick", pair, "--runs-dir", str(runs)])
    err = capsys.readouterr().err
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and pair.split("=")[0] in err
    assert not runs.exists()


def test_log_and_checkpoint_intervals_reach_the_training(tmp_path):
    config = RECIPE.make_config(overrides={"log_interval": "3", "checkpoint_interval": "7"})
    train = CONFIG_MAP.build(TrainConfig, config)
    assert (train.log_interval, train.checkpoint_interval) == (3, 7)


def test_the_named_settings_say_what_they_do():
    assert set(RECIPE.settings) == {"fast", "fast-long"}
    for overrides in RECIPE.settings.values():
        assert overrides["precision"] == "auto"  # bf16 only where this CPU computes it natively
    assert RECIPE.make_config().precision == "fp32"  # the default is the same on every machine
    for name in RECIPE.settings:
        RECIPE.make_config(setting=name)  # every value in range
