"""The chunk merge rule: scan and heap versions agree with each other and with the naive
reference; the whole-chunk shortcut; the worked example."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlf.bench.bpe import naive_encode
from dlf.gpt.tokenizer import BPETokenizer
from dlf.gpt.tokenizer.merge import bpe_merge, bpe_merge_heap, bpe_merge_scan

from .samples import MULTILINGUAL


def test_worked_example():
    ranks = {b"a": 0, b"b": 1, b"c": 2, b"ab": 3, b"bc": 4}
    for merge in (bpe_merge, bpe_merge_scan, bpe_merge_heap):
        assert merge(b"abc", ranks) == [3, 2]
        assert merge(b"a", ranks) == [0]


def test_whole_chunk_that_is_a_token_is_one_token():
    # "abc" is a token although no pair merges into it from (ab, c) or (a, bc) here
    ranks = {b"a": 0, b"b": 1, b"c": 2, b"abc": 3}
    assert bpe_merge(b"abc", ranks) == [3]
    assert bpe_merge_scan(b"abc", ranks) == [0, 1, 2]


@pytest.fixture(scope="module")
def tokenizer() -> BPETokenizer:
    return BPETokenizer.train(MULTILINGUAL * 5 + "aaaa bbbb abab " * 5, 420, pattern="gpt2")


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=600) | st.text(max_size=300).map(str.encode).filter(len))
def test_scan_and_heap_agree(tokenizer, piece):
    assert bpe_merge_scan(piece, tokenizer.ranks) == bpe_merge_heap(piece, tokenizer.ranks)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from("aab c🎉é日本 \n"), max_size=300))
def test_scan_and_heap_agree_on_merge_heavy_text(tokenizer, text):
    piece = text.encode()
    if piece:
        assert bpe_merge_scan(piece, tokenizer.ranks) == bpe_merge_heap(piece, tokenizer.ranks)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=100))
def test_encode_equals_naive_reference(tokenizer, text):
    assert tokenizer.encode(text) == naive_encode(text, tokenizer.vocab, "gpt2")


def test_long_chunk_goes_through_the_heap(tokenizer):
    piece = ("abab" * 200).encode()
    assert len(piece) > 256
    assert bpe_merge(piece, tokenizer.ranks) == bpe_merge_scan(piece, tokenizer.ranks)
    assert tokenizer.decode(bpe_merge(piece, tokenizer.ranks)) == "abab" * 200
