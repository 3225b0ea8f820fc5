"""``bench_bpe`` runs end to end on a small text (timings are not checked: they live in the
benchmark), its naive peers agree with ours, the tiktoken peer is built offline from GPT-2's
files and gives our ids, and a missing peer package is a note, not an error."""

from __future__ import annotations

import os
import socket
import sys

import pytest

from dlf.bench.bpe import (
    bench_bpe,
    check_same_ids,
    gpt2_ranks_by_tiktoken,
    naive_encode,
    naive_train,
    tiktoken_gpt2,
)
from dlf.gpt.tokenizer import BPETokenizer

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n" * 30


def gpt2_files():
    from dlf.data import DataError, dataset_files

    try:
        files = dataset_files("gpt2")
    except DataError as err:
        pytest.skip(f"GPT-2 files not available: {err}")
    return files["encoder.json"], files["vocab.bpe"]


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.mark.parametrize("pattern", ["gpt4", None])
def test_bench_bpe_runs_and_peers_agree(text_file, pattern):
    report = bench_bpe(vocab_size=300, pattern=pattern, path=text_file, naive_chars=500, repeats=1)
    names = [row[0] for row in report.rows]
    assert "ours: train, whole text" in names and "ours: encode, whole text (cold cache)" in names
    assert all(value > 0 for _, value, _ in report.rows)
    assert "same ids as ours: True" in report.notes[1]
    assert "same merges as ours: True" in report.notes[1]
    assert report.ratio is not None and report.ratio > 0
    assert report.format().startswith("bench bpe")


def test_bench_bpe_compares_gpt2_encoding_with_tiktoken(text_file):
    pytest.importorskip("tiktoken")
    pytest.importorskip("tokenizers")
    gpt2_files()
    report = bench_bpe(vocab_size=300, path=text_file, naive_chars=200, repeats=1)
    rows = {what: value for what, value, _ in report.rows}
    assert rows["GPT-2 ranks, tiktoken: encode, whole text"] > 0
    ratio = rows["encode time ours/tiktoken, GPT-2 ranks, cold cache"]
    assert ratio == pytest.approx(
        rows["GPT-2 ranks, ours: encode, whole text (cold cache)"]
        / rows["GPT-2 ranks, tiktoken: encode, whole text"]
    )
    gpt2_note = next(n for n in report.notes if n.startswith("GPT-2 encode vs tiktoken"))
    assert "ids identical" in gpt2_note and "target <= 1:" in gpt2_note
    train_note = next(n for n in report.notes if n.startswith("train vs HF tokenizers"))
    assert "target <= 0.5:" in train_note
    assert report.target == 0.5 and report.ratio_of == "train time vs HF tokenizers"


@pytest.mark.parametrize(
    ("missing", "note"), [("tiktoken", "tiktoken not installed"), ("tokenizers", "HF tokenizers")]
)
def test_a_missing_peer_package_is_a_note(text_file, monkeypatch, missing, note):
    monkeypatch.setitem(sys.modules, missing, None)  # importing it now raises ImportError
    report = bench_bpe(vocab_size=300, path=text_file, naive_chars=200, repeats=1)
    assert any(n.startswith(note) and "not installed" in n for n in report.notes), report.notes
    assert report.ratio is not None


def test_tiktoken_peer_is_built_offline_and_writes_nothing(tmp_path, monkeypatch):
    pytest.importorskip("tiktoken")
    encoder_json, vocab_bpe = gpt2_files()

    def no_network(*args, **kwargs):
        raise AssertionError("the tiktoken peer must not open a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # tiktoken's default cache folder
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "cache"))
    ranks = gpt2_ranks_by_tiktoken(encoder_json, vocab_bpe)
    encoding = tiktoken_gpt2(encoder_json, vocab_bpe)
    assert list(tmp_path.iterdir()) == []
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(tmp_path / "cache")  # restored
    assert len(ranks) == 50256 and ranks[b" the"] == 262
    gpt2 = BPETokenizer.from_gpt2(encoder_json, vocab_bpe)
    assert gpt2.ranks == ranks
    sample = "Hello world! It's 2024.\n\n  ok <|endoftext|>"
    assert gpt2.encode(sample, "all") == encoding.encode(sample, allowed_special="all")


def test_check_same_ids_names_the_first_difference():
    check_same_ids([1, 2, 3], [1, 2, 3], "tiktoken")
    with pytest.raises(RuntimeError, match=r"position 1: ours \[6, 7\], tiktoken \[8\]"):
        check_same_ids([5, 6, 7], [5, 8], "tiktoken")
    with pytest.raises(RuntimeError, match="position 2: ours \\[\\], tiktoken \\[3\\]"):
        check_same_ids([1, 2], [1, 2, 3], "tiktoken")


def test_naive_peers_worked_examples():
    assert naive_train("aaabdaaabac", 259, None)[1] == [(97, 97), (97, 98), (256, 257)]
    tokenizer = BPETokenizer.train("ab ab ab", 257, pattern=r"\S+|\s")
    assert tokenizer.vocab[256] == b"ab"
    assert naive_encode("ab ab", tokenizer.vocab, r"\S+|\s") == [256, 32, 256]
