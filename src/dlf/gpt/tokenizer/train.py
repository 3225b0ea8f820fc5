"""Training byte-level BPE: merge the most frequent adjacent pair, again and again.

Counting is done over the UNIQUE pre-split chunks, each weighted by how often it occurs, and the
counts are updated incrementally: merging a pair only touches the chunks that contain it (found
through an index pair -> chunks), and inside such a chunk only the pairs next to each merged
occurrence change (:func:`merge_and_count`), so a merge costs time in proportion to those
chunks, not to the whole text. A heap ordered by (-count, pair) gives the next pair to merge.

Tie-breaking rule (deterministic): the pair with the highest count wins; among equally frequent
pairs, the smallest ``(left id, right id)`` wins. Pairs are counted with overlaps
(``[a, a, a]`` holds ``(a, a)`` twice) and merged left to right (``[a, a, a]`` -> ``[aa, a]``).
A merge whose bytes are already a token (reached before through another split) reuses that
token's id, so every token's bytes are unique.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from heapq import heapify, heappop, heappush
from itertools import pairwise

Pair = tuple[int, int]


def pair_counts(ids: list[int], counts: dict[Pair, int] | None = None, weight: int = 1):
    """Count adjacent pairs of ``ids`` (each occurrence adds ``weight``) into ``counts``.

    Example: ``pair_counts([1, 2, 3, 1, 2])`` -> ``{(1, 2): 2, (2, 3): 1, (3, 1): 1}``.
    """
    counts = {} if counts is None else counts
    for pair in pairwise(ids):
        counts[pair] = counts.get(pair, 0) + weight
    return counts


def merge_pair(ids: list[int], pair: Pair, new_id: int) -> list[int]:
    """Replace every occurrence of ``pair`` in ``ids``, left to right, by ``new_id``.

    Example: ``merge_pair([1, 2, 3, 1, 2], (1, 2), 4)`` -> ``[4, 3, 4]``;
    ``merge_pair([5, 5, 5], (5, 5), 6)`` -> ``[6, 5]``.
    """
    a, b = pair
    out = []
    i, n = 0, len(ids)
    while i < n:
        if ids[i] == a and i + 1 < n and ids[i + 1] == b:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def add_token(vocab: list[bytes], ids: dict[bytes, int], token: bytes) -> int:
    """The id of ``token``, appending it to ``vocab`` (and ``ids``) if it is new.

    Example: ``vocab = [b"a", b"b"]``: ``add_token(vocab, {b"a": 0, b"b": 1}, b"ab")`` -> ``2``
    (and ``vocab`` becomes ``[b"a", b"b", b"ab"]``); adding ``b"ab"`` again -> ``2``.
    """
    token_id = ids.get(token)
    if token_id is None:
        token_id = ids[token] = len(vocab)
        vocab.append(token)
    return token_id


def byte_vocab() -> list[bytes]:
    """The 256 single-byte tokens, id = byte value: ``[b"\\x00", b"\\x01", ..., b"\\xff"]``."""
    return [bytes([b]) for b in range(256)]


def merge_and_count(
    ids: list[int],
    pair: Pair,
    new_id: int,
    weight: int,
    delta: dict[Pair, int],
    where: dict[Pair, set[int]],
    chunk: int,
) -> list[int]:
    """:func:`merge_pair` on chunk number ``chunk``, also recording how its pairs change.

    (:func:`merge_pair` stays the plain textbook loop: it is the solution of exercise
    ``bpe-merges``; this is the same walk with the bookkeeping of incremental training.)
    Each merged occurrence ``x a b y`` -> ``x N y`` removes the pairs ``(x, a)``, ``(a, b)``,
    ``(b, y)`` and adds ``(x, N)``, ``(N, y)``: ``delta`` (pair -> change of count) gets each
    change times ``weight`` (the number of occurrences of the chunk), and ``where`` (pair ->
    chunks) gets ``chunk`` under each added pair. ``x`` is read from the merged output, so in
    ``a b a b`` the second merge sees ``x = N`` and turns the ``(N, a)`` just added into
    ``(N, N)``.
    Example: ``merge_and_count([1, 2, 3, 1, 2], (1, 2), 4, 1, delta, where, 0)`` -> ``[4, 3, 4]``,
    delta ``{(1, 2): -2, (2, 3): -1, (4, 3): 1, (3, 1): -1, (3, 4): 1}``, ``where[4, 3]`` and
    ``where[3, 4]`` hold chunk 0.
    """
    a, b = pair
    out: list[int] = []
    i, n = 0, len(ids)
    while i < n:
        if ids[i] == a and i + 1 < n and ids[i + 1] == b:
            delta[pair] -= weight
            if out:
                x = out[-1]
                delta[x, a] -= weight
                delta[x, new_id] += weight
                where[x, new_id].add(chunk)
            if i + 2 < n:
                y = ids[i + 2]
                delta[b, y] -= weight
                delta[new_id, y] += weight
                where[new_id, y].add(chunk)
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def train_bpe(
    chunks: Mapping[bytes, int],
    vocab_size: int,
    on_merge: Callable[[list[bytes], Pair, int, int], None] | None = None,
) -> tuple[list[bytes], list[Pair]]:
    """Learn merges until the vocabulary holds ``vocab_size`` tokens (or no pair is left).

    ``chunks``: chunk bytes -> number of occurrences in the text. Starts from the 256 byte tokens
    (:func:`byte_vocab`); each step merges the most frequent pair (rule: module docstring).
    ``on_merge(vocab, pair, new_id, count)`` is called after each merge (for progress output).
    Returns ``(vocab, merges)``: ``vocab[i]`` the bytes of token i (``len(vocab) <= vocab_size``),
    ``merges`` the merged pairs in order.
    Example: ``train_bpe({b"abab": 1, b"ab": 2}, 257)`` -> vocab ending in ``b"ab"``, merges
    ``[(97, 98)]``.
    """
    vocab = byte_vocab()
    ids_of = {token: i for i, token in enumerate(vocab)}
    seqs = [list(chunk) for chunk in chunks]
    weights = list(chunks.values())
    counts: dict[Pair, int] = defaultdict(int)
    where: dict[Pair, set[int]] = defaultdict(set)  # pair -> chunks that (may) contain it
    for c, seq in enumerate(seqs):
        w = weights[c]
        for pair in pairwise(seq):
            counts[pair] += w
            where[pair].add(c)
    heap = [(-n, a, b) for (a, b), n in counts.items()]  # max count, then smallest pair
    heapify(heap)
    merges: list[Pair] = []
    while len(vocab) < vocab_size:
        while heap:
            negative, a, b = heappop(heap)
            count = counts.get((a, b), 0)
            if count == -negative and count > 0:  # else a stale entry: a newer one exists
                break
        else:
            break  # no pair left: every chunk is a single token
        pair = (a, b)
        new = add_token(vocab, ids_of, vocab[a] + vocab[b])
        merges.append(pair)
        delta: dict[Pair, int] = defaultdict(int)
        for c in where.pop(pair):  # a superset: a chunk may have lost the pair to a merge
            seqs[c] = merge_and_count(seqs[c], pair, new, weights[c], delta, where, c)
        for p, d in delta.items():
            if d:
                n = counts[p] + d
                if n:
                    counts[p] = n
                    heappush(heap, (-n, *p))
                else:
                    del counts[p]
        if on_merge is not None:
            on_merge(vocab, pair, new, count)
    return vocab, merges
