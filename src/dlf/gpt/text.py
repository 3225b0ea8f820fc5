"""Your own text for a language model: read it, check it, and tokenize it with a saved tokenizer.

``data`` is a UTF-8 text file, a folder of ``.txt`` files (sorted by name, joined by newlines),
or a corpus name of :mod:`dlf.data` (``tinyshakespeare``). Everything that can be wrong with it
(a missing path, an empty or binary file, characters a tokenizer cannot encode) is a
:class:`TextDataError`: a :class:`dlf.data.DataError`, so ``dlf`` prints it as one line and exits
with status 1. Pure Python: no torch here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from dlf.data import DataError, load_text
from dlf.gpt.tokenizer import BPETokenizer, CharTokenizer
from dlf.gpt.tokenizer.bpe import FORMAT as BPE_FORMAT
from dlf.gpt.tokenizer.char import FORMAT as CHAR_FORMAT

Tokenizer = CharTokenizer | BPETokenizer
CORPORA = ("tinyshakespeare",)


class TextDataError(DataError):
    """A text that cannot be trained or evaluated on; the message says which and why."""


def is_corpus_name(data: str) -> bool:
    """Whether ``data`` names a corpus of :mod:`dlf.data` rather than a path on disk.

    Example: ``is_corpus_name("tinyshakespeare")`` -> ``True`` (unless a file of that name is in
    the current folder); ``is_corpus_name("notes.txt")`` -> ``False``.
    """
    return data in CORPORA and not Path(data).expanduser().exists()


def text_files(data: str) -> list[Path]:
    """The files behind ``data``: ``[file]``, or a folder's ``*.txt`` sorted by name; ``[]``
    for a corpus name. A missing path or a folder without ``.txt`` files is a TextDataError."""
    if is_corpus_name(data):
        return []
    path = Path(data).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.glob("*.txt") if p.is_file())
        if not files:
            raise TextDataError(f"data={data}: the folder holds no .txt files")
        return files
    if path.is_file():
        return [path]
    raise TextDataError(
        f"data={data}: no such file or folder (give a UTF-8 text file, a folder of .txt files, "
        f"or a corpus name: {', '.join(CORPORA)})"
    )


def read_file(path: Path) -> str:
    """One UTF-8 text file; an empty or binary (non-UTF-8, or NUL-holding) one is refused."""
    data = path.read_bytes()
    if not data.strip():
        raise TextDataError(f"{path} is empty: give a file with text in it")
    if b"\x00" in data:
        raise TextDataError(f"{path} is a binary file (it holds NUL bytes), not UTF-8 text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise TextDataError(
            f"{path} is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}): "
            "convert it to UTF-8 first"
        ) from None


def read_text(data: str) -> str:
    """The whole text of ``data`` (see the module docstring) as one string.

    Example: a folder holding ``a.txt`` ("to be") and ``b.txt`` ("or not") -> ``"to be\\nor not"``.
    """
    files = text_files(data)
    if not files:
        return load_text(data)
    return "\n".join(read_file(f) for f in files)


def source_stamp(data: str) -> tuple:
    """What identifies the current content of ``data``: (path, size, mtime) of each file, or
    the corpus name. Used as a cache key, so an edited file is read again."""
    files = text_files(data)
    if not files:
        return (data,)
    return tuple((str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns) for f in files)


def encode_checked(
    tokenizer: Tokenizer,
    text: str,
    source: str,
    advice: str = "remove them from the text, or train a new model on it (no init_from)",
) -> list[int]:
    """``tokenizer.encode(text)``; characters a char tokenizer does not know are a
    TextDataError naming them and ending with ``advice`` (a byte-level BPE encodes every
    text). Special tokens written in the text (``<|endoftext|>``) become their own ids."""
    if isinstance(tokenizer, BPETokenizer):
        return tokenizer.encode(text, allowed_special="all")
    unknown = sorted(set(text) - tokenizer.stoi.keys())
    if unknown:
        shown = ", ".join(repr(c) for c in unknown[:20]) + (", ..." if len(unknown) > 20 else "")
        raise TextDataError(
            f"{source}: {len(unknown)} character(s) that the model's character tokenizer cannot "
            f"encode: {shown}; {advice}"
        )
    return tokenizer.encode(text)


def load_tokenizer(path: str | os.PathLike) -> Tokenizer:
    """A tokenizer saved as JSON by :meth:`CharTokenizer.save` or :meth:`BPETokenizer.save`
    (told apart by their ``format`` field)."""
    path = Path(path)
    if not path.is_file():
        raise TextDataError(f"no tokenizer in {path.parent} (no {path.name})")
    try:
        kind = json.loads(path.read_text(encoding="utf-8")).get("format")
    except (ValueError, AttributeError):
        raise TextDataError(f"{path} is not a tokenizer JSON file") from None
    if kind == CHAR_FORMAT:
        return CharTokenizer.load(path)
    if kind == BPE_FORMAT:
        return BPETokenizer.load(path)
    raise TextDataError(f"{path}: unknown tokenizer format {kind!r}")


def decode_bytes(tokenizer: Tokenizer, ids: list[int]) -> bytes:
    """The UTF-8 bytes of ``ids``. Byte-level BPE tokens may end inside a character, so text
    is best decoded from bytes (see :mod:`dlf.gpt.stream`). Example (char): ``[0]`` -> ``b"a"``."""
    if isinstance(tokenizer, BPETokenizer):
        return tokenizer.decode_bytes(ids)
    return tokenizer.decode(ids).encode("utf-8")


def check_length(
    n_tokens: int, block_size: int, source: str, part: str = "text", windows: int = 1
) -> None:
    """Refuse a ``part`` of fewer than ``block_size + windows`` tokens: a language-model example
    is a window of ``block_size + 1`` tokens, and ``n`` tokens hold ``n - block_size`` of them.

    Example: 65 tokens, block_size 64 -> 1 window (fine); 64 tokens -> TextDataError.
    """
    needed = block_size + windows
    if n_tokens < needed:
        batch = f", {windows} windows for one batch" if windows > 1 else ""
        raise TextDataError(
            f"{source}: the {part} is {n_tokens} tokens, fewer than {needed} (one block of "
            f"block_size + 1 = {block_size + 1} tokens{batch}): give a longer text, or lower "
            "block_size"
        )
