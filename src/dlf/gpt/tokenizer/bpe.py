"""Byte-level BPE tokenizer: train on a text, encode, decode, save, load, and load GPT-2's.

Text -> UTF-8 bytes -> ids in three steps (the pipeline of GPT-2 and GPT-4):

1. special tokens (``<|endoftext|>``...) are cut out first and map to their own ids, whole;
2. a regex splits the rest into chunks (words, numbers, punctuation, whitespace runs);
3. each chunk's bytes are merged into tokens by the rule of :mod:`.merge`.

Decoding concatenates the tokens' bytes and reads them as UTF-8. Any string round-trips:
``decode(encode(s)) == s``, since every byte is a token.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from pathlib import Path
from typing import Literal

from dlf.gpt.tokenizer.bytes_unicode import str_to_token, token_to_str
from dlf.gpt.tokenizer.char import read_json
from dlf.gpt.tokenizer.merge import bpe_merge
from dlf.gpt.tokenizer.pretokenize import Splitter, first_gap, resolve_pattern, special_splitter
from dlf.gpt.tokenizer.train import train_bpe

FORMAT = "dlf.gpt.tokenizer.BPETokenizer"
VERSION = 1
GPT2_SPECIAL_TOKENS = ("<|endoftext|>",)

AllowedSpecial = Literal["all", "none"] | set[str] | frozenset[str]


class BPETokenizer:
    """A byte-level BPE tokenizer (GPT-2 / GPT-4 style).

    ``vocab[i]``: the bytes of token i (unique, all 256 single bytes among them);
    ``merges``: the merged pairs in the order they were learnt (kept for reading and saving;
    encoding needs only ``vocab``); ``pattern``: the split regex, a name (``"gpt2"``,
    ``"gpt4"``) or ``None`` for no splitting; ``special_tokens``: string -> id, ids above the
    regular ones. ``vocab_size`` = largest id + 1 (the size of a model's embedding table).

    Build one with :meth:`train`, :meth:`load`, :meth:`from_gpt2` or :meth:`gpt2`.
    """

    cache_size = 1 << 18
    """Most chunks whose ids are kept (chunk -> ids); an encoding that leaves the cache larger
    than this empties it."""

    def __init__(
        self,
        vocab: Sequence[bytes],
        merges: Iterable[tuple[int, int]] = (),
        pattern: str | None = "gpt4",
        special_tokens: Mapping[str, int] | None = None,
    ):
        self.vocab = [bytes(t) for t in vocab]
        self.ranks = _unique_ids(self.vocab)
        absent = [b for b in range(256) if bytes([b]) not in self.ranks]
        if absent:
            raise ValueError(
                f"the vocabulary lacks {len(absent)} single-byte tokens (first: byte {absent[0]}); "
                "a byte-level BPE needs all 256 so that every text can be encoded"
            )
        self.merges = [(int(a), int(b)) for a, b in merges]
        for a, b in self.merges:
            if not (0 <= a < len(self.vocab) and 0 <= b < len(self.vocab)):
                raise ValueError(f"merge ({a}, {b}) names an id outside 0..{len(self.vocab) - 1}")
            if self.vocab[a] + self.vocab[b] not in self.ranks:
                raise ValueError(
                    f"merge ({a}, {b}) makes {self.vocab[a] + self.vocab[b]!r}, "
                    "which is not in the vocabulary"
                )
        self.pattern = resolve_pattern(pattern)
        self._split = Splitter(self.pattern)
        self.special_tokens = {str(s): int(i) for s, i in (special_tokens or {}).items()}
        self._decoder: list[bytes | None] = list(self.vocab)
        for s, i in self.special_tokens.items():
            if not s:
                raise ValueError("a special token must be a non-empty string")
            if i < len(self.vocab):
                raise ValueError(
                    f"special token {s!r} has id {i}, which a regular token holds; "
                    f"give it an id >= {len(self.vocab)}"
                )
            self._decoder += [None] * (i + 1 - len(self._decoder))
            if self._decoder[i] is not None:
                raise ValueError(f"special token {s!r} shares id {i} with another one")
            self._decoder[i] = s.encode("utf-8")
        self._split_all_specials = special_splitter(list(self.special_tokens))
        self._cache = ChunkIds(self.ranks)

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        text: str,
        vocab_size: int,
        pattern: str | None = "gpt4",
        special_tokens: Sequence[str] | None = None,
        verbose: bool = False,
    ) -> BPETokenizer:
        """Learn a tokenizer of ``vocab_size`` tokens (256 bytes + merges + special tokens).

        The text is cut at the special tokens (which take part in no merge), split by
        ``pattern`` (``"gpt4"``, ``"gpt2"``, a regex, or ``None``: the whole text is one chunk,
        which makes every merge cost O(len(text)): fine for small texts only), and the unique
        chunks are merged by :func:`.train.train_bpe` (most frequent pair first; ties: smallest
        pair of ids). Special tokens get the ids right after the regular ones. If the text runs
        out of pairs first, the vocabulary is smaller than asked (see ``vocab_size``).
        Example: ``BPETokenizer.train("aaabdaaabac", 259, pattern=None).merges`` ->
        ``[(97, 97), (97, 98), (256, 257)]``: ``aa`` first; then ``ab`` and ``(aa)a`` both occur
        twice and the smaller pair ``(97, 98)`` wins; then ``(aa)(ab)``.
        """
        specials = list(dict.fromkeys(special_tokens or ()))
        if vocab_size < 256 + len(specials):
            raise ValueError(
                f"vocab_size must be at least 256 + {len(specials)} special tokens, "
                f"got {vocab_size}"
            )
        split = Splitter(resolve_pattern(pattern))
        splitter = special_splitter(specials)
        pieces = splitter.split(text)[::2] if splitter else [text]
        counts: Counter[str] = Counter()
        for piece in pieces:
            counts.update(split(piece))
        if sum(len(c) * n for c, n in counts.items()) != sum(map(len, pieces)):
            raise ValueError(_lost_text(pieces, split))
        chunks = {_utf8(chunk): n for chunk, n in counts.items()}
        vocab, merges = train_bpe(
            chunks, vocab_size - len(specials), _print_merge if verbose else None
        )
        special_ids = {s: len(vocab) + k for k, s in enumerate(specials)}
        return cls(vocab, merges, split.pattern, special_ids)

    @classmethod
    def from_gpt2(
        cls, encoder_json: str | os.PathLike, vocab_bpe: str | os.PathLike
    ) -> BPETokenizer:
        """GPT-2's tokenizer from its two files (50,257 tokens; ``<|endoftext|>`` = 50256).

        ``encoder.json`` maps each token, written with :mod:`.bytes_unicode`, to its id;
        ``vocab.bpe`` lists the 50,000 merges, one ``"left right"`` per line after a
        ``#version`` line. Encoding gives exactly the ids of tiktoken's ``gpt2`` encoding.
        """
        encoder = json.loads(Path(encoder_json).read_text(encoding="utf-8"))
        specials = {t: i for t, i in encoder.items() if t in GPT2_SPECIAL_TOKENS}
        regular = {t: i for t, i in encoder.items() if t not in GPT2_SPECIAL_TOKENS}
        if sorted(regular.values()) != list(range(len(regular))):
            raise ValueError(
                f"{encoder_json}: the ids of the regular tokens are not 0..N-1; "
                "is this GPT-2's encoder.json?"
            )
        vocab = [b""] * len(regular)
        for token, i in regular.items():
            vocab[i] = str_to_token(token)
        merges = []
        lines = Path(vocab_bpe).read_text(encoding="utf-8").split("\n")
        for number, line in enumerate(lines, start=1):
            if not line or line.startswith("#version"):
                continue
            parts = line.split(" ")
            if len(parts) != 2 or parts[0] not in regular or parts[1] not in regular:
                raise ValueError(
                    f"{vocab_bpe}, line {number}: {line!r} is not a merge of two "
                    "tokens of encoder.json"
                )
            merges.append((regular[parts[0]], regular[parts[1]]))
        return cls(vocab, merges, "gpt2", specials)

    @classmethod
    def gpt2(cls) -> BPETokenizer:
        """GPT-2's tokenizer from the data set ``gpt2`` of :mod:`dlf.data` (found in
        ``$DLF_DATA``, the cache, or downloaded, checksums verified)."""
        from dlf.data import dataset_files

        files = dataset_files("gpt2")
        return cls.from_gpt2(files["encoder.json"], files["vocab.bpe"])

    # -- encoding and decoding ------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """Largest id + 1: regular tokens and special tokens (50257 for GPT-2)."""
        return len(self._decoder)

    def encode(self, text: str, allowed_special: AllowedSpecial = "none") -> list[int]:
        """Token ids of ``text``: a string of n characters -> a list of m ids.

        ``allowed_special``: the special tokens recognised in ``text`` and kept whole:
        ``"all"``, ``"none"`` (default: text that looks like ``<|endoftext|>`` is ordinary text,
        so user input cannot inject control tokens), or a set of them. Equal to tiktoken's
        ``encode(text, allowed_special=..., disallowed_special=())``.
        Example (GPT-2): ``"Hello world<|endoftext|>"``, ``"all"`` -> ``[15496, 995, 50256]``.
        """
        allowed = self._allowed(allowed_special)
        if not allowed or not any(s in text for s in allowed):
            return self.encode_ordinary(text)
        splitter = (
            self._split_all_specials
            if len(allowed) == len(self.special_tokens)
            else special_splitter(allowed)
        )
        ids: list[int] = []
        for k, piece in enumerate(splitter.split(text)):
            if k % 2:
                ids.append(self.special_tokens[piece])
            elif piece:
                ids += self.encode_ordinary(piece)
        return ids

    def encode_ordinary(self, text: str) -> list[int]:
        """Token ids of ``text`` with no special tokens: split into chunks, merge each chunk.

        A chunk's ids are cached (:class:`ChunkIds`), so each distinct word is merged once.
        Example (GPT-2): ``"Hello world"`` -> ``[15496, 995]``.
        """
        if self.pattern is None:
            return bpe_merge(_utf8(text), self.ranks) if text else []
        ids = list(chain.from_iterable(map(self._cache.__getitem__, self._split(text))))
        if len(self._cache) > self.cache_size:
            self._cache.clear()
        return ids

    def clear_cache(self) -> None:
        """Forget the cached chunk -> ids (e.g. to time encoding from cold)."""
        self._cache.clear()

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The bytes of the tokens ``ids`` (a list, or an array/tensor with ``tolist``).

        Example (GPT-2): ``[15496, 995]`` -> ``b"Hello world"``.
        """
        ids = ids.tolist() if hasattr(ids, "tolist") else list(ids)
        decoder = self._decoder
        try:
            if ids and min(ids) < 0:
                raise IndexError
            return b"".join(map(decoder.__getitem__, ids))
        except (IndexError, TypeError):
            bad = next(i for i in ids if not 0 <= i < len(decoder) or decoder[i] is None)
            raise ValueError(
                f"token id {bad} is not in this tokenizer (ids 0..{len(decoder) - 1}"
                " that hold a token)"
            ) from None

    def decode(self, ids: Iterable[int]) -> str:
        """The text of the tokens ``ids``: their bytes read as UTF-8.

        A byte sequence that is not valid UTF-8 (possible for arbitrary ids, e.g. half of a
        multi-byte character) becomes U+FFFD (``errors="replace"``).
        Example (GPT-2): ``[15496, 995]`` -> ``"Hello world"``; ``[447]`` -> ``"\\ufffd"``.
        """
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def _allowed(self, allowed_special: AllowedSpecial) -> set[str]:
        if allowed_special == "all":
            return set(self.special_tokens)
        if allowed_special == "none":
            return set()
        if isinstance(allowed_special, str):
            raise ValueError(
                f'allowed_special must be "all", "none" or a set of special tokens, '
                f"got the string {allowed_special!r}"
            )
        unknown = set(allowed_special) - set(self.special_tokens)
        if unknown:
            raise ValueError(
                f"unknown special tokens {sorted(unknown)}; this tokenizer has "
                f"{sorted(self.special_tokens)}"
            )
        return set(allowed_special)

    # -- saving and loading ---------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write the tokenizer as readable JSON, atomically (temporary file, then rename).

        Layout: ``format``, ``version``, ``pattern`` (the regex), ``special_tokens``
        (string -> id), ``vocab`` (token i in GPT-2's printable form, e.g. ``"Ġthe"``, one per
        line) and ``merges`` (``"Ġ t"``: left and right token, one per line, in order).
        """
        from dlf.runs.atomic import atomic_write_text

        strings = [token_to_str(t) for t in self.vocab]
        data = {
            "format": FORMAT,
            "version": VERSION,
            "pattern": self.pattern,
            "special_tokens": self.special_tokens,
            "vocab": strings,
            "merges": [f"{strings[a]} {strings[b]}" for a, b in self.merges],
        }
        return atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> BPETokenizer:
        """A tokenizer written by :meth:`save` (JSON only: loading runs no code); anything else
        is a ValueError naming ``path``."""
        data = read_json(path)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f'{path} is not a BPETokenizer file (no "format": "{FORMAT}")')
        if data.get("version") != VERSION:
            raise ValueError(
                f"{path}: version {data.get('version')} is not supported "
                f"(this dlf reads version {VERSION})"
            )
        kinds = {
            "vocab": list, "merges": list, "pattern": (str, type(None)), "special_tokens": dict
        }  # fmt: skip
        for key, kind in kinds.items():
            if not isinstance(data.get(key), kind):
                raise ValueError(f"{path}: {key!r} is missing or of the wrong kind")
        try:
            vocab = [str_to_token(s) for s in data["vocab"]]
            ids = _unique_ids(data["vocab"])
            merges = []
            for line in data["merges"]:
                parts = line.split(" ")
                if len(parts) != 2 or parts[0] not in ids or parts[1] not in ids:
                    raise ValueError(f"merge {line!r} is not two tokens of the vocabulary")
                merges.append((ids[parts[0]], ids[parts[1]]))
            return cls(vocab, merges, data["pattern"], data["special_tokens"])
        except (ValueError, TypeError, AttributeError) as err:  # a non-string token or merge
            raise ValueError(f"{path}: {err}") from None

    # -- comparison and display -----------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BPETokenizer):
            return NotImplemented
        return (self.vocab, self.merges, self.pattern, self.special_tokens) == (
            other.vocab,
            other.merges,
            other.pattern,
            other.special_tokens,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)}, "
            f"special_tokens={self.special_tokens})"
        )


class ChunkIds(dict):
    """A cache chunk -> its token ids (a tuple): a chunk looked up for the first time is merged
    by :func:`.merge.bpe_merge` and stored.

    Example (GPT-2): ``ChunkIds(ranks)[" world"]`` -> ``(995,)``, now stored.
    """

    def __init__(self, ranks: dict[bytes, int]):
        super().__init__()
        self.ranks = ranks

    def __missing__(self, chunk: str) -> tuple[int, ...]:
        ids = self[chunk] = tuple(bpe_merge(_utf8(chunk), self.ranks))
        return ids


def _unique_ids(tokens: list) -> dict:
    """``{token: id}`` for a list of distinct tokens; ValueError naming the first repeated one.

    Example: ``[b"a", b"b"]`` -> ``{b"a": 0, b"b": 1}``; ``[b"a", b"a"]`` -> ValueError.
    """
    ids = {token: i for i, token in enumerate(tokens)}
    if len(ids) != len(tokens):
        seen: set = set()
        twice = next(t for t in tokens if t in seen or seen.add(t))
        raise ValueError(f"token {twice!r} appears twice in the vocabulary; tokens are unique")
    return ids


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as err:
        char = err.object[err.start]
        raise ValueError(
            f"text holds U+{ord(char):04X} at position {err.start}, a lone surrogate "
            "with no UTF-8 form; fix the text (e.g. decode it with errors='replace')"
        ) from None


def _lost_text(pieces: list[str], split: Splitter) -> str:
    """Why a split pattern is refused: the first text between its matches, which encoding
    with it would drop."""
    pattern = split.pattern
    for piece in pieces:
        gap = first_gap(piece, split.compiled)
        if gap is not None:
            start, end = gap
            return (
                f"split pattern '{pattern}' loses text: no match covers {piece[start:end]!r} "
                f"(after {piece[max(0, start - 20) : start]!r}); its matches must cover the "
                "whole text: add an alternative for the rest (e.g. |\\s+|[^\\w\\s]+) or use gpt4"
            )
    return f"split pattern '{pattern}' loses text: its matches do not cover the whole text"


def _print_merge(vocab: list[bytes], pair: tuple[int, int], new: int, count: int) -> None:
    a, b = (token_to_str(vocab[i]) for i in pair)
    print(f"merge {a} + {b} -> {new} ({token_to_str(vocab[new])}, {count} occurrences)")
