"""``dlf tokenizer train|encode``: train a byte-level BPE, or show how a text is split."""

from __future__ import annotations

import argparse
from pathlib import Path

from dlf.cli.errors import UsageError
from dlf.cli.paths import writable_file


def add_tokenizer(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    train = sub.add_parser("train", help="train a BPE tokenizer and save it as JSON")
    train.add_argument("--data", default="tinyshakespeare",
                       help="a UTF-8 file, a folder of .txt files, or tinyshakespeare")  # fmt: skip
    train.add_argument("--vocab-size", type=int, default=512)
    train.add_argument("--pattern", default="gpt4", help="gpt4, gpt2, or none")
    train.add_argument("--out", required=True, help="where to write the tokenizer (.json)")
    encode = sub.add_parser("encode", help="encode a text and show its tokens")
    encode.add_argument("text")
    encode.add_argument("--tokenizer", default="gpt2", help="gpt2, or a saved tokenizer .json")


def cmd_tokenizer(args: argparse.Namespace) -> int:
    from dlf.data import DataError
    from dlf.gpt.text import read_text
    from dlf.gpt.tokenizer import BPETokenizer
    from dlf.gpt.tokenizer.pretokenize import resolve_pattern

    if args.action == "train":
        if args.vocab_size < 256:
            raise UsageError(
                f"--vocab-size must be at least 256 (the bytes); got {args.vocab_size}"
            )
        pattern = None if args.pattern == "none" else args.pattern
        out = writable_file(args.out, "--out")
        try:
            resolve_pattern(pattern)
        except ValueError as err:
            raise UsageError(f"--pattern: {err}") from None
        text = read_text(args.data)
        try:
            tok = BPETokenizer.train(text, args.vocab_size, pattern=pattern)
        except ValueError as err:  # a pattern whose matches lose part of the text
            raise UsageError(f"--pattern: {err}") from None
        try:
            saved = tok.save(out)
        except OSError as err:
            raise UsageError(f"--out {args.out}: {err.strerror or err}") from None
        print(f"{tok!r} -> {saved}")
        return 0
    if args.tokenizer == "gpt2":
        tok = BPETokenizer.gpt2()
    elif Path(args.tokenizer).is_file():
        try:
            tok = BPETokenizer.load(args.tokenizer)
        except ValueError as err:
            raise DataError(f"--tokenizer: {err}") from None
    else:
        raise UsageError(f"--tokenizer {args.tokenizer!r} is neither gpt2 nor a saved tokenizer")
    try:
        ids = tok.encode(args.text)
    except ValueError as err:  # a lone surrogate: bytes of the command line that are not UTF-8
        raise UsageError(str(err)) from None
    print(ids)
    print(" | ".join(repr(tok.decode([i]))[1:-1] for i in ids))
    print(f"{len(args.text.encode('utf-8'))} bytes -> {len(ids)} tokens")
    return 0
