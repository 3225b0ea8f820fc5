"""The quick setting of ``bpe`` trains its tokenizers, measures compression and reports."""

import json

import pytest

from dlf.gpt.recipes.bpe import RECIPE, packs_more, shown
from dlf.gpt.tokenizer import BPETokenizer
from dlf.recipes import run_recipe
from tests.conftest import data_available
from tests.report_checks import check_self_contained


@pytest.mark.slow
@pytest.mark.skipif(
    not (data_available("tinyshakespeare") and data_available("gpt2")),
    reason="Tiny Shakespeare or the GPT-2 files not in $DLF_DATA",
)
def test_quick_run(tmp_path):
    config = RECIPE.make_config(quick=True)
    run_dir, summary = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert summary["status"] == "completed"
    compression = [summary[f"val_bytes_per_token_{s}"] for s in config.vocab_sizes]
    assert 1.0 <= compression[0] < compression[1] < compression[2]  # more merges, fewer tokens
    assert compression[-1] < summary["gpt2_val_bytes_per_token"] < 6.0
    assert len(summary["first_merges"]) == 10
    assert summary["effects_shown"] == "1 of 1", summary["effects"]
    saved = BPETokenizer.load(run_dir.path / f"tokenizer-{max(config.vocab_sizes)}.json")
    assert saved.vocab_size == max(config.vocab_sizes)
    assert shown(saved.vocab[saved.ranks[b"e"]]) == "e"
    lines = [json.loads(s) for s in (run_dir.path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == sorted(config.vocab_sizes)
    assert check_self_contained(run_dir.path / "report.html") == 1


@pytest.mark.parametrize(("token", "text"), [(b" the", "␣the"), (b"\n\n", "⏎⏎"), (b"\xc3", "Ã")])
def test_shown(token, text):
    assert shown(token) == text


@pytest.mark.parametrize(
    ("compression", "shown_"),
    [([2.1, 2.6, 3.0], True), ([2.1, 2.0], False), ([2.1, 2.1], False), ([2.1], False)],
)
def test_packs_more_needs_two_sizes_each_packing_more(compression, shown_):
    assert packs_more(compression) is shown_
