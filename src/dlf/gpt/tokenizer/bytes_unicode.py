"""GPT-2's reversible table between the 256 byte values and 256 printable Unicode characters.

GPT-2 stores its byte-level tokens as text (``encoder.json``, ``vocab.bpe``). Bytes that are
printable Latin-1 characters stand for themselves; the other 68 (control characters, space,
``\\xad``...) are shifted to U+0100 onwards, in byte order. So the space byte 0x20 is ``"Ġ"``
(U+0120) and the GPT-2 token ``b" the"`` is written ``"Ġthe"``.
"""

from __future__ import annotations

from functools import cache


@cache
def bytes_to_unicode() -> dict[int, str]:
    """The table byte value -> printable character (256 entries, a bijection).

    Rule: the bytes in ``!..~``, ``¡..¬`` and ``®..ÿ`` map to the character with the same code
    point; the remaining bytes, in increasing order, map to U+0100, U+0101, ...
    Example: ``bytes_to_unicode()[ord("a")]`` -> ``"a"``, ``[0x20]`` -> ``"Ġ"``, ``[0]`` -> ``"Ā"``.
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    printable += range(ord("®"), ord("ÿ") + 1)
    table = {b: chr(b) for b in printable}
    shifted = (b for b in range(256) if b not in table)
    for offset, b in enumerate(shifted):
        table[b] = chr(256 + offset)
    return dict(sorted(table.items()))


@cache
def unicode_to_bytes() -> dict[str, int]:
    """The inverse of :func:`bytes_to_unicode`: printable character -> byte value."""
    return {c: b for b, c in bytes_to_unicode().items()}


@cache
def _translation_tables() -> tuple[dict[int, str], dict[int, str]]:
    # str.translate tables between Latin-1 text (one character per byte) and printable form;
    # Latin-1 characters that are not stand-ins map to U+FFFF, which has no Latin-1 byte.
    to_printable = {b: c for b, c in bytes_to_unicode().items()}
    to_latin1 = {cp: "\uffff" for cp in range(256)}
    to_latin1.update({ord(c): chr(b) for b, c in bytes_to_unicode().items()})
    return to_printable, to_latin1


def token_to_str(token: bytes) -> str:
    """A token's bytes written in GPT-2's printable form.

    Example: ``token_to_str(b" the")`` -> ``"Ġthe"``; ``token_to_str(b"\\n")`` -> ``"Ċ"``.
    """
    return token.decode("latin-1").translate(_translation_tables()[0])


def str_to_token(text: str) -> bytes:
    """The bytes of a token written in GPT-2's printable form (inverse of :func:`token_to_str`).

    Example: ``str_to_token("Ġthe")`` -> ``b" the"``. Raises ValueError for a character that is
    not in the table (such a string was not written by :func:`token_to_str`).
    """
    try:
        return text.translate(_translation_tables()[1]).encode("latin-1")
    except UnicodeEncodeError as err:
        raise ValueError(
            f"{text!r} is not a byte-level token: character {text[err.start]!r} is not one of the "
            "256 printable stand-ins of GPT-2's byte table"
        ) from None
