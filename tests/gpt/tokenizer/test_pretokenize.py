"""Split patterns: known splits, no character lost, pattern names and errors, special splitting."""

from __future__ import annotations

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from dlf.gpt.tokenizer.pretokenize import (
    GPT2_SPLIT_PATTERN,
    GPT4_SPLIT_PATTERN,
    resolve_pattern,
    special_splitter,
    split_chunks,
)


@pytest.mark.parametrize(
    "pattern, text, chunks",
    [
        (GPT2_SPLIT_PATTERN, "Hello world!!  ok", ["Hello", " world", "!!", " ", " ok"]),
        (GPT2_SPLIT_PATTERN, "I'm 12345 you'RE", ["I", "'m", " 12345", " you", "'", "RE"]),
        (GPT4_SPLIT_PATTERN, "I'm 12345 you'RE", ["I", "'m", " ", "123", "45", " you", "'RE"]),
        (GPT4_SPLIT_PATTERN, "a\n\n  b", ["a", "\n\n", " ", " b"]),
        (GPT4_SPLIT_PATTERN, "(hello)", ["(hello", ")"]),
        (GPT4_SPLIT_PATTERN, "end  ", ["end", "  "]),
    ],
)
def test_known_splits(pattern, text, chunks):
    assert split_chunks(text, regex.compile(pattern)) == chunks


@settings(max_examples=200, deadline=None)
@given(st.text(), st.sampled_from([GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN]))
def test_chunks_cover_the_text(text, pattern):
    assert "".join(split_chunks(text, regex.compile(pattern))) == text


def test_no_pattern_is_one_chunk():
    assert split_chunks("a b", None) == ["a b"]
    assert split_chunks("", None) == []


def test_resolve_pattern():
    assert resolve_pattern("gpt2") == GPT2_SPLIT_PATTERN
    assert resolve_pattern("gpt4") == GPT4_SPLIT_PATTERN
    assert resolve_pattern(None) is None
    assert resolve_pattern(r"\w+|\W") == r"\w+|\W"
    with pytest.raises(ValueError, match="neither a known name"):
        resolve_pattern("(gpt5")


def test_special_splitter_keeps_specials_at_odd_positions():
    splitter = special_splitter(["<|a|>", "<|a|>x"])
    assert splitter.split("1<|a|>x2<|a|>") == ["1", "<|a|>x", "2", "<|a|>", ""]
    assert special_splitter([]) is None
