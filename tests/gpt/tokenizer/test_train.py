"""Incremental BPE training against the naive trainer that re-counts every pair at every merge."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlf.bench.bpe import naive_train
from dlf.gpt.tokenizer import BPETokenizer
from dlf.gpt.tokenizer.train import (
    add_token,
    merge_and_count,
    merge_pair,
    pair_counts,
    train_bpe,
)

from .samples import MULTILINGUAL

TEXTS = {
    "wikipedia": "aaabdaaabac",
    "runs": "aaaa bbbbbbb aaaaaaaaa ab ab ba " * 3,
    "multilingual": MULTILINGUAL * 2,
    "code": "def f(x):\n    return x ** 2\n\nclass A:\n    pass\n" * 4,
    "ties": "ab cd ef gh ij ab cd ef gh ij",
}


@pytest.mark.parametrize("pattern", ["gpt4", "gpt2", None])
@pytest.mark.parametrize("name", list(TEXTS))
def test_incremental_equals_naive(name, pattern):
    text = TEXTS[name]
    tokenizer = BPETokenizer.train(text, 330, pattern=pattern)
    vocab, merges = naive_train(text, 330, pattern)
    assert tokenizer.merges == merges
    assert tokenizer.vocab == vocab


@pytest.mark.slow
def test_incremental_equals_naive_on_shakespeare(shakespeare):
    text = shakespeare[:20_000]
    tokenizer = BPETokenizer.train(text, 400)
    assert (tokenizer.vocab, tokenizer.merges) == naive_train(text, 400)


@settings(max_examples=60, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("aab  bcé\n🎉x"), max_size=120),
    st.integers(256, 320),
    st.sampled_from(["gpt4", None]),
)
def test_incremental_equals_naive_property(text, vocab_size, pattern):
    tokenizer = BPETokenizer.train(text, vocab_size, pattern=pattern)
    assert (tokenizer.vocab, tokenizer.merges) == naive_train(text, vocab_size, pattern)


@settings(max_examples=60, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("ab s'T1 \n\r\t.\x1c"), max_size=150),
    st.integers(256, 330),
    st.sampled_from(["gpt2", "gpt4"]),
)
def test_incremental_equals_naive_on_ascii_property(text, vocab_size, pattern):
    # ASCII text goes through the split pattern's twin in re; the naive trainer through regex
    tokenizer = BPETokenizer.train(text, vocab_size, pattern=pattern)
    assert (tokenizer.vocab, tokenizer.merges) == naive_train(text, vocab_size, pattern)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([1, 2, 3]), max_size=12),
    st.sampled_from([(1, 2), (1, 1), (2, 1)]),
    st.integers(1, 5),
)
def test_merge_and_count_changes_the_counts_as_a_recount_would(ids, pair, weight):
    delta, where = defaultdict(int), defaultdict(set)
    merged = merge_and_count(ids, pair, 9, weight, delta, where, 7)
    assert merged == merge_pair(ids, pair, 9)
    before, after = pair_counts(ids, weight=weight), pair_counts(merged, weight=weight)
    for p in before.keys() | after.keys() | delta.keys():
        assert before.get(p, 0) + delta.get(p, 0) == after.get(p, 0), p
    # where may hold more (a superset: [1, 1, 1, 1] passes through (9, 1)), never less
    assert {p for p in after if 9 in p} <= {p for p, chunks in where.items() if chunks == {7}}
    assert all(9 in p for p in where)


def test_ties_go_to_the_smallest_pair():
    _, merges = train_bpe({b"cd": 2, b"ab": 2}, 258)  # both pairs occur twice
    assert merges == [(97, 98), (99, 100)]
    # chunks "ab", " cd" x2, " ef" x2, ... " ab": many pairs occur twice; (32, 99) is smallest
    assert BPETokenizer.train(TEXTS["ties"], 257).merges == [(32, 99)]


def test_counts_are_weighted_by_chunk_frequency():
    # "xy" occurs 5 times as one unique chunk, "ab" 3 times: (120, 121) wins
    vocab, merges = train_bpe({b"ab": 3, b"xy": 5}, 257)
    assert merges == [(120, 121)] and vocab[-1] == b"xy"


def test_helpers_worked_examples():
    assert pair_counts([1, 2, 3, 1, 2]) == {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    assert pair_counts([5, 5, 5], {(5, 5): 1}, weight=2) == {(5, 5): 5}
    assert merge_pair([1, 2, 3, 1, 2], (1, 2), 4) == [4, 3, 4]
    assert merge_pair([5, 5, 5], (5, 5), 6) == [6, 5]
    delta, where = defaultdict(int), defaultdict(set)
    assert merge_and_count([1, 2, 3, 1, 2], (1, 2), 4, 1, delta, where, 0) == [4, 3, 4]
    assert delta == {(1, 2): -2, (2, 3): -1, (4, 3): 1, (3, 1): -1, (3, 4): 1}
    assert where == {(4, 3): {0}, (3, 4): {0}}
    vocab, ids = [b"a", b"b"], {b"a": 0, b"b": 1}
    assert add_token(vocab, ids, b"ab") == 2 and add_token(vocab, ids, b"ab") == 2
    assert vocab == [b"a", b"b", b"ab"]


def test_verbose_prints_each_merge(capsys):
    BPETokenizer.train("hello hello", 258, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("merge ")
