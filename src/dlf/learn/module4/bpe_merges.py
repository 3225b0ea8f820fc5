"""Exercise ``bpe-merges``: the two steps of byte-pair encoding, counting pairs and merging one.

Reference: :func:`dlf.gpt.tokenizer.train.pair_counts` and
:func:`dlf.gpt.tokenizer.train.merge_pair` (minbpe's ``get_stats`` and ``merge``); the solution
is their bodies. The values are lists and dicts of ints, so the grader compares them exactly and
names a mistake from the shape of the difference (a pair too many, the last pair missing...).
"""

from __future__ import annotations

from collections.abc import Callable

from dlf.gpt.tokenizer import train as bpe_train
from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader
from dlf.learn.source import fill_bodies

STUB = '''"""Exercise bpe-merges: the two steps of byte-pair encoding (BPE), as minbpe teaches them.

BPE training repeats two steps on a list of token ids (at first the UTF-8 bytes of a text):
count every adjacent pair, then replace every occurrence of the most frequent pair by a new id.
Write the two steps (minbpe calls them get_stats and merge; dlf calls them pair_counts and
merge_pair). Check with `dlf learn check bpe-merges` after each save.
"""

from itertools import pairwise  # pairwise([1, 2, 3]) -> (1, 2), (2, 3); use it or not


def pair_counts(ids, counts=None, weight=1):
    """Count the adjacent pairs of ids: counts[(ids[i], ids[i + 1])] += weight for every i.

    Pairs overlap: [7, 7, 7] holds (7, 7) twice. When a dict counts is given, add into it (it
    may already hold counts of other lists) and return that same dict; else start from {}.
    Example: pair_counts([1, 2, 3, 1, 2]) -> {(1, 2): 2, (2, 3): 1, (3, 1): 1}.
    Shapes: ids a list of n ints -> dict (int, int) -> int with n - 1 counts in all (times
    weight); n < 2 gives no pair.
    Checked: equal to dlf's counts on lists of length 0, 1, 2 and longer ones, runs of one id,
    adding into a given dict (the same dict returned), weight, and ids left unchanged.
    """
    raise NotImplementedError


def merge_pair(ids, pair, new_id):
    """A new list: ids with every occurrence of pair = (a, b) replaced by new_id.

    Scan left to right; where ids[i] == a and ids[i + 1] == b, emit new_id and jump over both
    (i += 2), else emit ids[i] (i += 1). Occurrences do not overlap: [7, 7, 7] with (7, 7)
    -> [new_id, 7]. Example: merge_pair([1, 2, 3, 1, 2], (1, 2), 4) -> [4, 3, 4].
    Shapes: ids a list of n ints, pair a tuple of 2 ints, new_id an int -> a list of <= n ints.
    Checked: equal to dlf's on the empty list, one id, runs of one id ([7, 7, 7], [7, 7, 7, 7]),
    a pair at the very end, no occurrence, longer random lists; ids left unchanged.
    """
    raise NotImplementedError
'''

SOLUTION = fill_bodies(
    STUB, {"pair_counts": bpe_train.pair_counts, "merge_pair": bpe_train.merge_pair}
)

# (ids, pair, new id); the runs of one id and the pair at the end are where merges go wrong
MERGE_CASES = (
    ([], (1, 2), 9),
    ([5], (5, 5), 9),
    ([1, 2, 3, 1, 2], (1, 2), 4),
    ([1, 2], (1, 2), 9),
    ([7, 7, 7], (7, 7), 9),
    ([7, 7, 7, 7], (7, 7), 9),
    ([3, 7, 7, 7, 3], (7, 7), 9),
    ([3, 1, 2], (1, 2), 9),
    ([1, 3, 2], (1, 2), 9),
    ([2, 1, 2, 1], (1, 2), 9),
)
COUNT_CASES = ([], [5], [1, 2], [1, 2, 3, 1, 2], [7, 7, 7], [4, 1, 4, 1, 4], [3, 1, 2])


def _random_ids(seed: int, n: int = 40) -> list[int]:
    """A list over a small alphabet: pairs repeat, runs of one id occur."""
    import random

    rng = random.Random(seed)
    return [rng.choice((0, 1, 1, 2, 3)) for _ in range(n)]


def _merge_variants(ids: list[int], pair: tuple[int, int], new_id: int) -> dict[str, list]:
    """What wrong merges return, by the name of the mistake."""
    a, b = pair
    n = len(ids)
    overlap, stop_early, first_only, done = [], [], [], False
    for i in range(n):
        hit = i + 1 < n and ids[i] == a and ids[i + 1] == b
        overlap.append(new_id if hit else ids[i])
    i = 0
    while i < n - 1:  # the last id is never emitted on its own
        if ids[i] == a and ids[i + 1] == b:
            stop_early.append(new_id)
            i += 2
        else:
            stop_early.append(ids[i])
            i += 1
    i = 0
    while i < n:
        if not done and i + 1 < n and ids[i] == a and ids[i + 1] == b:
            first_only.append(new_id)
            done = True
            i += 2
        else:
            first_only.append(ids[i])
            i += 1
    right = bpe_train.merge_pair(ids[::-1], (b, a), new_id)[::-1]
    want = bpe_train.merge_pair(ids, pair, new_id)
    last_missed = want
    if n >= 2 and (ids[-2], ids[-1]) == pair and want[-1] == new_id:
        last_missed = want[:-1] + [a, b]
    nothing = list(ids) if new_id in want[:-1] else want  # an occurrence before the end
    return {
        "overlapping occurrences were merged: after a merge jump over both ids (i += 2), so "
        "[7, 7, 7] with (7, 7) gives [new_id, 7]": overlap,
        "the last id is dropped: the loop must also emit ids[-1] when it is not part of a pair "
        "(while i < len(ids), with a check i + 1 < len(ids))": stop_early,
        "only the first occurrence is merged: every occurrence is replaced": first_only,
        "the list was scanned from the right: scan left to right ([7, 7, 7] -> [new_id, 7])": (
            right
        ),
        "the pair at the very end is missed: an off-by-one in the range of i (the last pair "
        "starts at i = len(ids) - 2)": last_missed,
        "nothing was merged: compare (ids[i], ids[i + 1]) == pair as tuples (a list slice "
        "ids[i:i + 2] never equals a tuple)": nothing,
    }


def _count_variants(ids: list[int], weight: int) -> dict[str, dict]:
    """What wrong pair counts return, by the name of the mistake."""
    pairs = list(zip(ids, ids[1:], strict=False))
    no_last, both, no_overlap, unweighted = {}, {}, {}, {}
    for p in pairs[:-1]:
        no_last[p] = no_last.get(p, 0) + weight
    for p in pairs:
        both[p] = both.get(p, 0) + weight
        both[p[::-1]] = both.get(p[::-1], 0) + weight
        unweighted[p] = unweighted.get(p, 0) + 1
    i = 0
    while i + 1 < len(ids):
        p = (ids[i], ids[i + 1])
        no_overlap[p] = no_overlap.get(p, 0) + weight
        i += 2 if ids[i] == ids[i + 1] else 1
    return {
        "the last pair (ids[-2], ids[-1]) is missed: i runs over range(len(ids) - 1), "
        "an off-by-one in the range": no_last,
        "pairs counted in both orders: (a, b) and (b, a) are different pairs; count only "
        "(ids[i], ids[i + 1])": both,
        "overlapping pairs were skipped: [7, 7, 7] holds (7, 7) twice": no_overlap,
        "weight is ignored: each occurrence adds weight, not 1": unweighted,
    }


def _named(got, variants: dict[str, object], want) -> str:
    for message, value in variants.items():
        if value != want and got == value:
            return message
    return ""


def _call(g: Grader, fn: Callable, ids: list[int], *rest):
    """``fn(ids, *rest)``, with a check that the list ids comes back unchanged."""
    before = list(ids)
    out = g.call(fn, ids, *rest)
    if ids != before:
        g.check(
            f"{fn.__name__} leaves ids unchanged",
            False,
            f"{before} became {ids}",
            "ids was changed in place (append, pop, del, ids[i] = ...): build a new list",
        )
    return out


def _is_int_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, int) for v in value)


def _grade_merge(g: Grader, merge: Callable, ids: list[int], pair, new_id: int) -> None:
    want = bpe_train.merge_pair(ids, pair, new_id)
    with g.case(f"merge_pair({ids}, {pair}, {new_id})"):
        got = _call(g, merge, list(ids), pair, new_id)
        if not _is_int_list(got):
            g.check(
                "merge_pair returns a list of ints",
                False,
                f"got {type(got).__name__}: {got!r}"[:200],
                "a missing return statement" if got is None else "return the new list of ids",
            )
            return
        g.check(
            "merge_pair: the merged ids",
            got == want,
            f"got {got}, expected {want}",
            _named(got, _merge_variants(ids, pair, new_id), want),
        )


def _grade_counts(g: Grader, counts_fn: Callable, ids: list[int], weight: int = 1) -> None:
    want = bpe_train.pair_counts(ids, weight=weight)
    args = () if weight == 1 else (None, weight)
    with g.case(f"pair_counts({ids}" + (f", weight={weight})" if weight != 1 else ")")):
        got = _call(g, counts_fn, list(ids), *args)
        if not isinstance(got, dict):
            g.check(
                "pair_counts returns a dict",
                False,
                f"got {type(got).__name__}",
                "a missing return statement" if got is None else "return the dict of counts",
            )
            return
        g.check(
            "pair_counts: the counts",
            dict(got) == want,
            f"got {dict(got)}, expected {want}",
            _named(dict(got), _count_variants(ids, weight), want),
        )


def _grade_into(g: Grader, counts_fn: Callable) -> None:
    """Counting a second list into the dict of a first one (how training counts many chunks)."""
    first, second = [1, 2, 3], [2, 3, 2, 3]
    start = bpe_train.pair_counts(first)
    want = bpe_train.pair_counts(second, dict(start))
    with g.case(f"pair_counts({second}, counts={start})"):
        given = dict(start)
        got = _call(g, counts_fn, list(second), given)
        fresh = bpe_train.pair_counts(second)
        replaced = {**start, **fresh}
        diagnosis = ""
        if given == start:
            diagnosis = (
                "the given dict was not updated: when counts is given, add into it "
                "(counts = {} only when counts is None)"
            )
        elif given == replaced:
            diagnosis = (
                "counts[pair] = ... replaced the count already there: add to it, "
                "counts[pair] = counts.get(pair, 0) + weight"
            )
        g.check(
            "pair_counts adds into the dict it is given",
            given == want,
            f"the dict became {given}, expected {want}",
            diagnosis,
        )
        g.check(
            "pair_counts returns the dict it was given",
            got is given,
            f"got {'a new ' + type(got).__name__ if got is not None else 'None'}",
            "a missing return statement"
            if got is None
            else "return counts itself (training keeps adding to one dict)",
        )


def grade(g: Grader) -> None:
    counts_fn = g.function("pair_counts")
    for ids in COUNT_CASES:
        _grade_counts(g, counts_fn, ids)
    for seed in (0, 1):
        _grade_counts(g, counts_fn, _random_ids(seed))
    _grade_counts(g, counts_fn, [1, 2, 3, 1, 2], weight=3)
    _grade_into(g, counts_fn)

    merge = g.function("merge_pair")
    for ids, pair, new_id in MERGE_CASES:
        _grade_merge(g, merge, ids, pair, new_id)
    for seed, pair in ((0, (1, 1)), (1, (1, 2)), (2, (3, 1))):
        _grade_merge(g, merge, _random_ids(seed), pair, 256)


EXERCISE = Exercise(
    name="bpe-merges",
    module=4,
    number=1,
    title="Byte-pair encoding: count the pairs, merge one",
    concept="Byte-level BPE tokenization",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "pair_counts: the adjacent pairs of ids are zip(ids, ids[1:]) (or itertools.pairwise): "
        "n ids hold n - 1 pairs, overlapping ones included.",
        "Start with counts = {} if counts is None; for each pair, "
        "counts[pair] = counts.get(pair, 0) + weight; return counts (the same dict).",
        "merge_pair: walk with an index, i = 0, while i < len(ids), building a new list: you "
        "need to look at ids[i + 1], and a for loop cannot jump over two ids.",
        "If i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]: append new_id and "
        "i += 2; else append ids[i] and i += 1.",
    ),
)
