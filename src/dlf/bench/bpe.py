"""``dlf bench bpe``: training and encoding Tiny Shakespeare with our byte-level BPE.

Peers, measured in the same run: a straightforward BPE kept here (every merge re-counts every
pair of every chunk occurrence; encoding merges each chunk occurrence afresh, no cache) and, when
installed, Hugging Face ``tokenizers`` (Rust). The naive trainer re-counts the whole text at
every merge, so by default it trains on a prefix, and ours is timed on the same prefix for that
ratio.
"""

from __future__ import annotations

import os
from pathlib import Path

import regex

from dlf.bench import BenchReport, best_time
from dlf.gpt.tokenizer.bpe import BPETokenizer
from dlf.gpt.tokenizer.pretokenize import resolve_pattern, split_chunks
from dlf.gpt.tokenizer.train import add_token, byte_vocab, merge_pair, pair_counts

TRAIN_TARGET_S = 1.0
ENCODE_TARGET_S = 0.6


def naive_train(
    text: str, vocab_size: int, pattern: str | None = "gpt4"
) -> tuple[list[bytes], list[tuple[int, int]]]:
    """Reference BPE training: each merge re-counts all pairs of all chunk occurrences.

    Same rule as :func:`dlf.gpt.tokenizer.train.train_bpe` (most frequent pair; ties: smallest
    pair; an existing token's id is reused), with none of its bookkeeping, so the two must give
    the same ``(vocab, merges)``. Cost: O(len(text)) per merge.
    Example: ``naive_train("aaabdaaabac", 259, None)[1]`` -> ``[(97, 97), (97, 98), (256, 257)]``.
    """
    compiled = None if (p := resolve_pattern(pattern)) is None else regex.compile(p)
    chunks = [list(chunk.encode("utf-8")) for chunk in split_chunks(text, compiled)]
    vocab = byte_vocab()
    ids_of = {token: i for i, token in enumerate(vocab)}
    merges: list[tuple[int, int]] = []
    while len(vocab) < vocab_size:
        counts: dict[tuple[int, int], int] = {}
        for ids in chunks:
            pair_counts(ids, counts)
        if not counts:
            break
        pair = max(counts, key=lambda p: (counts[p], -p[0], -p[1]))
        new = add_token(vocab, ids_of, vocab[pair[0]] + vocab[pair[1]])
        merges.append(pair)
        chunks = [merge_pair(ids, pair, new) for ids in chunks]
    return vocab, merges


def naive_encode(text: str, vocab: list[bytes], pattern: str | None = "gpt4") -> list[int]:
    """Reference encoding (tiktoken's rule, as :func:`dlf.gpt.tokenizer.merge.bpe_merge`):
    for every chunk occurrence, scan all adjacent pairs for the lowest-ranked token, merge it,
    repeat. No cache; O(n^2) look-ups per chunk of n bytes.
    Example (a vocabulary with ``b"ab"`` = 256): ``"ab ab"`` -> ``[256, 32, 256]`` when split
    with ``pattern=r"\\S+|\\s"``.
    """
    ranks = {token: i for i, token in enumerate(vocab)}
    compiled = None if (p := resolve_pattern(pattern)) is None else regex.compile(p)
    ids: list[int] = []
    for chunk in split_chunks(text, compiled):
        piece = chunk.encode("utf-8")
        if piece in ranks:
            ids.append(ranks[piece])
            continue
        parts = [bytes([b]) for b in piece]
        while True:
            best = None
            for i in range(len(parts) - 1):
                rank = ranks.get(parts[i] + parts[i + 1])
                if rank is not None and (best is None or rank < best[0]):
                    best = (rank, i)
            if best is None:
                break
            i = best[1]
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
        ids += [ranks[part] for part in parts]
    return ids


def hf_tokenizer_times(
    text: str, vocab_size: int, pattern: str | None, repeats: int
) -> tuple[float, float, int] | None:
    """(train s, encode s, number of ids) for HF ``tokenizers`` with the same byte-level BPE
    setup (regex split, then bytes), or None when the package is not installed."""
    try:
        from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers
    except ImportError:
        return None

    def build():
        tokenizer = Tokenizer(models.BPE())
        byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
        if pattern is None:
            tokenizer.pre_tokenizer = byte_level
        else:
            split = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
            tokenizer.pre_tokenizer = pre_tokenizers.Sequence([split, byte_level])
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tokenizer.train_from_iterator([text], trainer)
        return tokenizer

    train_s = best_time(build, repeats=repeats, warmup=0)
    tokenizer = build()
    encode_s = best_time(lambda: tokenizer.encode(text), repeats=repeats, warmup=1)
    return train_s, encode_s, len(tokenizer.encode(text).ids)


def bench_bpe(
    vocab_size: int = 512,
    pattern: str | None = "gpt4",
    path: str | os.PathLike | None = None,
    naive_chars: int | None = 100_000,
    repeats: int = 3,
) -> BenchReport:
    """Time training to ``vocab_size`` tokens and encoding the whole text, ours against peers.

    ``path``: the text file (default: Tiny Shakespeare via ``dlf.data.load_text``);
    ``naive_chars``: length of the prefix the naive peer trains on (None: the whole text, which
    takes the naive trainer far longer); the naive encoder always runs on the whole text. Our
    encoding is timed cold (empty chunk cache), so it includes the merges.
    ``ratio``: ours / HF ``tokenizers`` training time when HF is installed, else ours / naive
    training time on the prefix.
    """
    if path is None:
        from dlf.data import load_text

        text, source = load_text("tinyshakespeare"), "Tiny Shakespeare"
    else:
        text, source = Path(path).read_text(encoding="utf-8"), str(path)
    regex_pattern = resolve_pattern(pattern)
    report = BenchReport(name=f"bpe (vocab {vocab_size}, split {pattern})")
    rows = report.rows

    tokenizer = BPETokenizer.train(text, vocab_size, pattern)
    train_s = best_time(lambda: BPETokenizer.train(text, vocab_size, pattern), repeats, warmup=0)

    def encode_cold(t: str = text) -> list[int]:
        tokenizer.clear_cache()
        return tokenizer.encode(t)

    encode_s = best_time(encode_cold, repeats, warmup=1)
    n_ids = len(encode_cold())
    warm_s = best_time(lambda: tokenizer.encode(text), repeats, warmup=1)
    n_bytes = len(text.encode("utf-8"))
    rows += [
        ("ours: train, whole text", train_s, "s"),
        ("ours: encode, whole text (cold cache)", encode_s, "s"),
        ("ours: encode, whole text (warm cache)", warm_s, "s"),
        ("bytes per token", n_bytes / n_ids, "B"),
    ]
    report.notes.append(
        f"{source}: {len(text):,} characters; targets train <= {TRAIN_TARGET_S:g} s "
        f"({'met' if train_s <= TRAIN_TARGET_S else 'not met'}), encode <= {ENCODE_TARGET_S:g} s "
        f"({'met' if encode_s <= ENCODE_TARGET_S else 'not met'})"
    )

    naive_encode_s = best_time(lambda: naive_encode(text, tokenizer.vocab, pattern), 1, warmup=0)
    same_ids = naive_encode(text, tokenizer.vocab, pattern) == encode_cold()
    prefix = text if naive_chars is None else text[:naive_chars]
    ours_prefix_train = best_time(
        lambda: BPETokenizer.train(prefix, vocab_size, pattern), repeats, warmup=0
    )
    small = BPETokenizer.train(prefix, vocab_size, pattern)
    naive_train_s = best_time(lambda: naive_train(prefix, vocab_size, pattern), 1, warmup=0)
    vocab, merges = naive_train(prefix, vocab_size, pattern)
    same_merges = merges == small.merges and vocab == small.vocab
    what = "whole text" if naive_chars is None else f"first {len(prefix):,} chars"
    rows += [
        ("naive: encode, whole text", naive_encode_s, "s"),
        (f"naive: train, {what}", naive_train_s, "s"),
        (f"ours: train, {what}", ours_prefix_train, "s"),
        ("encode speed-up over naive", naive_encode_s / encode_s, "x"),
        (f"train speed-up over naive, {what}", naive_train_s / ours_prefix_train, "x"),
    ]
    report.notes.append(
        f"naive peer: same ids as ours: {same_ids}; trained on the {what} "
        f"(naive_chars={naive_chars}): same merges as ours: {same_merges}"
    )

    hf = hf_tokenizer_times(text, vocab_size, regex_pattern, repeats)
    if hf is None:
        report.notes.append("HF tokenizers not installed (pip install tokenizers): no HF ratio")
        report.ratio, report.ratio_of = (
            ours_prefix_train / naive_train_s,
            f"train time vs naive, {what}",
        )
    else:
        hf_train, hf_encode, hf_ids = hf
        rows += [
            ("HF tokenizers: train, whole text", hf_train, "s"),
            ("HF tokenizers: encode, whole text", hf_encode, "s"),
            ("HF tokenizers: bytes per token", n_bytes / hf_ids, "B"),
            ("encode time ours/HF", encode_s / hf_encode, ""),
        ]
        report.ratio, report.ratio_of = train_s / hf_train, "train time vs HF tokenizers"
    return report
