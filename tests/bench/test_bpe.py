"""``bench_bpe`` runs end to end on a small text (timings are not checked: they live in the
benchmark), and its naive peers agree with ours."""

from __future__ import annotations

import pytest

from dlf.bench.bpe import bench_bpe, naive_encode, naive_train
from dlf.gpt.tokenizer import BPETokenizer

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n" * 30


@pytest.mark.parametrize("pattern", ["gpt4", None])
def test_bench_bpe_runs_and_peers_agree(tmp_path, pattern):
    path = tmp_path / "text.txt"
    path.write_text(TEXT, encoding="utf-8")
    report = bench_bpe(vocab_size=300, pattern=pattern, path=path, naive_chars=500, repeats=1)
    names = [row[0] for row in report.rows]
    assert "ours: train, whole text" in names and "ours: encode, whole text (cold cache)" in names
    assert all(value > 0 for _, value, _ in report.rows)
    assert "same ids as ours: True" in report.notes[1]
    assert "same merges as ours: True" in report.notes[1]
    assert report.ratio is not None and report.ratio > 0
    assert report.format().startswith("bench bpe")


def test_naive_peers_worked_examples():
    assert naive_train("aaabdaaabac", 259, None)[1] == [(97, 97), (97, 98), (256, 257)]
    tokenizer = BPETokenizer.train("ab ab ab", 257, pattern=r"\S+|\s")
    assert tokenizer.vocab[256] == b"ab"
    assert naive_encode("ab ab", tokenizer.vocab, r"\S+|\s") == [256, 32, 256]
