"""Synthetic sequence-to-sequence tasks: copy, reverse, sort, addition and date formats.

Each task gives seeded train and test splits with no example in both, plus ``test_long``: inputs
longer than any seen in training, to measure length generalisation. Examples are strings mapped
to token ids by a character vocabulary whose first three tokens are ``<pad>``, ``<bos>``, ``<eos>``.

    copy      "40172"           -> "40172"
    reverse   "40172"           -> "27104"
    sort      "40172"           -> "01247"
    addition  "482+93"          -> "575"
    dates     "3 March 2021"    -> "2021-03-03"   (also "March 3, 2021", "03/03/2021")
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

PAD, BOS, EOS = 0, 1, 2
SPECIALS = ("<pad>", "<bos>", "<eos>")
DIGITS = "0123456789"
TASKS = ("copy", "reverse", "sort", "addition", "dates")


@dataclass
class Seq2SeqTask:
    """A task's splits as (source, target) strings, and its vocabulary."""

    name: str
    vocab: tuple[str, ...]
    train: list[tuple[str, str]]
    test: list[tuple[str, str]]
    test_long: list[tuple[str, str]]

    def encode(self, text: str) -> list[int]:
        """Characters -> token ids. Example (digits task): ``"301"`` -> ``[6, 3, 4]``."""
        index = {ch: i for i, ch in enumerate(self.vocab)}
        try:
            return [index[ch] for ch in text]
        except KeyError as err:
            raise ValueError(f"{err.args[0]!r} is not in the {self.name} vocabulary") from None

    def decode(self, ids: list[int] | np.ndarray) -> str:
        """Token ids -> text, stopping at ``<eos>`` and skipping ``<pad>``/``<bos>``."""
        out = []
        for i in ids:
            if int(i) == EOS:
                break
            if int(i) > EOS:
                out.append(self.vocab[int(i)])
        return "".join(out)


def _digits(rng: np.random.Generator, length: int) -> str:
    return "".join(rng.choice(list(DIGITS), size=length))


def _sequence_example(transform: Callable[[str], str]):
    def make(rng: np.random.Generator, length: int) -> tuple[str, str]:
        src = _digits(rng, length)
        return src, transform(src)

    return make


def _addition(rng: np.random.Generator, digits: int) -> tuple[str, str]:
    a = int(rng.integers(10 ** (digits - 1) if digits > 1 else 0, 10**digits))
    b = int(rng.integers(0, 10 ** int(rng.integers(1, digits + 1))))
    return f"{a}+{b}", str(a + b)


_MONTHS = calendar.month_name[1:]


def _date(rng: np.random.Generator, style: int) -> tuple[str, str]:
    year, month = int(rng.integers(1900, 2100)), int(rng.integers(1, 13))
    day = int(rng.integers(1, calendar.monthrange(year, month)[1] + 1))
    target = f"{year:04d}-{month:02d}-{day:02d}"
    name = _MONTHS[month - 1]
    formats = [
        f"{day} {name} {year}",
        f"{name} {day}, {year}",
        f"{day:02d}/{month:02d}/{year}",
        f"{calendar.day_name[calendar.weekday(year, month, day)]}, {day} {name} {year}",
    ]
    return formats[style], target


def _vocab(name: str) -> tuple[str, ...]:
    if name == "addition":
        return (*SPECIALS, *DIGITS, "+")
    if name == "dates":
        letters = sorted(set("".join(_MONTHS) + "".join(calendar.day_name)))
        return (*SPECIALS, *DIGITS, " ", ",", "/", "-", *letters)
    return (*SPECIALS, *DIGITS)


def make_task(
    name: str,
    n_train: int = 10000,
    n_test: int = 1000,
    min_len: int = 3,
    max_len: int = 10,
    long_len: int = 16,
    seed: int = 0,
) -> Seq2SeqTask:
    """Seeded splits of task ``name`` (one of TASKS).

    Train and test lengths are drawn uniformly from [min_len, max_len]; ``test_long`` uses
    (max_len, long_len]. For addition the lengths are operand digit counts; for dates, train and
    test use the three short formats and ``test_long`` the longer one with a weekday. No test
    example is also a train example.
    """
    if name not in TASKS:
        raise ValueError(f"no sequence task named {name!r}; known: {', '.join(TASKS)}")
    rng = np.random.default_rng(seed)
    transforms = {"copy": lambda s: s, "reverse": lambda s: s[::-1], "sort": "".join}
    if name in transforms:
        fn = transforms[name]
        make = _sequence_example(lambda s: fn(sorted(s)) if name == "sort" else fn(s))
    elif name == "addition":
        make = _addition
    else:
        make = _date
    short = (0, 3) if name == "dates" else (min_len, max_len + 1)
    long = (3, 4) if name == "dates" else (max_len + 1, long_len + 1)

    def draw(count: int, lengths: tuple[int, int], exclude: set[str]) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        seen = set(exclude)
        for _ in range(count * 50):
            if len(pairs) == count:
                break
            src, tgt = make(rng, int(rng.integers(*lengths)))
            if src not in seen:
                seen.add(src)
                pairs.append((src, tgt))
        return pairs

    train = draw(n_train, short, set())
    test = draw(n_test, short, {s for s, _ in train})
    test_long = draw(n_test, long, set())
    return Seq2SeqTask(name, _vocab(name), train, test, test_long)
