"""Typed ``key=value`` overrides of a dataclass config.

Each value is converted to its field's type: ``epochs=5`` -> int, ``lr=3e-4`` -> float,
``dropout=true`` -> bool, ``hidden=512,256`` (or ``[512,256]``) -> tuple[int, ...],
``init=none`` -> None for an optional field. A key the config does not have, or a value that does
not convert, is a ConfigError that says what would have been right.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Union


class ConfigError(ValueError):
    """A bad override; the message names the valid keys or the wanted type."""


@dataclass(frozen=True)
class Range:
    """The valid values of a number field: ``gt < x`` or ``ge <= x``, and ``x < lt`` or ``x <= le``.

    Example: ``Range(gt=0, le=1)`` reads ``> 0 and <= 1``; NaN is never in a range. A tuple
    field's range applies to each of its items; ``None`` (an optional field left empty) passes.
    """

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def __str__(self) -> str:
        parts = [
            f"{op} {bound:g}"
            for op, bound in ((">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt))
            if bound is not None
        ]
        return " and ".join(parts) or "any number"

    def contains(self, x: float) -> bool:
        """True if ``x`` is a number inside the range."""
        if isinstance(x, bool) or not isinstance(x, int | float) or math.isnan(x):
            return False
        return (
            (self.ge is None or x >= self.ge)
            and (self.gt is None or x > self.gt)
            and (self.le is None or x <= self.le)
            and (self.lt is None or x < self.lt)
        )


def ranged(
    default: Any,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    help: str = "",
) -> Any:
    """A dataclass field with its valid range: ``batch_size: int = ranged(64, ge=1)``.

    ``help`` is the description ``dlf run NAME --help`` shows (else the comment at the end of
    the field's line).
    """
    metadata: dict[str, Any] = {"range": Range(ge=ge, gt=gt, le=le, lt=lt)}
    if help:
        metadata["help"] = help
    return dataclasses.field(default=default, metadata=metadata)


def check_ranges(config: Any) -> None:
    """Raise ConfigError for the first field of dataclass ``config`` outside its declared range.

    Example: ``lr=-1`` with ``lr: float = ranged(0.1, gt=0)`` ->
    ``ConfigError("lr must be > 0, got -1")``.
    """
    for f in dataclasses.fields(config):
        valid = f.metadata.get("range")
        if valid is None:
            continue
        value = getattr(config, f.name)
        items = value if isinstance(value, tuple | list) else (value,)
        for item in items:
            if item is not None and not valid.contains(item):
                raise ConfigError(f"{f.name} must be {valid}, got {item!r}")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", str(tp)).replace("typing.", "")


def convert(text: str, tp: Any, key: str) -> Any:
    """Convert ``text`` to type ``tp`` (int, float, bool, str, Literal, Optional, tuple, list).

    Example: ``convert("512,256", tuple[int, ...], "hidden")`` -> ``(512, 256)``.
    """
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if type(None) in args and text.lower() in ("none", "null", ""):
            return None
        others = [a for a in args if a is not type(None)]
        for arg in others:
            try:
                return convert(text, arg, key)
            except ConfigError:
                pass
        raise ConfigError(f"{key} wants {' or '.join(_type_name(a) for a in others)}, got {text!r}")
    if origin is Literal:
        for arg in args:
            if str(arg) == text:
                return arg
        raise ConfigError(f"{key} wants {_type_name(tp)}, got {text!r}")
    if origin in (tuple, list):
        inner = args[0] if args else str
        parts = [p.strip() for p in text.strip("[]() ").split(",") if p.strip()]
        values = [convert(p, inner, key) for p in parts]
        return tuple(values) if origin is tuple else values
    if tp is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigError(f"{key} wants a bool (true/false), got {text!r}")
    if tp in (int, float):
        try:
            return tp(text)
        except ValueError:
            article = "an" if tp is int else "a"
            raise ConfigError(f"{key} wants {article} {tp.__name__}, got {text!r}") from None
    return text


def field_types(config_cls: type) -> dict[str, Any]:
    """``{field name: resolved type}`` of a dataclass."""
    hints = typing.get_type_hints(config_cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(config_cls)}


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """``["lr=0.1", "epochs=3"]`` -> ``{"lr": "0.1", "epochs": "3"}``."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"expected key=value, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def apply_overrides(config: Any, overrides: dict[str, Any]) -> Any:
    """A copy of dataclass ``config`` with ``overrides`` applied; string values are converted."""
    types_ = field_types(type(config))
    changes = {}
    for key, value in overrides.items():
        if key not in types_:
            raise ConfigError(f"unknown key {key!r}; valid keys: {', '.join(types_)}")
        changes[key] = convert(value, types_[key], key) if isinstance(value, str) else value
    return dataclasses.replace(config, **changes)
