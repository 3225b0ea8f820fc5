"""gpt-text: a GPT on a text the test writes; the split; fine-tuning; bad input; torchrun."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dlf.cli import main
from dlf.gpt.data import EpochSampler, TokenDataset, split_text
from dlf.gpt.recipes.gpt_text import RECIPE
from dlf.gpt.recipes.text_lm import prepare
from dlf.gpt.recipes.text_lm_report import loss_series, read_metrics
from dlf.gpt.snapshot import load_gpt
from dlf.gpt.text import TextDataError, load_tokenizer, read_text
from dlf.gpt.trained import CheckpointNotFound, load_trained
from dlf.recipes import run_recipe
from tests.report_checks import check_self_contained

TINY = {
    "n_layer": "1", "n_head": "2", "n_embd": "16", "block_size": "8", "batch_size": "4",
    "max_steps": "4", "warmup_steps": "1", "eval_interval": "2", "eval_batches": "2",
    "sample_tokens": "12", "threads": "1",
}  # fmt: skip
VERSE = "the quick brown fox jumps over the lazy dog\nand then it sleeps under a tree\n"


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny char run of 4 steps on a text of 1,600 characters."""
    root = tmp_path_factory.mktemp("gpt-text")
    data = write(root / "verse.txt", VERSE * 20)
    config = RECIPE.make_config(quick=True, overrides={**TINY, "data": str(data)})
    run_dir, summary = run_recipe(RECIPE, config, root / "runs", quiet=True)
    return run_dir, summary, data


def test_trains_on_a_text_file_and_logs_val_loss_and_perplexity(trained):
    run_dir, summary, data = trained
    assert summary["status"] == "completed" and summary["steps"] == 4
    assert summary["val_perplexity"] == pytest.approx(math.exp(summary["val_loss"]))
    records = read_metrics(run_dir.path)
    evals = [r for r in records if "val_loss" in r]
    assert [r["step"] for r in evals] == [0, 2, 4]
    for r in evals:
        assert r["val_perplexity"] == pytest.approx(math.exp(r["val_loss"]), rel=1e-12)
    tokenizer = load_tokenizer(run_dir.path / "tokenizer.json")
    assert tokenizer.chars == sorted(set(VERSE))
    assert load_gpt(run_dir.path).config.vocab_size == tokenizer.vocab_size
    assert summary["sample"].startswith("\n") and len(summary["sample"]) == 1 + 12
    assert check_self_contained(run_dir.path / "report.html") >= 2


@pytest.mark.parametrize("kind", ["char", "bpe"])
@pytest.mark.parametrize("val_fraction", [0.1, 0.25])
def test_the_split_is_contiguous_without_overlap(tmp_path, kind, val_fraction):
    text = "".join(f"line {i}: {'abcdefgh'[i % 8] * (i % 5)} end\n" for i in range(200))
    data = write(tmp_path / "t.txt", text)
    config = RECIPE.make_config(
        overrides={"data": str(data), "tokenizer": kind, "vocab_size": "300",
                   "val_fraction": str(val_fraction)}
    )  # fmt: skip
    corpus = prepare(config)
    train_text, val_text = split_text(text, val_fraction)
    assert train_text + val_text == text and len(val_text) == round(len(text) * val_fraction)
    tok = corpus.tokenizer
    assert tok.decode(corpus.train_tokens.tolist()) == train_text
    assert tok.decode(corpus.val_tokens.tolist()) == val_text == corpus.val_text
    if kind == "bpe":  # trained on the training part alone
        from dlf.gpt.tokenizer import BPETokenizer

        alone = BPETokenizer.train(train_text, 300, "gpt4", special_tokens=["<|endoftext|>"])
        assert tok == alone
    # no training window reaches into the validation tokens: they are separate arrays, and
    # every training window's tokens are a slice of the training part
    windows = TokenDataset(corpus.train_tokens, 8)
    last = windows.windows[-1].numpy()
    assert np.array_equal(last, corpus.train_tokens[-9:])


def test_batches_are_drawn_without_replacement_within_an_epoch():
    sampler = EpochSampler(50, 4, seed=1)
    epoch = [sampler.next_batch() for _ in range(50 // 4)]
    drawn = np.concatenate(epoch)
    assert len(set(drawn.tolist())) == len(drawn) == 48


def test_a_folder_of_txt_files(tmp_path):
    write(tmp_path / "d" / "b.txt", "second")
    write(tmp_path / "d" / "a.txt", "first")
    write(tmp_path / "d" / "c.md", "not read")
    assert read_text(str(tmp_path / "d")) == "first\nsecond"


def test_fine_tuning_keeps_the_tokenizer_and_draws_both_phases(trained, tmp_path):
    parent_dir, parent_summary, _ = trained
    data = write(tmp_path / "more.txt", "the lazy dog sleeps and the fox jumps\n" * 30)
    overrides = {**TINY, "data": str(data), "init_from": str(parent_dir.path), "n_layer": "3",
                 "max_steps": "2", "eval_interval": "1"}  # fmt: skip
    config = RECIPE.make_config(quick=True, overrides=overrides)
    run_dir, summary = run_recipe(RECIPE, config, tmp_path / "runs", quiet=True)
    assert summary["status"] == "completed" and run_dir.path != parent_dir.path
    assert summary["init_from"] == str(parent_dir.path)
    assert summary["learning_rate"] == config.finetune_learning_rate < config.learning_rate
    parent_tok = (parent_dir.path / "tokenizer.json").read_text()
    assert (run_dir.path / "tokenizer.json").read_text() == parent_tok
    assert load_gpt(run_dir.path).config == load_gpt(parent_dir.path).config  # n_layer kept
    series = loss_series(run_dir, load_trained(parent_dir.path))
    phase1, _ = series["phase 1 (pre-training): validation"]
    phase2, _ = series["phase 2 (fine-tuning): validation"]
    assert phase1 == [0, 2, 4] and phase2 == [4, 5, 6]
    page = (run_dir.path / "report.html").read_text()
    assert "Both phases" in page and str(parent_dir.path) in page


def test_fine_tuning_on_characters_the_tokenizer_lacks_is_a_clear_error(trained, tmp_path):
    parent_dir, _, _ = trained
    data = write(tmp_path / "accents.txt", "café € naïve " * 50)
    config = RECIPE.make_config(
        quick=True, overrides={**TINY, "data": str(data), "init_from": str(parent_dir.path)}
    )
    with pytest.raises(TextDataError) as error:
        run_recipe(RECIPE, config, tmp_path / "runs", quiet=True)
    assert all(repr(c) in str(error.value) for c in "é€ï") and "cannot encode" in str(error.value)
    assert not (tmp_path / "runs").exists()


def bad_inputs(tmp_path: Path, parent: Path) -> dict[str, tuple[list[str], str]]:
    empty = write(tmp_path / "empty.txt", "")
    binary = write(tmp_path / "blob.txt", bytes(range(256)) * 8)
    latin1 = write(tmp_path / "latin1.txt", "caf\xe9 au lait\n".encode("latin-1") * 100)
    short = write(tmp_path / "short.txt", "to be or not to be\n")
    no_ckpt = tmp_path / "not-a-run"
    no_ckpt.mkdir()
    write(tmp_path / "notxt" / "a.md", "x")
    good = str(parent / "config.json")  # any file; init_from is checked first
    return {
        "empty": ([f"data={empty}"], "is empty"),
        "binary": ([f"data={binary}"], "binary"),
        "not utf-8": ([f"data={latin1}"], "not UTF-8"),
        "shorter than a block": ([f"data={short}", "block_size=64"], "fewer than"),
        "missing path": ([f"data={tmp_path / 'nope.txt'}"], "no such file or folder"),
        "folder without txt": ([f"data={tmp_path / 'notxt'}"], "no .txt files"),
        "run without checkpoint": ([f"data={good}", f"init_from={no_ckpt}"], "no GPT checkpoint"),
        "missing run": ([f"data={good}", f"init_from={tmp_path / 'gone'}"], "no such run"),
    }


@pytest.mark.parametrize(
    "case",
    ["empty", "binary", "not utf-8", "shorter than a block", "missing path", "folder without txt",
     "run without checkpoint", "missing run"],
)  # fmt: skip
def test_bad_input_is_one_line_exit_1_and_nothing_written(trained, tmp_path, capsys, case):
    parent_dir, _, _ = trained
    pairs, words = bad_inputs(tmp_path / "in", parent_dir.path)[case]
    runs = tmp_path / "runs"
    status = main(["run", "gpt-text", "--quick", *pairs, "--runs-dir", str(runs)])
    _, err = capsys.readouterr()
    assert status == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and words in lines[0], err
    assert not runs.exists()


@pytest.mark.slow
def test_torchrun_makes_one_run_directory_on_rank_0(trained, tmp_path):
    _, _, data = trained
    runs = tmp_path / "runs"
    dlf = Path(sys.executable).parent / "dlf"
    pairs = [f"{k}={v}" for k, v in {**TINY, "batch_size": "2", "max_steps": "2"}.items()]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", str(dlf), "run", "gpt-text", f"data={data}", *pairs,
               "device=cpu", "--runs-dir", str(runs), "--quiet"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    (run_dir,) = (runs / "gpt-text").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["processes"] == 2
    manifest = json.loads((run_dir / "checkpoint" / "checkpoint.json").read_text())
    assert manifest["world_size"] == 2 and manifest["step"] == 2
    assert [p.name for p in runs.iterdir()] == ["gpt-text"]


def test_load_trained_refuses_a_folder_without_a_tokenizer(trained, tmp_path):
    parent_dir, _, _ = trained
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(parent_dir.path, copy)
    (copy / "tokenizer.json").unlink()
    with pytest.raises(CheckpointNotFound, match="tokenizer.json"):
        load_trained(copy)
