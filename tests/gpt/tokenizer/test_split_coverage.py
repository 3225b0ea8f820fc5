"""A BPE split pattern must cover the text it is trained on: a pattern whose matches skip part of
it (``\\w+`` drops ", " and "!") is refused when training starts. Saved tokenizer files that are
not what they claim are a ValueError naming the file."""

from __future__ import annotations

import json

import pytest
import regex

from dlf.gpt.tokenizer import BPETokenizer, CharTokenizer
from dlf.gpt.tokenizer.bytes_unicode import token_to_str
from dlf.gpt.tokenizer.pretokenize import first_gap, resolve_pattern

from .samples import MULTILINGUAL, SPECIALS

TEXT = "Hello, world!  It's 2024...\n\tok\r\n" + MULTILINGUAL


@pytest.mark.parametrize(
    ("text", "pattern", "gap"),
    [
        ("hi, yo!", r"\w+", (2, 4)),
        ("hi yo", r"\w+|\s+", None),
        ("  hi", r"\w+", (0, 2)),
        ("hi!", r"\w+", (2, 3)),
        ("", r"\w+", None),
        ("a,b", r"\w*", (1, 2)),
    ],
)
def test_first_gap(text, pattern, gap):
    assert first_gap(text, regex.compile(pattern)) == gap


@pytest.mark.parametrize("pattern", ["gpt2", "gpt4", None, r"\w+|\s+|[^\w\s]+", r"(?s:.)"])
def test_a_pattern_that_covers_the_text_trains_and_round_trips(pattern):
    tok = BPETokenizer.train(TEXT * 3, 300, pattern=pattern, special_tokens=SPECIALS)
    assert tok.decode(tok.encode(TEXT)) == TEXT


@pytest.mark.parametrize(
    ("pattern", "lost"),
    [
        (r"\w+", "', '"),  # the pattern: drops punctuation and spaces
        (r"\w+|\s+", "','"),
        (r"[^\n]+", "'\\n'"),
        (r"\w*", "','"),  # empty matches cover nothing
        (r"\p{L}+|\s+|[^\s\p{L}]", None),  # covers all: no error
    ],
)
def test_a_pattern_that_loses_text_is_refused(pattern, lost):
    if lost is None:
        BPETokenizer.train(TEXT, 260, pattern=pattern)
        return
    with pytest.raises(ValueError, match="loses text") as info:
        BPETokenizer.train(TEXT, 260, pattern=pattern)
    assert f"no match covers {lost}" in str(info.value)


def test_text_lost_only_between_special_tokens_is_found_too():
    text = "abc<|endoftext|>abc, abc"
    BPETokenizer.train("abc<|endoftext|>abc", 260, pattern=r"\w+", special_tokens=SPECIALS)
    with pytest.raises(ValueError, match="no match covers ', '"):
        BPETokenizer.train(text, 260, pattern=r"\w+", special_tokens=SPECIALS)


def test_a_capturing_group_is_refused():
    with pytest.raises(ValueError, match="capturing group"):
        resolve_pattern(r"(\w+)|\W+")
    assert resolve_pattern(r"(?:\w+)|\W+") == r"(?:\w+)|\W+"


def _bpe_file(**changes) -> dict:
    data = {"format": "dlf.gpt.tokenizer.BPETokenizer", "version": 1, "pattern": None,
            "special_tokens": {}, "vocab": [token_to_str(bytes([b])) for b in range(256)],
            "merges": []}  # fmt: skip
    return {**data, **changes}


BAD_FILES = {
    "not JSON": ("{", BPETokenizer, "is not a JSON file"),
    "an array": ([1], BPETokenizer, "is not a BPETokenizer file"),
    "no merges": (
        {k: v for k, v in _bpe_file().items() if k != "merges"},
        BPETokenizer,
        "'merges' is missing",
    ),
    "a number as a token": (_bpe_file(vocab=[1] * 256), BPETokenizer, "tok.json:"),
    "a merge of numbers": (_bpe_file(merges=[3]), BPETokenizer, "tok.json:"),
    "special tokens as a list": (
        _bpe_file(special_tokens=["<|x|>"]),
        BPETokenizer,
        "'special_tokens' is missing or of the wrong kind",
    ),
    "chars a number": (
        {"format": "dlf.gpt.tokenizer.CharTokenizer", "version": 1, "chars": 5},
        CharTokenizer,
        '"chars" must be a list',
    ),
    "chars repeated": (
        {"format": "dlf.gpt.tokenizer.CharTokenizer", "version": 1, "chars": ["a", "a"]},
        CharTokenizer,
        "chars must be distinct",
    ),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_bad_tokenizer_file_is_a_value_error_naming_it(tmp_path, kind):
    content, cls, words = BAD_FILES[kind]
    path = tmp_path / "tok.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(ValueError, match=regex.escape(words)) as info:
        cls.load(path)
    assert str(path) in str(info.value)


def test_a_good_file_still_loads(tmp_path):
    path = tmp_path / "tok.json"
    path.write_text(json.dumps(_bpe_file()))
    assert BPETokenizer.load(path).vocab_size == 256
