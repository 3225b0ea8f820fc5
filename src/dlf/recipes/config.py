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

    Example: ``Range(gt=0, le=1)`` reads ``> 0 and <= 1``. NaN and infinities are never in a
    range. A tuple field's range applies to each of its items; ``None`` (an optional field left
    empty) passes.
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
        """True if ``x`` is a finite number inside the range."""
        if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
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


def field_names(config_cls: type) -> set[str]:
    """The names of the fields a dataclass takes in its constructor."""
    return {f.name for f in dataclasses.fields(config_cls) if f.init}


@dataclass(frozen=True)
class ConfigMap:
    """How a recipe's flat config (the ``key=value`` fields of ``dlf run``) feeds library configs.

    Each field of ``flat`` has the name of a field of one or more ``targets`` (and is passed to
    every one of them), or is named in ``own`` (the recipe's own: data, sampling, threads ...).
    Anything else raises TypeError when the map is made, i.e. when the recipe module is
    imported: a library field renamed or removed stops the recipe from loading instead of
    silently dropping a user's override. ``own`` may not name a field of a target either (it
    would be passed on all the same). When two library configs share a name (a masked LM's and
    a GPT's ``n_embd``), give each its own map: a rename in one must not be hidden by the other.

    Example: ``ConfigMap(SamplingConfig, (GPTConfig, TrainConfig), own={"prompt", ...})``, then
    ``build(TrainConfig, config, device="cpu")`` -> ``TrainConfig(max_steps=config.max_steps,
    batch_size=config.batch_size, ..., device="cpu")``, the other fields at their defaults.
    """

    flat: type
    targets: tuple[type, ...]
    own: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "own", frozenset(self.own))
        names = field_names(self.flat)
        library = set().union(*(field_names(t) for t in self.targets))
        where = ", ".join(t.__name__ for t in self.targets)
        problems = []
        if unmatched := sorted(names - library - self.own):
            problems.append(f"{unmatched} match no field of {where} and are not its own")
        if stale := sorted(self.own - names):
            problems.append(f"own names {stale} are not its fields")
        if shadowed := sorted(self.own & library):
            problems.append(f"own names {shadowed} are fields of {where} too")
        if problems:
            raise TypeError(f"{self.flat.__name__}: " + "; ".join(problems))

    def check(self, config: Any) -> None:
        """Build every target from ``config``, so each library config applies its own rules
        between fields (GPTConfig: n_embd a multiple of n_head) before any work; the first
        complaint is raised as a ConfigError (``dlf run``: one line, exit 2)."""
        for target in self.targets:
            try:
                self.build(target, config)
            except ValueError as err:
                raise ConfigError(str(err)) from None

    def build(self, target: type, config: Any, **fixed: Any) -> Any:
        """``target`` made of the fields of ``config`` it shares, then ``fixed`` on top."""
        if target not in self.targets:
            raise TypeError(f"{target.__name__} is not a target of {self.flat.__name__}'s map")
        return take_fields(target, config, **fixed)


def take_fields(target: type, config: Any, **fixed: Any) -> Any:
    """A ``target`` dataclass taking every field of the same name from ``config``, then ``fixed``.

    The building step of :class:`ConfigMap` (which also checks that no field of ``config`` is
    left unused). Example: ``config`` with ``epochs=5, lr=0.1, width=64`` and a target with
    ``epochs, lr, seed`` -> ``target(epochs=5, lr=0.1)`` (seed at its default).
    """
    shared = [name for name in field_names(target) if hasattr(config, name)]
    return target(**{**{name: getattr(config, name) for name in shared}, **fixed})
