"""Encoding one chunk with a byte-level BPE vocabulary: tiktoken's merge rule.

Rule: start from the chunk's single bytes; while some adjacent pair ``(x, y)`` has a
concatenation ``x + y`` that is a token, merge the pair whose token has the lowest id (rank),
the leftmost one on ties. A chunk that is itself a token is that one token.

This rule needs only the vocabulary (token bytes -> id), not the list of merges, and it is the
rule of tiktoken, so a tokenizer loaded from GPT-2's files gives tiktoken's ids exactly.
"""

from __future__ import annotations

import heapq
import sys
from itertools import pairwise

_NONE = sys.maxsize  # rank of a pair whose concatenation is not a token

HEAP_FROM = 256
"""Chunks longer than this many bytes are merged with a heap (O(n log n)) instead of by scanning
the pair ranks at each step (O(n) per merge, fast for the short chunks that pre-splitting makes)."""


def bpe_merge(piece: bytes, ranks: dict[bytes, int]) -> list[int]:
    """Token ids of one chunk under tiktoken's rule (see the module docstring).

    ``piece``: the chunk's UTF-8 bytes, length n >= 1; ``ranks``: token bytes -> id, holding all
    256 single bytes. Returns m <= n ids whose tokens concatenate to ``piece``.
    Example (ranks ``{b"a": 0, b"b": 1, b"c": 2, b"ab": 3, b"bc": 4}``): ``b"abc"`` -> ``[3, 2]``
    (``ab`` has a lower id than ``bc``).
    """
    token = ranks.get(piece)
    if token is not None:
        return [token]
    if len(piece) > HEAP_FROM:
        return bpe_merge_heap(piece, ranks)
    return bpe_merge_scan(piece, ranks)


def bpe_merge_scan(piece: bytes, ranks: dict[bytes, int]) -> list[int]:
    """:func:`bpe_merge` by keeping the rank of every adjacent pair in a list and scanning it.

    The parts are named by their boundaries: part k is ``piece[bounds[k]:bounds[k + 1]]``, and
    ``pair_ranks[k]`` is the rank of parts k and k + 1 together. Merging pair k deletes boundary
    k + 1; only the ranks of pairs k - 1 and k change, so a step costs one ``min`` over the list
    (in C) plus two dictionary look-ups.
    Example: as :func:`bpe_merge`.
    """
    get = ranks.get
    bounds = list(range(len(piece) + 1))
    pair_ranks = [get(piece[i : i + 2], _NONE) for i in range(len(piece) - 1)]
    while pair_ranks:
        best = min(pair_ranks)
        if best == _NONE:
            break
        k = pair_ranks.index(best)  # leftmost pair of lowest rank
        del bounds[k + 1]
        del pair_ranks[k]
        if k > 0:
            pair_ranks[k - 1] = get(piece[bounds[k - 1] : bounds[k + 1]], _NONE)
        if k < len(pair_ranks):
            pair_ranks[k] = get(piece[bounds[k] : bounds[k + 2]], _NONE)
    return [ranks[piece[start:end]] for start, end in pairwise(bounds)]


def bpe_merge_heap(piece: bytes, ranks: dict[bytes, int]) -> list[int]:
    """:func:`bpe_merge` with a heap of candidate pairs: O(n log n) for a chunk of n bytes.

    Each part is named by its start offset; ``end[s]`` is its end (``-1`` once it has been
    absorbed by its left neighbour), ``prev[s]`` the start of the part before it. A heap entry
    ``(rank, left, right, right_end)`` is current only while both parts still span exactly
    ``[left, right)`` and ``[right, right_end)``; stale entries are skipped when popped. Popping
    ``(rank, left)`` in order gives the lowest rank, leftmost first: the same rule as the scan.
    Example: as :func:`bpe_merge`.
    """
    n = len(piece)
    end = list(range(1, n + 1))
    prev = list(range(-1, n - 1))
    heap = []
    for i in range(n - 1):
        rank = ranks.get(piece[i : i + 2])
        if rank is not None:
            heap.append((rank, i, i + 1, i + 2))
    heapq.heapify(heap)
    push, pop = heapq.heappush, heapq.heappop
    while heap:
        _, left, right, right_end = pop(heap)
        if end[left] != right or end[right] != right_end:
            continue
        end[left] = right_end
        end[right] = -1
        before = prev[left]
        if before >= 0:
            rank = ranks.get(piece[before:right_end])
            if rank is not None:
                push(heap, (rank, before, left, right_end))
        if right_end < n:
            prev[right_end] = left
            after_end = end[right_end]
            rank = ranks.get(piece[left:after_end])
            if rank is not None:
                push(heap, (rank, left, right_end, after_end))
    ids = []
    start = 0
    while start < n:
        ids.append(ranks[piece[start : end[start]]])
        start = end[start]
    return ids
