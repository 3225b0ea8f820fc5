"""bpe: byte-level BPE tokenizers of several vocabulary sizes trained on Tiny Shakespeare.

What the report shows: the first merges (which byte pairs are the most frequent), how many bytes
one token covers on held-out text as the vocabulary grows (compression), the longest tokens
learnt, one line cut into tokens at every size, and GPT-2's 50,257-token tokenizer (trained on
40 GB of web text) on the same text as a reference point.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from dlf.bench import load_average
from dlf.data import load_text
from dlf.gpt.tokenizer import BPETokenizer
from dlf.gpt.tokenizer.bytes_unicode import token_to_str
from dlf.recipes import ConfigError, Recipe
from dlf.recipes.config import ranged
from dlf.runs import RunDir, new_figure

SIZES = (260, 300, 400, 512, 1024, 2048, 4096)
EXAMPLE = "ROMEO:\nWhat light through yonder window breaks? It is the east."


@dataclass
class BPEConfig:
    """``vocab_sizes``: the tokenizers to train (256 bytes + merges). ``pattern``: the
    pre-splitting regex ("gpt4", "gpt2" or "none"). ``text_chars``: train on the first so many
    characters of the training part (0: all of it). ``val_fraction``: the held-out end of the
    text on which compression is measured. ``gpt2``: also measure GPT-2's tokenizer."""

    vocab_sizes: tuple[int, ...] = ranged(SIZES, ge=256)  # the tokenizers: 256 bytes + merges
    pattern: Literal["gpt4", "gpt2", "none"] = "gpt4"  # the pre-splitting regex
    text_chars: int = ranged(0, ge=0)  # train on the first so many characters (0: all)
    val_fraction: float = ranged(0.1, gt=0, lt=1)  # the held-out end of the text
    first_merges: int = ranged(20, ge=1)  # merges listed in the report
    gpt2: bool = True  # also measure GPT-2's tokenizer
    example: str = EXAMPLE  # one line cut into tokens at every size


def preflight(config: BPEConfig) -> None:
    """At least one vocabulary size (ConfigError)."""
    if not config.vocab_sizes:
        raise ConfigError("vocab_sizes needs at least one size, e.g. vocab_sizes=260,300")


def shown(token: bytes) -> str:
    """A token as readable text: spaces as ``␣``, newlines as ``⏎``, other bytes as GPT-2's
    printable characters. Example: ``b" the"`` -> ``"␣the"``; ``b"\\n"`` -> ``"⏎"``."""
    text = token.decode("utf-8", errors="replace")
    if "\ufffd" in text:
        return token_to_str(token)
    return text.replace(" ", "␣").replace("\n", "⏎")


def packs_more(compression: list[float]) -> bool:
    """True when each larger vocabulary packs more bytes per token than the one before it; one
    size (or none) compares nothing and shows nothing.

    Example: ``[2.1, 2.6, 3.0]`` -> True; ``[2.1, 2.0]`` -> False; ``[2.1]`` -> False.
    """
    return len(compression) >= 2 and all(
        a < b for a, b in zip(compression, compression[1:], strict=False)
    )


def bytes_per_token(tokenizer: BPETokenizer, text: str) -> tuple[float, int]:
    """Compression of ``text``: UTF-8 bytes / tokens, and the number of tokens.
    Example: 1,000 bytes in 400 tokens -> ``(2.5, 400)``."""
    n = len(tokenizer.encode_ordinary(text))
    return len(text.encode("utf-8")) / max(n, 1), n


def run(config: BPEConfig, run_dir: RunDir) -> dict:
    text = load_text("tinyshakespeare")
    n_train = int(len(text) * (1 - config.val_fraction))
    train_text, val_text = text[:n_train], text[n_train:]
    if config.text_chars:
        train_text = train_text[: config.text_chars]
    pattern = None if config.pattern == "none" else config.pattern
    sizes = sorted(set(config.vocab_sizes))
    rows, tokenizers = [], {}
    for size in run_dir.progress(sizes, total=len(sizes), desc="vocabulary sizes"):
        start = time.perf_counter()
        tokenizer = BPETokenizer.train(train_text, size, pattern=pattern)
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        val_bpt, val_tokens = bytes_per_token(tokenizer, val_text)
        encode_s = time.perf_counter() - start
        train_bpt, _ = bytes_per_token(tokenizer, train_text)
        tokenizers[size] = tokenizer
        run_dir.log(size, train_bytes_per_token=train_bpt, val_bytes_per_token=val_bpt,
                    train_seconds=train_s, encode_seconds=encode_s)  # fmt: skip
        rows.append([size, f"{train_bpt:.3f}", f"{val_bpt:.3f}", val_tokens,
                     f"{train_s:.2f}", f"{encode_s:.2f}"])  # fmt: skip
    tokenizers[sizes[-1]].save(run_dir.path / f"tokenizer-{sizes[-1]}.json")

    reference = None
    if config.gpt2:
        gpt2 = BPETokenizer.gpt2()
        reference = bytes_per_token(gpt2, val_text)
        rows.append(["GPT-2 (50,257)", f"{bytes_per_token(gpt2, train_text)[0]:.3f}",
                     f"{reference[0]:.3f}", reference[1], "-", "-"])  # fmt: skip

    fig, axes = new_figure()
    ax = axes[0, 0]
    ax.plot(sizes, [float(r[1]) for r in rows[: len(sizes)]], "o-", label="ours, training text")
    ax.plot(sizes, [float(r[2]) for r in rows[: len(sizes)]], "s-", label="ours, held-out text")
    if reference is not None:
        ax.plot([50257], [reference[0]], "r*", markersize=12, label="GPT-2, held-out text")
    ax.set_xscale("log")
    ax.set_xlabel("vocabulary size")
    ax.set_ylabel("bytes per token")
    ax.set_title(f"Compression on Tiny Shakespeare ({config.pattern} splitting)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    run_dir.figure("compression", fig, caption="UTF-8 bytes per token against vocabulary size "
                   "(log scale): on the training text and on the held-out last "
                   f"{config.val_fraction:.0%}; GPT-2's tokenizer as the star.")  # fmt: skip
    run_dir.table(
        "Compression and speed",
        ["vocabulary", "bytes/token (train)", "bytes/token (held out)", "held-out tokens",
         "train s", "encode held-out s"],
        rows,
    )  # fmt: skip

    largest = tokenizers[sizes[-1]]
    counts = Counter(largest.encode_ordinary(train_text))
    merge_rows = []
    for rank, (a, b) in enumerate(largest.merges[: config.first_merges]):
        new = largest.ranks[largest.vocab[a] + largest.vocab[b]]
        merge_rows.append([rank + 1, shown(largest.vocab[a]), shown(largest.vocab[b]),
                           shown(largest.vocab[new]), new, counts.get(new, 0)])  # fmt: skip
    run_dir.table(
        f"The first {len(merge_rows)} merges (tokenizer of {sizes[-1]})",
        ["merge", "left", "right", "new token", "id", f"uses in the training text ({sizes[-1]})"],
        merge_rows,
    )
    longest = sorted(range(256, len(largest.vocab)), key=lambda i: (-len(largest.vocab[i]), i))
    run_dir.table(
        f"The longest tokens (tokenizer of {sizes[-1]})",
        ["token", "bytes", "uses in the training text"],
        [[shown(largest.vocab[i]), len(largest.vocab[i]), counts.get(i, 0)] for i in longest[:12]],
    )
    pieces = []
    for size in sizes:
        ids = tokenizers[size].encode_ordinary(config.example)
        pieces.append(f"{size:>6} ({len(ids):>3} tokens): "
                      + "|".join(shown(tokenizers[size].vocab[i]) for i in ids))  # fmt: skip
    run_dir.text("One line, tokenized at every size", "\n".join(pieces), pre=True)
    load = load_average()
    val_bpt = {size: float(r[2]) for size, r in zip(sizes, rows, strict=False)}
    run_dir.text(
        "What this shows",
        f"The first merges join the most frequent byte pairs "
        f"({', '.join(r[3] for r in merge_rows[:6])}, ...); later ones build whole words. "
        f"From "
        f"{sizes[0]} to {sizes[-1]} tokens the held-out compression goes from "
        f"{val_bpt[sizes[0]]:.2f} to {val_bpt[sizes[-1]]:.2f} bytes per token"
        + (
            f". GPT-2's 50,257 tokens, learnt on 40 GB of web text, reach {reference[0]:.2f}: "
            + (
                f"our {sizes[-1]}-token tokenizer, learnt on this text, already compresses it "
                "better, since its merges fit Shakespeare's words (thou, thee, 'tis) rather "
                "than the web's"
                if val_bpt[sizes[-1]] > reference[0]
                else f"{reference[0] / val_bpt[sizes[-1]]:.2f} times our {sizes[-1]}-token "
                f"tokenizer's figure, with a {50257 / sizes[-1]:.0f} times larger vocabulary"
            )
            if reference
            else ""
        )
        + ". A model over a larger vocabulary sees more text per context window, at the cost of "
        "a larger embedding table and rarer tokens. "
        + (
            f"Pre-splitting ({config.pattern}) keeps merges inside words, so no token spans a "
            "word and the next. "
            if pattern
            else "Without pre-splitting, tokens may span word boundaries. "
        )
        + f"(Load average {load:.1f}.)",
    )  # fmt: skip
    ordered = [val_bpt[size] for size in sizes]
    run_dir.effect(
        "more merges, fewer tokens: each larger vocabulary packs more bytes into a token of "
        "held-out text",
        packs_more(ordered),
        ", ".join(f"{size}: {val_bpt[size]:.3f}" for size in sizes)
        + " bytes per token"
        + ("" if len(sizes) > 1 else " (one size: nothing to compare)"),
    )
    summary = {f"val_bytes_per_token_{s}": round(v, 4) for s, v in val_bpt.items()}
    if reference is not None:
        summary["gpt2_val_bytes_per_token"] = round(reference[0], 4)
    summary["first_merges"] = [r[3] for r in merge_rows[:10]]
    summary["train_seconds_512"] = next((float(r[4]) for r in rows if r[0] == 512), None)
    summary["load_average"] = round(load, 2)
    return summary


RECIPE = Recipe(
    name="bpe",
    module=4,
    description="byte-level BPE on Tiny Shakespeare: first merges, compression vs vocabulary size",
    config=BPEConfig,
    run=run,
    quick={"vocab_sizes": (260, 300, 400), "text_chars": 100_000, "first_merges": 10},
    datasets=lambda c: ("tinyshakespeare", "gpt2") if c.gpt2 else ("tinyshakespeare",),
    preflight=preflight,
)
