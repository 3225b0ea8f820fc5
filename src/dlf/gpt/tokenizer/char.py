"""Character-level tokenizer: one id per distinct character (nanoGPT's shakespeare_char)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

FORMAT = "dlf.gpt.tokenizer.CharTokenizer"
VERSION = 1


def read_json(path: str | os.PathLike):
    """The JSON value in the file ``path``; a file that is not UTF-8 JSON is a ValueError naming
    it. Example: a file holding ``{"a": 1}`` -> ``{"a": 1}``; one holding ``{a`` -> ValueError."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except ValueError as err:  # JSONDecodeError and UnicodeDecodeError alike
        raise ValueError(f"{path} is not a JSON file ({err})") from None


class CharTokenizer:
    """Token i is the i-th character of ``chars`` (the sorted distinct characters of a text).

    ``encode``: a string of n characters -> n ids; ``decode``: ids -> string. ``vocab_size`` =
    ``len(chars)`` (65 for Tiny Shakespeare).
    Example: ``CharTokenizer.from_text("hello")``: chars ``"ehlo"``, ``encode("hole")`` ->
    ``[1, 3, 2, 0]``.
    """

    def __init__(self, chars: Sequence[str]):
        self.chars = list(chars)
        if any(not isinstance(c, str) or len(c) != 1 for c in self.chars):
            raise ValueError("chars must be single characters")
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("chars must be distinct")
        self.stoi = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        """The tokenizer of ``text``'s distinct characters, in code-point order."""
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        """Number of characters (ids are 0..vocab_size-1)."""
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        """Ids of the characters of ``text`` (n characters -> n ids).

        Raises ValueError naming every character that is not in the vocabulary.
        """
        stoi = self.stoi
        try:
            return [stoi[c] for c in text]
        except KeyError:
            unknown = sorted(set(text) - stoi.keys())
            raise ValueError(
                f"{len(unknown)} character(s) not in this tokenizer's vocabulary: "
                f"{', '.join(repr(c) for c in unknown[:20])}; build it from a text that holds "
                "them (CharTokenizer.from_text) or remove them"
            ) from None

    def decode(self, ids: Iterable[int]) -> str:
        """The string of the ids (a list, or an array/tensor with ``tolist``)."""
        ids = ids.tolist() if hasattr(ids, "tolist") else list(ids)
        chars = self.chars
        bad = [i for i in ids if not 0 <= i < len(chars)]
        if bad:
            raise ValueError(f"token id {bad[0]} is outside 0..{len(chars) - 1}")
        return "".join([chars[i] for i in ids])

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``{"format", "version", "chars": [...]}`` as JSON, atomically."""
        from dlf.runs.atomic import atomic_write_text

        data = {"format": FORMAT, "version": VERSION, "chars": self.chars}
        return atomic_write_text(path, json.dumps(data, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> CharTokenizer:
        """A tokenizer written by :meth:`save`; anything else is a ValueError naming ``path``."""
        data = read_json(path)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f'{path} is not a CharTokenizer file (no "format": "{FORMAT}")')
        if data.get("version") != VERSION:
            raise ValueError(f"{path}: version {data.get('version')} is not supported")
        chars = data.get("chars")
        if not isinstance(chars, list):
            raise ValueError(f'{path}: "chars" must be a list of characters, got {chars!r:.40}')
        try:
            return cls(chars)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CharTokenizer):
            return NotImplemented
        return self.chars == other.chars

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"
