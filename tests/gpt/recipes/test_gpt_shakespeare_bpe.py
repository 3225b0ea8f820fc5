"""gpt-shakespeare-bpe: the char recipe's GPT on BPE tokens, its tokenizer trained on the
training part only and saved beside the checkpoint, its loss compared per character."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlf.gpt.data import split_text
from dlf.gpt.recipes.gpt_shakespeare_bpe import RECIPE
from dlf.gpt.recipes.gpt_text import RECIPE as CHAR_RECIPE
from dlf.gpt.snapshot import load_gpt, read_manifest
from dlf.gpt.text import read_text
from dlf.gpt.tokenizer import BPETokenizer
from dlf.gpt.trained import evaluate_tokens, load_trained
from dlf.recipes import run_recipe
from tests.conftest import data_available
from tests.report_checks import check_self_contained

TINY = {
    "n_layer": "1", "n_head": "2", "n_embd": "16", "block_size": "8", "batch_size": "4",
    "max_steps": "4", "warmup_steps": "1", "eval_interval": "2", "eval_batches": "2",
    "sample_tokens": "12", "threads": "1", "vocab_size": "300",
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(
    not data_available("tinyshakespeare"), reason="Tiny Shakespeare not in $DLF_DATA"
)
def test_quick_run(tmp_path):
    config = RECIPE.make_config(quick=True)
    run_dir, summary = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert summary["status"] == "completed" and summary["steps"] == 60
    assert summary["val_loss"] < math.log(320) - 0.5  # it learned something
    assert summary["effects_shown"] == "1 of 1", summary["effects"]
    assert summary["val_perplexity"] == pytest.approx(math.exp(summary["val_loss"]))
    assert summary["chars_per_token"] > 1.3  # a BPE token is more than a character
    assert 0 < summary["val_bits_per_char"] < 8
    tokenizer = BPETokenizer.load(run_dir.path / "tokenizer.json")
    assert tokenizer.vocab_size == 320 == load_gpt(run_dir.path).config.vocab_size
    assert read_manifest(run_dir.path)["step"] == 60
    assert check_self_contained(run_dir.path / "report.html") >= 2


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("bpe") / "play.txt"
    lines = ["ROMEO: what light through yonder window breaks?",
             "JULIET: o romeo, romeo, wherefore art thou romeo?",
             "NURSE: anon, anon! come, let's away."]  # fmt: skip
    path.write_text("\n".join(lines[i % 3] for i in range(60)) + "\n", encoding="utf-8")
    return path


def test_bpe_run_on_a_text_compares_per_character_with_the_char_model(text_file, tmp_path):
    char_config = CHAR_RECIPE.make_config(quick=True, overrides={**TINY, "data": str(text_file)})
    char_dir, char_summary = run_recipe(CHAR_RECIPE, char_config, tmp_path / "runs", quiet=True)
    overrides = {**TINY, "data": str(text_file), "compare_with": str(char_dir.path)}
    config = RECIPE.make_config(quick=True, overrides=overrides)
    run_dir, summary = run_recipe(RECIPE, config, tmp_path / "runs", quiet=True)
    assert summary["status"] == "completed"

    # the tokenizer was trained on the training part alone, and saved beside the checkpoint
    train_text, val_text = split_text(read_text(str(text_file)), config.val_fraction)
    saved = BPETokenizer.load(run_dir.path / "tokenizer.json")
    assert saved == BPETokenizer.train(train_text, 300, "gpt4", special_tokens=["<|endoftext|>"])
    assert (run_dir.path / "checkpoint" / "checkpoint.json").is_file()

    # the char model compared on the same validation characters equals its own figure
    assert summary["compare_bits_per_char"] == pytest.approx(char_summary["val_bits_per_char"])
    # char model: one token per character, so bits/char = loss / ln 2
    assert char_summary["val_bits_per_char"] == pytest.approx(
        char_summary["val_loss_all_tokens"] / math.log(2)
    )
    # BPE: the summed loss over the predicted tokens, divided by the characters they spell
    trained = load_trained(run_dir.path)
    val_ids = np.array(saved.encode(val_text, allowed_special="all"))
    result = evaluate_tokens(trained.model, saved, val_ids, batch_size=4)
    n = result.tokens
    assert result.characters == len(saved.decode(val_ids[1 : n + 1].tolist()))
    assert summary["val_bits_per_char"] == pytest.approx(
        result.loss * n / (result.characters * math.log(2))
    )
    page = (run_dir.path / "report.html").read_text()
    assert "bits per character" in page and str(char_dir.path) in page
