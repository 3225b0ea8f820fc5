"""TextStream ends exactly at a stop string, shown only when asked, for any tokenization."""

from __future__ import annotations

import pytest

from dlf.gpt.stream import TextStream, first_stop
from dlf.gpt.tokenizer import BPETokenizer, CharTokenizer

TEXT = "ab\nba\n\nab<|endoftext|>ba\n\nzz"


class Counted:
    """An iterable of ids that counts how many were pulled (the model calls)."""

    def __init__(self, ids):
        self.ids, self.pulled = list(ids), 0

    def __iter__(self):
        for i in self.ids:
            self.pulled += 1
            yield i


def char_tokenizer():
    return CharTokenizer.from_text(TEXT + "é")


def bpe_tokenizer():
    return BPETokenizer.train(TEXT * 20, 270, pattern=None, special_tokens=["<|endoftext|>"])


def reference(text: str, stops: list[str], include_stop: bool) -> str:
    """The text up to the earliest stop (longest at a tie), by brute force over positions."""
    for i in range(len(text)):
        hits = [s for s in stops if text.startswith(s, i)]
        if hits:
            stop = max(hits, key=len)
            return text[: i + len(stop)] if include_stop else text[:i]
    return text


@pytest.mark.parametrize("make", [char_tokenizer, bpe_tokenizer])
@pytest.mark.parametrize(
    "stops", [[], ["\n\n"], ["<|endoftext|>"], ["ba", "\n\n"], ["zz"], ["nothere"], ["\n", "\n\n"]]
)
@pytest.mark.parametrize("include_stop", [False, True])
def test_stream_ends_exactly_at_the_stop(make, stops, include_stop):
    tokenizer = make()
    ids = tokenizer.encode(TEXT, **({"allowed_special": "all"} if make is bpe_tokenizer else {}))
    assert tokenizer.decode(ids) == TEXT
    tokens = Counted(ids)
    stream = TextStream(tokens, tokenizer, stops, include_stop)
    pieces = list(stream)
    expected = reference(TEXT, stops, include_stop)
    assert "".join(pieces) == expected
    assert all(pieces)  # no empty pieces
    if stream.stopped_by is not None:
        # no token was pulled after the one that completed the stop string
        shown = reference(TEXT, stops, True)
        assert len(tokenizer.decode(ids[: tokens.pulled - 1])) < len(shown)
        assert len(tokenizer.decode(ids[: tokens.pulled])) >= len(shown)
    else:
        assert tokens.pulled == len(ids)


def test_text_is_streamed_before_the_end_and_the_stop_prefix_is_held_back():
    tokenizer = char_tokenizer()
    stream = iter(TextStream(tokenizer.encode("ab\nba\n\nzz"), tokenizer, ["\n\n"]))
    assert next(stream) == "a"
    assert next(stream) == "b"
    assert next(stream) == "\nb"  # "\n" was held back until "b" showed it was not "\n\n"
    assert next(stream) == "a"
    assert list(stream) == []  # "\n\n": the end, not shown


def test_held_text_is_what_an_interrupt_would_lose():
    tokenizer = char_tokenizer()

    def interrupted():
        yield from tokenizer.encode("ab\n")
        raise KeyboardInterrupt

    text_stream = TextStream(interrupted(), tokenizer, ["\n\n"])
    shown = []
    with pytest.raises(KeyboardInterrupt):
        for piece in text_stream:
            shown.append(piece)
    assert "".join(shown) == "ab"
    assert text_stream.held() == "\n"  # held back as a possible start of "\n\n"


def test_a_character_split_over_byte_tokens_is_shown_whole():
    tokenizer = BPETokenizer.train("plain ascii text", 256, pattern=None)  # bytes only
    ids = tokenizer.encode("aé€b")
    assert len(ids) == 1 + 2 + 3 + 1
    stream = TextStream(ids, tokenizer)
    pieces = list(stream)
    assert "".join(pieces) == "aé€b" and "\ufffd" not in "".join(pieces)
    partial = TextStream(ids[:2], tokenizer)  # "a" and half of "é"
    it = iter(partial)
    assert next(it) == "a"
    assert partial.held() == ""  # nothing decoded yet ...
    assert list(it) == ["\ufffd"]  # ... and an unfinished character at the very end


@pytest.mark.parametrize(
    ("text", "stops", "expected"),
    [
        ("ab\n\ncd", ["\n\n", "c"], (2, "\n\n")),
        ("abc", ["x"], None),
        ("aab", ["a", "aa"], (0, "aa")),
    ],
)
def test_first_stop(text, stops, expected):
    assert first_stop(text, stops) == expected
