from dlf.learn import get_exercise

from .helpers import grade_text, planted_test

NAME = "bpe-merges"

PLANTED = [  # (text of the solution, the learner's version, the diagnosis it must get)
    ("            i += 2\n", "            i += 1\n", "overlapping occurrences were merged"),
    ("    while i < n:\n", "    while i < n - 1:\n", "the last id is dropped"),
    (
        "if ids[i] == a and i + 1 < n and ids[i + 1] == b:",
        "if ids[i : i + 2] == pair:",
        "nothing was merged",
    ),
    (
        "if ids[i] == a and i + 1 < n and ids[i + 1] == b:",
        "if i + 2 < n and ids[i] == a and ids[i + 1] == b:",
        "the pair at the very end is missed",
    ),
    (
        "for pair in pairwise(ids):",
        "for pair in zip(ids[:-1], ids[1:-1]):",
        "the last pair (ids[-2], ids[-1]) is missed",
    ),
    (
        "        counts[pair] = counts.get(pair, 0) + weight\n",
        "        counts[pair] = counts.get(pair, 0) + weight\n"
        "        counts[pair[::-1]] = counts.get(pair[::-1], 0) + weight\n",
        "pairs counted in both orders",
    ),
    ("counts = {} if counts is None else counts", "counts = {}", "the given dict was not updated"),
    (
        "counts[pair] = counts.get(pair, 0) + weight",
        "counts[pair] = list(pairwise(ids)).count(pair) * weight",
        "replaced the count already there",
    ),
    ("counts.get(pair, 0) + weight", "counts.get(pair, 0) + 1", "weight is ignored"),
    ("    return out\n", "    ids[:] = out\n    return ids\n", "ids was changed in place"),
]


test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)


def test_a_tuple_instead_of_a_list_is_named(tmp_path):
    text = get_exercise(NAME).solution.replace("    return out\n", "    return tuple(out)\n")
    grade = grade_text(NAME, text, tmp_path)
    failing = {c.what for c in grade.checks if not c.passed}
    assert failing == {"merge_pair returns a list of ints"}
