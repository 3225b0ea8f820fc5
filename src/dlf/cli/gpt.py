"""``dlf sample`` and ``dlf eval``: a trained GPT's run directory, continued or scored."""

from __future__ import annotations

import argparse
import math
import re
import sys

from dlf.cli.errors import UsageError

ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}


def unescape(text: str) -> str:
    """Backslash escapes typed on a command line: ``\\n``, ``\\t``, ``\\r``, ``\\\\``; any
    other backslash stays. Example: ``"ROMEO:\\\\n"`` (as typed) -> ``"ROMEO:\\n"``."""
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m[1], m[0]), text)


def finite(text: str) -> float:
    """An argparse type: a finite number. Example: ``"0.8"`` -> ``0.8``; ``"nan"``, ``"inf"`` ->
    an error (argparse then prints it as one line)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def int_up_to(high: int):
    """An argparse type: a whole number <= ``high`` (the lower bounds are checked where the
    value is used). Example: ``int_up_to(10)("3")`` -> ``3``; ``int_up_to(10)("11")`` -> error.
    """

    def parse(text: str) -> int:
        value = int(text)  # ValueError: argparse says "invalid int value"
        if value > high:
            raise argparse.ArgumentTypeError(f"at most {high:,}, got {value:,}")
        return value

    parse.__name__ = "int"
    return parse


MAX_NEW_TOKENS = 10_000_000  # the token buffer of generation is allocated whole, 8 bytes each
MAX_BEAM_WIDTH = 1000  # every step scores beam_width x vocabulary candidates


def add_sample(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", nargs="?", help="a GPT run directory")
    parser.add_argument(
        "--model",
        metavar="DIR",
        help="instead of RUN_DIR: a GPT-2 folder in Hugging Face's layout (config.json, "
        "model.safetensors)",
    )
    parser.add_argument("--prompt", default="\\n", help='the text to continue ("\\n")')
    parser.add_argument("--strategy", default="top-p", help="greedy|sample|top-k|top-p|beam")
    parser.add_argument("--temperature", type=finite, default=0.8)
    parser.add_argument("--top-k", type=int, default=None, help="(top-k: 40)")
    parser.add_argument("--top-p", type=finite, default=None, help="(top-p: 0.9)")
    parser.add_argument("--beam-width", type=int_up_to(MAX_BEAM_WIDTH), default=4)
    parser.add_argument("--length-penalty", type=finite, default=1.0)
    parser.add_argument("--repetition-penalty", type=finite, default=1.0)
    parser.add_argument("--max-new-tokens", type=int_up_to(MAX_NEW_TOKENS), default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--stop",
        action="append",
        default=[],
        help='stop before this text (repeatable; "\\n\\n", "<|endoftext|>")',
    )
    parser.add_argument("--include-stop", action="store_true", help="print the stop text too")


def add_eval(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a GPT run directory")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.usage = "dlf eval RUN_DIR [data=PATH] [--batch-size N]"
    parser.set_defaults(takes_pairs="data=PATH")


def cmd_sample(args: argparse.Namespace) -> int:
    from dlf.gpt.generation import SampleSettings, complete
    from dlf.gpt.text import TextDataError
    from dlf.gpt.trained import load_trained

    try:
        settings = SampleSettings(
            args.strategy, args.temperature, args.top_k, args.top_p, args.beam_width,
            args.length_penalty, args.repetition_penalty, args.seed,
        )  # fmt: skip
    except ValueError as err:
        raise UsageError(f"dlf sample: {err}") from None
    stops = [unescape(s) for s in args.stop]
    if not all(stops):
        raise UsageError("dlf sample: --stop wants a non-empty text")
    if (args.run_dir is None) == (args.model is None):
        raise UsageError("dlf sample: give a RUN_DIR or --model DIR (one of the two)")
    if args.model is not None:
        from dlf.gpt.pretrained import load_gpt2

        trained = load_gpt2(args.model)
    else:
        trained = load_trained(args.run_dir)
    prompt = unescape(args.prompt)
    try:
        stream = complete(trained, prompt, args.max_new_tokens, settings, stops, args.include_stop)
    except (ValueError, TextDataError) as err:
        raise UsageError(f"dlf sample: {err}") from None
    out = sys.stdout
    out.write(prompt)
    out.flush()
    try:
        for piece in stream:
            out.write(piece)
            out.flush()
    except KeyboardInterrupt:
        out.write(stream.held() + "\n")
        out.flush()
        raise
    out.write("\n")
    out.flush()
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from dlf.gpt.text import read_text
    from dlf.gpt.trained import evaluate_text, load_trained, own_validation_text

    pairs = dict(p.split("=", 1) for p in args.pairs)
    unknown = sorted(set(pairs) - {"data"})
    if unknown:
        raise UsageError(f"dlf eval: unknown key {unknown[0]!r}; the only one is data=PATH")
    if args.batch_size < 1:
        raise UsageError("dlf eval: --batch-size must be >= 1")
    trained = load_trained(args.run_dir)
    if "data" in pairs:
        text, what = read_text(pairs["data"]), f"data={pairs['data']}"
    else:
        text, what = own_validation_text(trained.folder)
    result = evaluate_text(trained, text, what, args.batch_size)
    print(f"run: {trained.folder} (step {trained.step})")
    print(f"text: {what}")
    print(f"tokens predicted: {result.tokens:,} ({result.characters:,} characters)")
    print(f"loss: {result.loss:.4f} nats/token")
    print(f"perplexity: {result.perplexity:.4f}")
    print(f"bits per character: {result.bits_per_char:.4f}")
    return 0
