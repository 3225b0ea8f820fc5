"""``dlf bench bpe``: training and encoding Tiny Shakespeare with our byte-level BPE.

Peers, measured in the same run: a straightforward BPE kept here (every merge re-counts every
pair of every chunk occurrence; encoding merges each chunk occurrence afresh, no cache) and, when
installed, the Rust tokenizers: Hugging Face ``tokenizers`` for training, and ``tiktoken`` for
encoding with GPT-2's ranks (built offline from the GPT-2 files of :mod:`dlf.data`; the ids must
be identical to ours). The naive trainer re-counts the whole text at every merge, so by default
it trains on a prefix, and ours is timed on the same prefix for that ratio.
"""

from __future__ import annotations

import os
from pathlib import Path

import regex

from dlf.bench import BenchReport, best_time
from dlf.gpt.tokenizer.bpe import BPETokenizer
from dlf.gpt.tokenizer.pretokenize import resolve_pattern, split_chunks
from dlf.gpt.tokenizer.train import add_token, byte_vocab, merge_pair, pair_counts

TRAIN_TARGET = 0.5
"""Aim for training: our time / Hugging Face ``tokenizers``' time, on the same text."""
ENCODE_TARGET = 1.0
"""Aim for GPT-2 encoding: our time (cold chunk cache) / ``tiktoken``'s time, on the same text."""


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


def gpt2_ranks_by_tiktoken(
    encoder_json: str | os.PathLike, vocab_bpe: str | os.PathLike
) -> dict[bytes, int]:
    """GPT-2's token bytes -> id, read from the two local files by tiktoken's own loader (with
    its own byte table: a reading of the files independent of ours).

    Nothing is downloaded or cached: an absolute path holds no ``://``, so tiktoken opens it as
    a local file, and ``TIKTOKEN_CACHE_DIR=""`` (set for the call only) makes it read the file
    directly instead of copying it into its cache. Raises ImportError without tiktoken.
    """
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    old = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = ""
    try:
        return data_gym_to_mergeable_bpe_ranks(
            str(Path(vocab_bpe).resolve()), str(Path(encoder_json).resolve())
        )
    finally:
        if old is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = old


def tiktoken_gpt2(encoder_json: str | os.PathLike, vocab_bpe: str | os.PathLike):
    """tiktoken's GPT-2 encoding built offline from GPT-2's two files: tiktoken's own GPT-2 split
    pattern, the ranks of :func:`gpt2_ranks_by_tiktoken`, ``<|endoftext|>`` = 50256.
    Raises ImportError without tiktoken."""
    import tiktoken
    from tiktoken_ext.openai_public import r50k_pat_str

    return tiktoken.Encoding(
        "gpt2-offline",
        pat_str=r50k_pat_str,
        mergeable_ranks=gpt2_ranks_by_tiktoken(encoder_json, vocab_bpe),
        special_tokens={"<|endoftext|>": 50256},
        explicit_n_vocab=50257,
    )


def check_same_ids(ours: list[int], theirs: list[int], peer: str) -> None:
    """Raise RuntimeError naming the first position where two id lists differ (none: return).

    Example: ``check_same_ids([5, 6, 7], [5, 8], "tiktoken")`` -> RuntimeError "... differ at
    position 1: ours [6, 7], tiktoken [8] ...".
    """
    if ours == theirs:
        return
    pairs = zip(ours, theirs, strict=False)
    i = next((k for k, (a, b) in enumerate(pairs) if a != b), min(len(ours), len(theirs)))
    raise RuntimeError(
        f"ours and {peer} differ at position {i}: ours {ours[i : i + 5]}, {peer} "
        f"{theirs[i : i + 5]} ({len(ours)} against {len(theirs)} ids)"
    )


def gpt2_against_tiktoken(text: str, repeats: int, report: BenchReport) -> None:
    """Encode ``text`` with GPT-2's ranks, ours (cold chunk cache) against tiktoken: add the
    times and the ratio to ``report`` (a note instead when tiktoken or the files are missing);
    RuntimeError if the ids differ."""
    from dlf.data import DataError, dataset_files

    try:
        files = dataset_files("gpt2")
        peer = tiktoken_gpt2(files["encoder.json"], files["vocab.bpe"])
    except ImportError:
        report.notes.append("tiktoken not installed (pip install tiktoken): no GPT-2 encode ratio")
        return
    except DataError as err:
        report.notes.append(f"GPT-2 files not available, no GPT-2 encode ratio: {err}")
        return
    gpt2 = BPETokenizer.from_gpt2(files["encoder.json"], files["vocab.bpe"])

    def encode_cold() -> list[int]:
        gpt2.clear_cache()
        return gpt2.encode_ordinary(text)

    ids = encode_cold()
    check_same_ids(ids, peer.encode_ordinary(text), "tiktoken")
    ours_s = best_time(encode_cold, repeats, warmup=1)
    warm_s = best_time(lambda: gpt2.encode_ordinary(text), repeats, warmup=1)
    peer_s = best_time(lambda: peer.encode_ordinary(text), repeats, warmup=1)
    ratio = ours_s / peer_s
    report.rows += [
        ("GPT-2 ranks, ours: encode, whole text (cold cache)", ours_s, "s"),
        ("GPT-2 ranks, ours: encode, whole text (warm cache)", warm_s, "s"),
        ("GPT-2 ranks, tiktoken: encode, whole text", peer_s, "s"),
        ("encode time ours/tiktoken, GPT-2 ranks, cold cache", ratio, ""),
    ]
    report.notes.append(
        f"GPT-2 encode vs tiktoken: ids identical ({len(ids):,} ids); ratio {ratio:.3f}, "
        f"target <= {ENCODE_TARGET:g}: {_met(ratio, ENCODE_TARGET)}"
    )


def _met(ratio: float, target: float) -> str:
    return "met" if ratio <= target else "not met"


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
    ``ratio``: ours / HF ``tokenizers`` training time when HF is installed (``target``
    :data:`TRAIN_TARGET`), else ours / naive training time on the prefix. The GPT-2 encoding
    against tiktoken is a row, its target :data:`ENCODE_TARGET` in a note.
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
    report.notes.append(f"{source}: {len(text):,} characters")

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
        report.target = TRAIN_TARGET
        report.notes.append(
            f"train vs HF tokenizers: ratio {report.ratio:.3f}, target <= {TRAIN_TARGET:g}: "
            f"{_met(report.ratio, TRAIN_TARGET)}"
        )
    gpt2_against_tiktoken(text, repeats, report)
    return report
