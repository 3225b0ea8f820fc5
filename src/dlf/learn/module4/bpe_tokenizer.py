"""Exercise ``bpe-tokenizer``: train a byte-level BPE tokenizer, encode and decode with it.

Reference: :class:`dlf.gpt.tokenizer.BPETokenizer` with ``pattern=None`` (no regex split: the
whole text is one chunk): ``BPETokenizer.train(text, vocab_size, pattern=None).merges``, its
``encode`` and ``decode``. The project trains with an incremental heap over unique chunks and
encodes by tiktoken's rule, so the learner's file (a loop over ``pair_counts`` and
``merge_pair``, minbpe's way) holds its own solution bodies; on the grading texts both ways give
the same merges and ids (the tests check it through the solution).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from dlf.data import DataError
from dlf.gpt.tokenizer import BPETokenizer
from dlf.gpt.tokenizer.train import merge_pair, pair_counts
from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader
from dlf.learn.source import fill_bodies

STUB = '''"""Exercise bpe-tokenizer: train a byte-level BPE tokenizer, encode and decode with it.

Byte-level: a text is the list of its UTF-8 bytes, list(text.encode("utf-8")), so ids 0..255
are the 256 bytes and any text can be encoded. Training merges the most frequent adjacent pair
into a new token, again and again; merges[k] = (a, b) makes the token of id 256 + k, whose bytes
are those of a followed by those of b. No regex split here: the whole text is one sequence
(GPT-2 first cuts it into words; dlf's BPETokenizer(pattern=None) does as you do).
The two steps of exercise bpe-merges are given, imported from dlf: pair_counts(ids) -> {(a, b):
count} and merge_pair(ids, pair, new_id) -> new list. Check with `dlf learn check bpe-tokenizer`.
"""

from dlf.gpt.tokenizer.train import merge_pair, pair_counts


def train(text, vocab_size):
    """Learn vocab_size - 256 merges from the bytes of text.

    ids = the text's UTF-8 bytes; for k = 0, 1, ..., vocab_size - 257:
        counts = pair_counts(ids); pair = the most frequent pair;
        ids = merge_pair(ids, pair, 256 + k); merges.append(pair)
    Ties (dlf's rule): among equally frequent pairs take the smallest pair, comparing the
    tuples (left id first, then right id). minbpe's max(counts, key=counts.get) takes the
    first pair seen instead: not the same merges. Stop early when no pair is left (ids of
    length < 2).
    Shapes: text a str, vocab_size an int >= 256 -> merges, a list of (int, int) tuples in the
    order learnt (len vocab_size - 256, or fewer when the text runs out of pairs).
    Checked: equal to dlf's BPETokenizer.train(text, vocab_size, pattern=None).merges on
    texts you never see (a generated multilingual text, a slice of Tiny Shakespeare), a text
    with ties, one that runs out of pairs, the empty text, vocab_size = 256.
    """
    raise NotImplementedError


def encode(text, merges):
    """The token ids of text: its UTF-8 bytes, merged by the learnt merges in their order.

    Rank of a pair = its index in merges. Repeat: among the adjacent pairs of ids that are in
    merges, take the one of LOWEST rank k and merge it everywhere (merge_pair with 256 + k);
    stop when no adjacent pair is in merges. (The most frequent pair of THIS text is not the
    rule: the merges apply in the order they were learnt.)
    Shapes: text a str (may be empty), merges a list of M (int, int) tuples -> a list of ints
    in 0..255 + M.
    Checked: equal to dlf's BPETokenizer encode on held-out texts (other Shakespeare, words,
    é, emoji never seen in training), "" -> [], one character.
    """
    raise NotImplementedError


def decode(ids, merges):
    """The text of token ids: the bytes of every token joined, then read as UTF-8.

    vocab[i] = bytes([i]) for i < 256; vocab[256 + k] = vocab[a] + vocab[b] for merges[k] =
    (a, b). Join ALL the bytes first, then .decode("utf-8", errors="replace"): one character
    (é is 2 bytes, an emoji 4) may be split over two tokens, and a sequence of ids that is not
    valid UTF-8 (half an emoji) becomes U+FFFD instead of an error.
    Shapes: ids a list of ints, merges as in encode -> a str.
    Checked: equal to dlf's decode on the ids of held-out texts, on ids that split a
    multi-byte character, on 3 of the 4 bytes of an emoji; decode(encode(t)) == t.
    """
    raise NotImplementedError
'''

TRAIN = """
ids = list(text.encode("utf-8"))
merges = []
for k in range(vocab_size - 256):
    counts = pair_counts(ids)
    if not counts:
        break
    pair = min(counts, key=lambda p: (-counts[p], p))  # most frequent; ties: smallest pair
    ids = merge_pair(ids, pair, 256 + k)
    merges.append(pair)
return merges
"""

ENCODE = """
ranks = {pair: k for k, pair in enumerate(merges)}
ids = list(text.encode("utf-8"))
while len(ids) >= 2:
    counts = pair_counts(ids)
    pair = min(counts, key=lambda p: ranks.get(p, len(ranks)))
    if pair not in ranks:
        break
    ids = merge_pair(ids, pair, 256 + ranks[pair])
return ids
"""

DECODE = """
vocab = [bytes([i]) for i in range(256)]
for a, b in merges:
    vocab.append(vocab[a] + vocab[b])
return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")
"""

SOLUTION = fill_bodies(STUB, {"train": TRAIN, "encode": ENCODE, "decode": DECODE})

WORDS = (
    "the", "then", "there", "cat", "cats", "hat", "that", "café", "cafés", "naïve", "über",
    "日本", "日本語", "😀", "😀😀", "a", "an", "and", "sand", "band", "re", "rerun", "aaa",
)  # fmt: skip
SHAKESPEARE_TRAIN = (400_000, 2_000)  # (offset, characters) in Tiny Shakespeare
SHAKESPEARE_HELD_OUT = (700_000, 400)
VOCAB_SIZE = 300


def generated_text(seed: int, words: int) -> str:
    """Words drawn from WORDS (ASCII, accents, CJK, emoji), separated by spaces and newlines."""
    rng = random.Random(seed)
    return "".join(rng.choice(WORDS) + rng.choice("     \n,") for _ in range(words))


def _reference(text: str, vocab_size: int) -> BPETokenizer:
    return BPETokenizer.train(text, vocab_size, pattern=None)


# -- what mistaken code returns ---------------------------------------------------------------


CODE_POINTS = (
    "the ids are the text's characters (ord(c)), not its UTF-8 bytes: ids = "
    'list(text.encode("utf-8")) (é is 2 bytes, an emoji 4)'
)


def _train_by(text: str, vocab_size: int, rule: str) -> list[tuple[int, int]]:
    """What wrong training returns. ``rule``: "first seen" (minbpe's tie rule, max(counts,
    key=counts.get)) or "code points" (the rule on ord(c) instead of the bytes)."""
    ids = [ord(c) for c in text] if rule == "code points" else list(text.encode("utf-8"))
    merges = []
    for k in range(vocab_size - 256):
        counts = pair_counts(ids)
        if not counts:
            break
        if rule == "first seen":
            pair = max(counts, key=counts.get)
        else:
            pair = min(counts, key=lambda p: (-counts[p], p))
        ids = merge_pair(ids, pair, 256 + k)
        merges.append(pair)
    return merges


def _encode_by(text: str, merges: list, pick: str, first: int = 256) -> list[int]:
    """What wrong encoders return. ``pick``: "rank" (the rule), "frequency" (the most frequent
    known pair of the text, ties to the first seen), "frequency, rank" (ties to the lowest
    rank), "reversed" (highest rank first), "once" (the pairs of the raw bytes, counted once,
    in rank order), "code points" (the rule on ord(c)). ``first``: the id of merge 0 (256)."""
    ranks = {p: k for k, p in enumerate(merges)}
    ids = [ord(c) for c in text] if pick == "code points" else list(text.encode("utf-8"))
    if pick == "once":
        for pair in sorted((p for p in pair_counts(ids) if p in ranks), key=ranks.get):
            ids = merge_pair(ids, pair, first + ranks[pair])
        return ids
    choose = {
        "rank": lambda counts: min(counts, key=ranks.get),
        "code points": lambda counts: min(counts, key=ranks.get),
        "frequency": lambda counts: max(counts, key=counts.get),
        "frequency, rank": lambda counts: min(counts, key=lambda p: (-counts[p], ranks[p])),
        "reversed": lambda counts: max(counts, key=ranks.get),
    }[pick]
    while len(ids) >= 2:
        counts = {p: n for p, n in pair_counts(ids).items() if p in ranks}
        if not counts:
            break
        pair = choose(counts)
        ids = merge_pair(ids, pair, first + ranks[pair])
    return ids


def _vocab(merges: list, swapped: bool = False) -> list[bytes]:
    vocab = [bytes([i]) for i in range(256)]
    for a, b in merges:
        vocab.append(vocab[b] + vocab[a] if swapped else vocab[a] + vocab[b])
    return vocab


def _decode_mistakes(ids: list[int], merges: list) -> dict[str, str]:
    vocab = _vocab(merges)
    return {
        "each token was decoded on its own: join the bytes of ALL tokens first, then decode "
        "once (a character's bytes may be split over two tokens)": "".join(
            vocab[i].decode("utf-8", errors="replace") for i in ids
        ),
        "the ids were joined as characters (chr): look up the bytes of each id (vocab) and "
        "decode the joined bytes as UTF-8": "".join(chr(i) for i in ids),
        "vocab[256 + k] = vocab[b] + vocab[a]: the left token's bytes come first, "
        "vocab[a] + vocab[b]": b"".join(_vocab(merges, swapped=True)[i] for i in ids).decode(
            "utf-8", errors="replace"
        ),
    }


# -- checks -----------------------------------------------------------------------------------


def _as_merges(got) -> list[tuple[int, int]] | None:
    """``got`` as a list of int pairs (tuples or lists), else None."""
    if not isinstance(got, list | tuple):
        return None
    out = []
    for pair in got:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            return None
        if not all(isinstance(i, int) for i in pair):
            return None
        out.append((int(pair[0]), int(pair[1])))
    return out


def _offset(got: list, want: list) -> int | None:
    """The constant shift of the new ids (>= 256) of ``got`` against ``want``, if that is all."""
    shifts = {
        g - w
        for gp, wp in zip(got, want, strict=True)
        for g, w in zip(gp, wp, strict=True)
        if g != w or w >= 256
    }
    if len(shifts) != 1:
        return None
    same_bytes = all(
        g == w for gp, wp in zip(got, want, strict=True) for g, w in zip(gp, wp, strict=True)
        if w < 256
    )  # fmt: skip
    shift = shifts.pop()
    return shift if shift and same_bytes else None


def _train_diagnosis(text: str, vocab_size: int, got: list, want: list) -> str:
    if not text.isascii() and got == _train_by(text, vocab_size, "code points"):
        return CODE_POINTS
    if len(got) == len(want):
        shift = _offset(got, want)
        if shift is not None:
            return (
                f"new ids must be 256, 257, ...: merge k makes id 256 + k (yours are off by "
                f"{shift:+d})"
            )
    if len(got) < len(want) and got == want[: len(got)]:
        return (
            f"{len(got)} merges instead of {len(want)}: learn vocab_size - 256 merges "
            "(for k in range(vocab_size - 256)), fewer only when no pair is left"
        )
    if len(got) > len(want) and got[: len(want)] == want:
        return (
            f"{len(got)} merges instead of {len(want)}: vocab_size counts the 256 byte tokens "
            "too, so learn vocab_size - 256 merges"
        )
    k = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), None)
    if k is None:
        return ""
    ids = list(text.encode("utf-8"))
    for i, pair in enumerate(want[:k]):
        ids = merge_pair(ids, pair, 256 + i)
    counts = pair_counts(ids)
    mine, best = counts.get(got[k], 0), counts[want[k]]
    if k > 0 and got[k] == got[k - 1]:
        return (
            "the same pair was merged twice: ids = merge_pair(ids, pair, new_id) must replace "
            "the sequence after each merge"
        )
    if mine == best:
        first_seen = got == _train_by(text, vocab_size, "first seen")
        return (
            f"merge {k}: {got[k]} and {want[k]} both occur {best} times; a tie goes to the "
            "smallest pair, min(counts, key=lambda p: (-counts[p], p))"
            + (" (max(counts, key=counts.get) takes the first pair seen)" if first_seen else "")
        )
    if mine == 0:
        return (
            f"merge {k}: the pair {got[k]} does not occur in the ids: are the ids merged with "
            "the new id 256 + k, and counted again after each merge?"
        )
    return (
        f"merge {k}: {got[k]} occurs {mine} times, but {want[k]} occurs {best} times: take "
        "the MOST frequent pair"
    )


def _difference(got, want, unit: str) -> str:
    """Where two lists or strings first differ, with a little context around it."""
    i = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), None)
    if i is None:
        i = min(len(got), len(want))
    lo = max(i - 3, 0)
    return (
        f"{len(got)} {unit}, expected {len(want)}; from position {lo}: got {got[lo : i + 6]!r}, "
        f"expected {want[lo : i + 6]!r}"
    )


def _check_train(g: Grader, fn: Callable, text: str, vocab_size: int, label: str) -> bool:
    want = _reference(text, vocab_size).merges
    with g.case(f"train({label}, vocab_size={vocab_size})"):
        got = g.call(fn, text, vocab_size)
        if isinstance(got, dict):
            return g.check(
                "train returns a list of merges",
                False,
                "got a dict",
                "return the list of pairs in the order learnt (minbpe keeps a dict {pair: "
                "new_id}; here merges[k] makes id 256 + k): list(merges) keeps the order",
            )
        pairs = _as_merges(got)
        if pairs is None:
            return g.check(
                "train returns a list of (int, int) pairs",
                False,
                f"got {type(got).__name__}: {got!r}"[:120],
                "a missing return statement" if got is None else "",
            )
        detail = f"{len(pairs)} merges, expected {len(want)}"
        k = next((i for i, (a, b) in enumerate(zip(pairs, want, strict=False)) if a != b), None)
        if k is not None:
            detail = f"merge {k} (new id {256 + k}) is {pairs[k]}, expected {want[k]}"
        return g.check(
            "train: the merges",
            pairs == want,
            detail,
            "" if pairs == want else _train_diagnosis(text, vocab_size, pairs, want),
        )


def _check_encode(g: Grader, fn: Callable, text: str, merges: list, label: str) -> list | None:
    tok = BPETokenizer(_vocab(merges), merges, pattern=None)
    want = tok.encode(text)
    with g.case(f"encode({label}) with {len(merges)} merges"):
        got = g.call(fn, text, list(merges))
        if not isinstance(got, list) or not all(isinstance(i, int) for i in got):
            g.check(
                "encode returns a list of ints",
                False,
                f"got {type(got).__name__}: {got!r}"[:120],
                "a missing return statement" if got is None else "return the list of ids",
            )
            return None
        by_frequency = (
            "merges applied by their frequency in the text to encode: the rule is the order "
            "they were learnt, the pair of LOWEST rank (index in merges) first"
        )
        mistakes = {
            by_frequency: _encode_by(text, merges, "frequency"),
            by_frequency + " ": _encode_by(text, merges, "frequency, rank"),
            "merges applied from the last learnt: the lowest rank (index in merges) goes "
            "first": _encode_by(text, merges, "reversed"),
            "the pairs were counted once, before merging: count again after each merge (a new "
            "token forms new pairs with its neighbours)": _encode_by(text, merges, "once"),
        }
        if not text.isascii():
            mistakes[CODE_POINTS] = _encode_by(text, merges, "code points")
        for first in (255, 257):
            mistakes[f"merges[k] makes id 256 + k, not {first} + k"] = _encode_by(
                text, merges, "rank", first
            )
        diagnosis = next((m for m, v in mistakes.items() if v != want and got == v), "")
        if not diagnosis and got == list(text.encode("utf-8")) and want != got:
            diagnosis = "nothing was merged: look each adjacent pair up in the ranks of merges"
        g.check("encode: the ids", got == want, _difference(got, want, "ids"), diagnosis.strip())
        return got


FAILED = object()  # decode raised an error that a failed check already names


def _call_decode(g: Grader, fn: Callable, ids: list[int], merges: list):
    """``fn(ids, merges)``; the errors a strict or byte-only decode raises become a failed
    check with a diagnosis, and FAILED is returned."""
    try:
        return fn(list(ids), list(merges))
    except UnicodeDecodeError as err:
        g.check(
            "decode never raises on ids that are not valid UTF-8",
            False,
            f"UnicodeDecodeError: {err}",
            'decode with errors="replace": an invalid byte sequence becomes U+FFFD',
        )
    except ValueError as err:
        if "range(0, 256)" not in str(err):
            raise g.error(err, "decode") from None
        g.check(
            "decode: the text",
            False,
            f"ValueError: {err}",
            "bytes(ids) works for single bytes only: ids >= 256 are merged tokens; look up the "
            "bytes of each id (vocab) and join them",
        )
    except Exception as err:
        raise g.error(err, "decode") from None
    return FAILED


def _check_decode(g: Grader, fn: Callable, ids: list[int], merges: list, label: str) -> None:
    want = BPETokenizer(_vocab(merges), merges, pattern=None).decode(ids)
    with g.case(f"decode({label}) with {len(merges)} merges"):
        got = _call_decode(g, fn, ids, merges)
        if got is FAILED:
            return
        if not isinstance(got, str):
            g.check(
                "decode returns a str",
                False,
                f"got {type(got).__name__}: {got!r}"[:120],
                "a missing return statement"
                if got is None
                else '.decode("utf-8", errors="replace") turns the bytes into a str',
            )
            return
        mistakes = _decode_mistakes(ids, merges)
        diagnosis = next((m for m, v in mistakes.items() if v != want and got == v), "")
        g.check("decode: the text", got == want, _difference(got, want, "characters"), diagnosis)


def _not_dlfs(g: Grader) -> None:
    """The learner's file must not hand training or encoding to dlf's BPETokenizer."""
    from dlf.gpt.tokenizer import merge as dlf_merge
    from dlf.gpt.tokenizer import train as dlf_train

    whole = {
        BPETokenizer,
        dlf_train.train_bpe,
        dlf_merge.bpe_merge,
        dlf_merge.bpe_merge_scan,
        dlf_merge.bpe_merge_heap,
    }
    used = sorted(name for name, value in vars(g.module).items() if any(value is w for w in whole))
    g.check(
        "your own tokenizer (not dlf's BPETokenizer)",
        not used,
        f"the file imports {', '.join(used)}",
        "only pair_counts and merge_pair are given: the training loop, the encoder and the "
        "decoder are the exercise",
    )


def _shakespeare() -> str:
    from dlf.data.text import load_text

    return load_text("tinyshakespeare")


def grade(g: Grader) -> None:
    _not_dlfs(g)
    train, encode, decode = g.function("train"), g.function("encode"), g.function("decode")
    corpus = generated_text(0, 300)
    small = (
        ("'aaabdaaabac'", "aaabdaaabac", 259),  # a tie: (97, 98) and (256, 97), twice each
        ("'aaaa'", "aaaa", VOCAB_SIZE),  # runs out of pairs after 2 merges
        ("''", "", 260),
        ("'hello'", "hello", 256),
    )
    _check_train(g, train, corpus, VOCAB_SIZE, f"a generated text of {len(corpus)} chars")
    for label, text, size in small:
        _check_train(g, train, text, size, label)

    try:
        full = _shakespeare()
    except DataError as err:
        full = None
        g.check("Tiny Shakespeare is available", False, str(err).splitlines()[0])
    held_out = [("a generated text of 80 words (seed 1)", generated_text(1, 80))]
    corpora = [("generated", corpus)]
    if full is not None:
        start, n = SHAKESPEARE_TRAIN
        piece = full[start : start + n]
        _check_train(g, train, piece, VOCAB_SIZE, f"Tiny Shakespeare [{start}:{start + n}]")
        corpora.append(("Shakespeare", piece))
        start, n = SHAKESPEARE_HELD_OUT
        held_out.append((f"Tiny Shakespeare [{start}:{start + n}]", full[start : start + n]))
    held_out += [
        ("'café — naïve über 日本語 🦀 😀!'", "café — naïve über 日本語 🦀 😀!"),
        ("'the cat'", "the cat"),
        ("'é'", "é"),
        ("''", ""),
    ]

    for name, text in corpora:
        merges = _reference(text, VOCAB_SIZE).merges
        for label, t in held_out:
            _check_encode(g, encode, t, merges, label)
        for label, t in held_out:
            ids = BPETokenizer(_vocab(merges), merges, pattern=None).encode(t)
            _check_decode(g, decode, ids, merges, f"the ids of {label}")
        emoji = list("😀".encode())
        _check_decode(g, decode, emoji[:3], merges, "3 of the 4 bytes of 😀")
        _check_decode(g, decode, [*emoji[:2], 32, *emoji[2:]], merges, "😀 cut by a space")
        with g.case(f"decode(encode(t)) on the held-out texts, {name} merges"):
            _round_trip(g, encode, decode, held_out, merges)


def _round_trip(g: Grader, encode: Callable, decode: Callable, texts, merges: list) -> None:
    """The learner's decode(encode(t)) == t; an error in decode on ids that the learner's
    encode made is a failed check (encode's own checks say what is wrong with them)."""
    for label, t in texts:
        ids = g.call(encode, t, list(merges))
        try:
            back = decode(ids, list(merges))
        except Exception as err:
            g.check(
                "decode(encode(t)) == t",
                False,
                f"{label}: decode raised {type(err).__name__}: {err}".splitlines()[0][:160],
            )
            return
        if back != t:
            g.check("decode(encode(t)) == t", False, f"{label} came back as {back!r}"[:160])
            return
    g.check("decode(encode(t)) == t", True)


EXERCISE = Exercise(
    name="bpe-tokenizer",
    module=4,
    number=2,
    title="A byte-level BPE tokenizer: train, encode, decode",
    concept="Byte-level BPE tokenization",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "train: ids = list(text.encode('utf-8')); loop vocab_size - 256 times: counts = "
        "pair_counts(ids), pick a pair, ids = merge_pair(ids, pair, 256 + k), remember the pair.",
        "The pick: the highest count, and on a tie the smallest pair: "
        "min(counts, key=lambda p: (-counts[p], p)). Break out of the loop when counts is empty.",
        "encode: ranks = {pair: k for k, pair in enumerate(merges)}; while the ids hold a pair "
        "that is in ranks, merge the one of lowest rank: min(counts, key=lambda p: "
        "ranks.get(p, float('inf'))), and stop when that pair is not in ranks.",
        "decode: vocab = [bytes([i]) for i in range(256)], then vocab.append(vocab[a] + "
        "vocab[b]) for each merge; b''.join(vocab[i] for i in ids).decode('utf-8', "
        "errors='replace').",
    ),
)
