"""Split patterns: known splits, no character lost, pattern names and errors, special splitting,
and the ASCII twins in ``re`` that must find the same chunks as the patterns."""

from __future__ import annotations

import re

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from dlf.gpt.tokenizer.pretokenize import (
    ASCII_SPLIT_PATTERNS,
    GPT2_SPLIT_PATTERN,
    GPT4_SPLIT_PATTERN,
    Splitter,
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


# -- the ASCII twins in the standard library's re -------------------------------------------

ASCII_CHARS = [chr(i) for i in range(128)]
TWINS = list(ASCII_SPLIT_PATTERNS.items())
TRICKY_ASCII = {
    "contractions": "I'm you'RE we'Ve they'LL 's 't '' 'x don't DON'T",
    "whitespace runs": "a  b   c\t\td\n\ne \r\n f \x0b\x0c g   \n  h",
    "ends in spaces": "end   ",
    "ends in newline": "line one\nline two  \n",
    "ends in spaces then newline": "x  \n",
    "only whitespace": " \t\n\r\x0b\x0c ",
    "separators that plain re calls space": "a\x1cb \x1d\x1e\x1f c\x1c \x1c",
    "numbers": "1 12 123 1234 12345 3.14 -42 1e10 0x1F 1,000,000",
    "punctuation": "!!!??? ...--- ***### @@@ (hello) [x]{y} a.b,c;d:e",
    "punctuation then newlines": "end.\n\n\nnext!\r\n\r\nok",
    "code": "def f(x):\n    return x**2  # sq\n\tif a<b: pass\n",
    "control": "\x00\x01\x1b[31mred\x1b[0m\x7f",
}


@pytest.mark.parametrize("char", ASCII_CHARS, ids=[f"{ord(c):#04x}" for c in ASCII_CHARS])
def test_ascii_twin_classes_equal_the_unicode_ones_on_ascii(char):
    """The twins rest on three facts, checked on every ASCII character."""
    assert bool(regex.match(r"\p{L}", char)) == bool(re.match("[A-Za-z]", char))
    assert bool(regex.match(r"\p{N}", char)) == bool(re.match("[0-9]", char))
    assert bool(regex.match(r"\s", char)) == bool(re.match(r"\s", char, re.ASCII))
    for letter in "sdmtlvre":
        folds = bool(regex.match(f"(?i:{letter})", char))
        assert folds == bool(re.match(f"(?i:{letter})", char, re.ASCII))


@pytest.mark.parametrize("name", list(TRICKY_ASCII))
@pytest.mark.parametrize(("pattern", "twin"), TWINS, ids=["gpt2", "gpt4"])
def test_ascii_twin_gives_the_same_chunks_on_tricky_text(pattern, twin, name):
    text = TRICKY_ASCII[name]
    assert re.compile(twin, re.ASCII).findall(text) == regex.findall(pattern, text)
    assert Splitter(pattern)(text) == regex.findall(pattern, text)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.characters(max_codepoint=127), max_size=80)
    | st.text(alphabet=st.sampled_from("aZ9 '\n\r\t.s\x0b\x1c"), max_size=80),
    st.sampled_from(TWINS),
)
def test_ascii_twin_gives_the_same_chunks_property(text, pattern_and_twin):
    pattern, twin = pattern_and_twin
    assert re.compile(twin, re.ASCII).findall(text) == regex.findall(pattern, text)


def test_ascii_twin_gives_the_same_chunks_on_shakespeare(shakespeare):
    assert shakespeare.isascii()  # else this test would not exercise the twin
    for pattern, twin in TWINS:
        chunks = re.compile(twin, re.ASCII).findall(shakespeare)
        assert chunks == regex.findall(pattern, shakespeare)


def test_the_ascii_flag_matters():
    # without re.ASCII, re's \s also takes U+001C..U+001F, which the GPT patterns leave alone
    text = "a\x1c\x1cb"
    twin = ASCII_SPLIT_PATTERNS[GPT2_SPLIT_PATTERN]
    assert re.findall(twin, text) != regex.findall(GPT2_SPLIT_PATTERN, text)
    assert re.findall(twin, text, re.ASCII) == regex.findall(GPT2_SPLIT_PATTERN, text)


def test_splitter_uses_regex_for_other_text_and_patterns():
    gpt2 = Splitter(GPT2_SPLIT_PATTERN)
    assert gpt2.ascii is not None
    assert gpt2("Grüße, naïve") == ["Gr\u00fc\u00dfe", ",", " na\u00efve"]  # not ASCII: regex
    custom = Splitter(r"\w+|\W")
    assert custom.ascii is None and custom("a b") == ["a", " ", "b"]
    assert Splitter(None)("a b") == ["a b"] and Splitter(None)("") == []
