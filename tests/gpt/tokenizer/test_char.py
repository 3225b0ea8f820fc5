"""CharTokenizer: vocabulary, round trip, errors, save/load."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlf.gpt.tokenizer import CharTokenizer


def test_vocabulary_is_the_sorted_distinct_characters():
    tokenizer = CharTokenizer.from_text("hello")
    assert tokenizer.chars == ["e", "h", "l", "o"] and tokenizer.vocab_size == 4
    assert tokenizer.encode("hole") == [1, 3, 2, 0]
    assert tokenizer.decode([1, 3, 2, 0]) == "hole"


def test_shakespeare_has_65_characters(shakespeare):
    tokenizer = CharTokenizer.from_text(shakespeare)
    assert tokenizer.vocab_size == 65
    assert tokenizer.decode(tokenizer.encode(shakespeare[:5000])) == shakespeare[:5000]


@given(st.text(min_size=1))
def test_round_trip(text):
    tokenizer = CharTokenizer.from_text(text)
    ids = tokenizer.encode(text)
    assert len(ids) == len(text) and tokenizer.decode(ids) == text


def test_unknown_characters_are_named():
    tokenizer = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match=r"2 character\(s\).*'x', 'é'"):
        tokenizer.encode("abxéx")


@pytest.mark.parametrize("bad", [-1, 3])
def test_decode_rejects_unknown_ids(bad):
    with pytest.raises(ValueError, match=f"token id {bad} "):
        CharTokenizer.from_text("abc").decode([0, bad])


def test_constructor_checks_characters():
    with pytest.raises(ValueError, match="distinct"):
        CharTokenizer(["a", "a"])
    with pytest.raises(ValueError, match="single characters"):
        CharTokenizer(["ab"])


def test_save_load(tmp_path):
    tokenizer = CharTokenizer.from_text("Hello, World!\n\tÜ🎉")
    path = tokenizer.save(tmp_path / "chars.json")
    assert [p.name for p in tmp_path.iterdir()] == ["chars.json"]
    assert CharTokenizer.load(path) == tokenizer
    path.write_text(json.dumps({"format": "x"}), encoding="utf-8")
    with pytest.raises(ValueError, match="not a CharTokenizer file"):
        CharTokenizer.load(path)
