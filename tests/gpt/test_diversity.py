"""distinct-n and repetition on hand-checked sequences."""

import pytest

from dlf.gpt.diversity import distinct_n, ngrams, repetition_rate, words


@pytest.mark.parametrize(
    ("tokens", "n", "distinct"),
    [("abab", 1, 2 / 4), ("abab", 2, 2 / 3), ("abab", 3, 2 / 2), ("aaaa", 2, 1 / 3),
     ("abcd", 2, 1.0), ("a", 2, 0.0), (["to", "be", "or", "not", "to", "be"], 2, 4 / 5)],
)  # fmt: skip
def test_distinct_n(tokens, n, distinct):
    assert distinct_n(tokens, n) == pytest.approx(distinct)
    expected = 0.0 if len(tokens) < n else 1.0 - distinct
    assert repetition_rate(tokens, n) == pytest.approx(expected)


def test_ngrams_and_words():
    assert ngrams("abc", 2) == [("a", "b"), ("b", "c")]
    assert words("To be,\nor  not") == ["To", "be,", "or", "not"]
    with pytest.raises(ValueError, match="n must be"):
        ngrams("abc", 0)
