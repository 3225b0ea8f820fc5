"""Checks across config fields that the Module 3 recipes share, run before any folder is made.

Each raises ``ConfigError`` (``dlf run`` prints one line and exits 2). The rules themselves live
where the library enforces them (``TransformerConfig``, the positional encodings,
``make_task``); these only ask the library early, with the recipe's field names.
"""

from __future__ import annotations

from collections.abc import Iterable

from dlf.recipes.config import ConfigError
from dlf.transformer.model import TransformerConfig
from dlf.transformer.positional import POSITIONAL_ENCODINGS, positional_encoding

ENCODING_HELP = f"positional encoding, one of: {', '.join(POSITIONAL_ENCODINGS)}"


def check_lengths(min_len: int, max_len: int, long_len: int) -> None:
    """min_len <= max_len < long_len: training lengths, then the longer ones of test_long.

    Example: ``check_lengths(3, 10, 10)`` -> ConfigError naming the three fields.
    """
    if not min_len <= max_len < long_len:
        raise ConfigError(
            f"the lengths must satisfy min_len <= max_len < long_len (test_long has lengths "
            f"max_len + 1 .. long_len), got min_len={min_len}, max_len={max_len}, "
            f"long_len={long_len}"
        )


def check_transformer(d_model: int, n_heads: int, positional: Iterable[str]) -> None:
    """The Transformer the recipe will build is one the library accepts, for each encoding name:
    d_model divisible by n_heads, the name registered, and the encoding's own rule (even d_model
    for sinusoids, even d_model / n_heads for RoPE).

    Example: ``check_transformer(30, 4, ["sinusoidal"])`` -> ConfigError("d_model=30 must be
    divisible by n_heads=4").
    """
    try:
        TransformerConfig(vocab_size=1, d_model=d_model, n_heads=n_heads, positional="none")
    except ValueError as err:
        raise ConfigError(str(err)) from None
    for name in positional:
        try:
            positional_encoding(name, d_model, n_heads, max_len=1)
        except ValueError as err:
            raise ConfigError(f"positional={name}: {err}") from None


def check_names(field: str, names: Iterable[str], known: Iterable[str]) -> None:
    """Every name in ``names`` is one of ``known``, and there is at least one.

    Example: ``check_names("tasks", ("copy", "sum"), TASKS)`` -> ConfigError("tasks: 'sum' is
    not known; choose from copy, reverse, ...").
    """
    names, known = tuple(names), tuple(known)
    if not names:
        raise ConfigError(f"{field} is empty; choose from {', '.join(known)}")
    for name in names:
        if name not in known:
            raise ConfigError(f"{field}: {name!r} is not known; choose from {', '.join(known)}")
