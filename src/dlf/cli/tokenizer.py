"""``dlf tokenizer train|encode``: train a byte-level BPE, or show how a text is split."""

from __future__ import annotations

import argparse
from pathlib import Path

from dlf.cli.errors import UsageError


def add_tokenizer(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    train = sub.add_parser("train", help="train a BPE tokenizer and save it as JSON")
    train.add_argument("--data", default="tinyshakespeare",
                       help="a UTF-8 text file, or a corpus name (tinyshakespeare)")  # fmt: skip
    train.add_argument("--vocab-size", type=int, default=512)
    train.add_argument("--pattern", default="gpt4", help="gpt4, gpt2, or none")
    train.add_argument("--out", required=True, help="where to write the tokenizer (.json)")
    encode = sub.add_parser("encode", help="encode a text and show its tokens")
    encode.add_argument("text")
    encode.add_argument("--tokenizer", default="gpt2", help="gpt2, or a saved tokenizer .json")


def _text(source: str) -> str:
    from dlf.data import load_text

    path = Path(source)
    if path.is_file():
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{source} is not UTF-8 text") from None
    if source == "tinyshakespeare":
        return load_text(source)
    raise UsageError(f"--data {source!r} is neither a file nor a corpus name (tinyshakespeare)")


def cmd_tokenizer(args: argparse.Namespace) -> int:
    from dlf.gpt.tokenizer import BPETokenizer

    if args.action == "train":
        if args.vocab_size < 256:
            raise UsageError(
                f"--vocab-size must be at least 256 (the bytes); got {args.vocab_size}"
            )
        pattern = None if args.pattern == "none" else args.pattern
        tok = BPETokenizer.train(_text(args.data), args.vocab_size, pattern=pattern)
        print(f"{tok!r} -> {tok.save(args.out)}")
        return 0
    if args.tokenizer == "gpt2":
        tok = BPETokenizer.gpt2()
    elif Path(args.tokenizer).is_file():
        tok = BPETokenizer.load(args.tokenizer)
    else:
        raise UsageError(f"--tokenizer {args.tokenizer!r} is neither gpt2 nor a saved tokenizer")
    ids = tok.encode(args.text)
    print(ids)
    print(" | ".join(repr(tok.decode([i]))[1:-1] for i in ids))
    print(f"{len(args.text.encode('utf-8'))} bytes -> {len(ids)} tokens")
    return 0
