"""GPT-2's byte <-> printable character table."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlf.gpt.tokenizer.bytes_unicode import (
    bytes_to_unicode,
    str_to_token,
    token_to_str,
    unicode_to_bytes,
)


def test_table_is_a_printable_bijection():
    table = bytes_to_unicode()
    assert sorted(table) == list(range(256))
    assert len(set(table.values())) == 256
    assert all(c.isprintable() and not c.isspace() for c in table.values())
    assert unicode_to_bytes() == {c: b for b, c in table.items()}


@pytest.mark.parametrize(
    "byte, char",
    [(ord("a"), "a"), (ord("!"), "!"), (0x20, "Ġ"), (0x0A, "Ċ"), (0, "Ā"), (0xAD, "Ń")],
)
def test_known_entries(byte, char):
    assert bytes_to_unicode()[byte] == char


@given(st.binary(max_size=50))
def test_token_round_trip(token):
    assert str_to_token(token_to_str(token)) == token


@pytest.mark.parametrize("bad", ["a b", "\x00", "€"])
def test_str_to_token_rejects_non_stand_ins(bad):
    with pytest.raises(ValueError, match="not one of the 256"):
        str_to_token(bad)
