"""Pre-splitting text into chunks before BPE, as GPT-2 and GPT-4 do.

BPE never merges across chunk boundaries, so a regex first cuts text into words, numbers,
punctuation runs and whitespace runs; merges then happen inside each chunk. The two patterns are
the ones tiktoken uses for GPT-2 (``r50k_base``) and GPT-4 (``cl100k_base``). They need the
``regex`` module (``\\p{L}``: any letter, ``\\p{N}``: any number, possessive ``++``).

Most text is plain ASCII, and on ASCII text each GPT pattern has a twin written for the standard
library's ``re`` (see :data:`ASCII_SPLIT_PATTERNS`), which finds the same chunks in less time.
:class:`Splitter` picks the twin when the text is ASCII and ``regex`` otherwise.
"""

from __future__ import annotations

import re

import regex

GPT2_SPLIT_PATTERN = (
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
)
"""GPT-2: contractions, `` ?letters``, `` ?numbers``, `` ?other``, whitespace runs (the last
space of a run is left to start the next word)."""

GPT4_SPLIT_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
"""GPT-4 (cl100k): as GPT-2, but case-insensitive contractions, numbers in groups of at most
three digits, one leading non-letter allowed before a word, newlines kept apart."""

SPLIT_PATTERNS: dict[str, str] = {"gpt2": GPT2_SPLIT_PATTERN, "gpt4": GPT4_SPLIT_PATTERN}

ASCII_SPLIT_PATTERNS: dict[str, str] = {
    GPT2_SPLIT_PATTERN: (
        r"""'(?:[sdmt]|ll|ve|re)| ?[A-Za-z]++| ?[0-9]++| ?[^\sA-Za-z0-9]++|\s++$|\s+(?!\S)|\s"""
    ),
    GPT4_SPLIT_PATTERN: (
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\nA-Za-z0-9]?+[A-Za-z]++|[0-9]{1,3}+"""
        r"""| ?[^\sA-Za-z0-9]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
    ),
}
"""Each GPT pattern -> its twin for ASCII text, compiled with ``re`` and the ``re.ASCII`` flag.

The twin is the pattern with ``\\p{L}`` written ``A-Za-z`` and ``\\p{N}`` written ``0-9``: the
letters and numbers that ASCII holds. ``\\s`` stays: under ``re.ASCII`` it is
``[ \\t\\n\\v\\f\\r]``, the same six ASCII characters as ``regex``'s ``\\s`` (plain ``re`` would
add ``\\x1c``-``\\x1f``), and ``(?i:...)`` folds the same ASCII letters in both. On text that is
all ASCII, the twin therefore finds the same chunks as the pattern."""


def resolve_pattern(pattern: str | None) -> str | None:
    """The regex for ``pattern``: ``"gpt2"`` or ``"gpt4"`` by name, any other string as a regex,
    ``None`` for no pre-splitting (the whole text is one chunk).

    Example: ``resolve_pattern("gpt2") == GPT2_SPLIT_PATTERN``; ``resolve_pattern(r"\\w+|\\W+")``
    -> ``r"\\w+|\\W+"``. Raises ValueError for a string that does not compile, or that has a
    capturing group (the chunks are the whole matches: write ``(?:...)``).
    """
    if pattern is None:
        return None
    pattern = SPLIT_PATTERNS.get(pattern, pattern)
    try:
        compiled = regex.compile(pattern)
    except regex.error as err:
        names = ", ".join(f'"{n}"' for n in SPLIT_PATTERNS)
        raise ValueError(
            f"split pattern {pattern!r} is neither a known name ({names}) nor a valid regex: {err}"
        ) from None
    if compiled.groups:
        raise ValueError(
            f"split pattern '{pattern}' has a capturing group; chunks are whole matches: "
            "write (?:...) instead of (...)"
        )
    return pattern


def split_chunks(text: str, compiled: regex.Pattern | None) -> list[str]:
    """The chunks of ``text`` under a compiled split pattern (``None``: one chunk).

    The chunks concatenate back to ``text`` for the GPT patterns (every character is matched).
    Example (GPT-2): ``"Hello world!!  ok"`` -> ``["Hello", " world", "!!", " ", " ok"]``.
    """
    if compiled is None:
        return [text] if text else []
    return compiled.findall(text)


def compile_ascii_twin(pattern: str | None) -> re.Pattern | None:
    """The compiled ASCII twin of ``pattern`` (:data:`ASCII_SPLIT_PATTERNS`), or None when the
    pattern has none, or when this Python's ``re`` lacks possessive quantifiers (before 3.11).

    Example: ``compile_ascii_twin(GPT2_SPLIT_PATTERN).findall("I'm ok")`` -> ``["I", "'m", " ok"]``.
    """
    twin = ASCII_SPLIT_PATTERNS.get(pattern)
    if twin is None:
        return None
    try:
        return re.compile(twin, re.ASCII)
    except re.error:
        return None


class Splitter:
    """``text -> chunks`` under one split pattern (a regex, or ``None``: one chunk).

    ASCII text under a GPT pattern is split by the pattern's ASCII twin in ``re``; any other
    text or pattern by ``regex``. Both give the same chunks (:data:`ASCII_SPLIT_PATTERNS`).
    Example: ``Splitter(GPT2_SPLIT_PATTERN)("Hello world!!")`` -> ``["Hello", " world", "!!"]``.
    """

    def __init__(self, pattern: str | None):
        self.pattern = pattern
        self.compiled = None if pattern is None else regex.compile(pattern)
        self.ascii = compile_ascii_twin(pattern)

    def __call__(self, text: str) -> list[str]:
        if self.ascii is not None and text.isascii():
            return self.ascii.findall(text)
        return split_chunks(text, self.compiled)


def first_gap(text: str, compiled: regex.Pattern) -> tuple[int, int] | None:
    """The first stretch ``(start, end)`` of ``text`` that no match of ``compiled`` covers (text
    the chunks would lose), or None if the matches cover it all.

    Example: ``first_gap("hi, yo!", regex.compile(r"\\w+"))`` -> ``(2, 4)`` (the ``", "``).
    """
    position = 0
    for match in compiled.finditer(text):
        if match.start() > position:
            return position, match.start()
        position = max(position, match.end())
    return (position, len(text)) if position < len(text) else None


def special_splitter(specials: list[str] | set[str] | tuple[str, ...]) -> re.Pattern | None:
    """A regex whose ``split`` cuts text around the special tokens, keeping them as pieces.

    Longer specials are tried first, so ``"<|a|>"`` and ``"<|a|>x"`` never shadow one another.
    Example: ``special_splitter(["<|endoftext|>"]).split("a<|endoftext|>b")``
    -> ``["a", "<|endoftext|>", "b"]`` (special pieces sit at the odd positions).
    """
    if not specials:
        return None
    alternatives = "|".join(re.escape(s) for s in sorted(specials, key=lambda s: (-len(s), s)))
    return re.compile(f"({alternatives})")
