"""How varied a generated text is: distinct-n (Li et al. 2016) and repetition (Welleck et al.
2019), on any sequence of tokens (words, characters or ids)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence


def ngrams(tokens: Sequence[Hashable], n: int) -> list[tuple]:
    """The ``len(tokens) - n + 1`` overlapping n-grams of ``tokens``, in order.

    Example: ``ngrams("abab", 2)`` -> ``[("a", "b"), ("b", "a"), ("a", "b")]``.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(tokens: Sequence[Hashable], n: int) -> float:
    """distinct-n = |distinct n-grams| / |n-grams| (1: no n-gram occurs twice); 0 if there is
    no n-gram.

    Example: ``distinct_n("abab", 2)`` -> ``2 / 3`` (``ab`` twice, ``ba`` once).
    """
    grams = ngrams(tokens, n)
    return len(set(grams)) / len(grams) if grams else 0.0


def repetition_rate(tokens: Sequence[Hashable], n: int) -> float:
    """The fraction of n-grams that already occurred earlier in the sequence: rep-n = 1 -
    distinct-n (Welleck et al. 2019's seq-rep-n); 0 if there is no n-gram.

    Example: ``repetition_rate("abab", 2)`` -> ``1 / 3`` (the second ``ab``).
    """
    grams = ngrams(tokens, n)
    return 1.0 - len(set(grams)) / len(grams) if grams else 0.0


def words(text: str) -> list[str]:
    """The whitespace-separated words of ``text``. Example: ``"To be,\\nor"`` ->
    ``["To", "be,", "or"]``."""
    return text.split()
