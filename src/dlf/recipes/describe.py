"""A recipe described for a reader: what ``dlf run NAME --help`` prints.

Everything comes from the recipe itself, so the help cannot drift from the code: the
description, the docstring of the module that defines the recipe and of its config class, every
config field with its type, its default (the full setting) and its description (the field's
``metadata["help"]``, else the comment at the end of its line; comment lines just above a field
are shown above it too), the quick setting's overrides and the named settings.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import io
import sys
import textwrap
import tokenize
import types
import typing
from typing import Any, Literal, Union

from dlf.recipes.catalog import CATALOG
from dlf.recipes.config import field_types
from dlf.recipes.recipe import Recipe


def type_name(tp: Any) -> str:
    """How a field's type reads on the command line.

    Example: ``int`` -> ``"int"``; ``tuple[int, ...]`` -> ``"int,..."``;
    ``Literal["sgd", "adamw"]`` -> ``"sgd|adamw"``; ``int | None`` -> ``"int or none"``.
    """
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return "|".join(str(a) for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join("none" if a is type(None) else type_name(a) for a in args)
    if origin in (tuple, list):
        if not args:
            return "str,..."
        if origin is list or (len(args) == 2 and args[1] is Ellipsis):
            return f"{type_name(args[0])},..."
        return ",".join(type_name(a) for a in args)
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def format_value(value: Any) -> str:
    """A value as ``key=value`` takes it back (``convert`` reads what this writes).

    Example: ``(512, 256)`` -> ``"512,256"``; ``True`` -> ``"true"``; ``None`` -> ``"none"``;
    ``""`` -> ``"''"``; ``"\\n"`` -> ``"'\\n'"`` (quoted when empty or holding white space).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, tuple | list):
        return ",".join(format_value(v) for v in value) if value else "()"
    if isinstance(value, str) and (not value or any(c.isspace() for c in value)):
        return repr(value)
    return str(value)


def _comments_of_class(source: str) -> dict[str, tuple[tuple[str, ...], str]]:
    """``{field: (comment lines just above it, comment at its line's end)}`` of one class."""
    tree = ast.parse(source)
    node = next((n for n in tree.body if isinstance(n, ast.ClassDef)), None)
    if node is None:
        return {}
    comments: dict[int, tuple[str, bool]] = {}  # line -> (text, alone on its line)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            text = tok.string.lstrip("#").strip()
            if not text.startswith(("fmt:", "noqa", "type:")):
                comments[tok.start[0]] = (text, not tok.line[: tok.start[1]].strip())
    out = {}
    for stmt in node.body:
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        end = stmt.end_lineno or stmt.lineno
        trailing = [
            comments[line][0]
            for line in range(stmt.lineno, end + 1)
            if line in comments and not comments[line][1]
        ]
        above: list[str] = []
        line = stmt.lineno - 1
        while line in comments and comments[line][1]:
            above.insert(0, comments[line][0])
            line -= 1
        out[stmt.target.id] = (tuple(above), " ".join(trailing))
    return out


def field_comments(config_cls: type) -> dict[str, tuple[tuple[str, ...], str]]:
    """The comments beside the fields of dataclass ``config_cls`` and of its dataclass bases.

    Example: a field written ``epochs: int = 2000  # full-batch Adam steps`` under a line
    ``# training`` -> ``{"epochs": (("training",), "full-batch Adam steps")}``. A class whose
    source cannot be read (defined in a REPL) contributes nothing.
    """
    out: dict[str, tuple[tuple[str, ...], str]] = {}
    for cls in reversed(config_cls.__mro__):
        if not dataclasses.is_dataclass(cls):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(cls))
        except (OSError, TypeError):
            continue
        for name, (above, trailing) in _comments_of_class(source).items():
            if above or trailing or name not in out:  # a bare redefinition keeps the base's
                out[name] = (above, trailing)
    return out


def _docstring(recipe: Recipe) -> str:
    """The docstring of the module that defines ``recipe`` (its catalog entry, else its run)."""
    module_name = CATALOG.get(recipe.name)
    try:
        module = importlib.import_module(module_name) if module_name else None
    except ImportError:
        module = None
    module = module or sys.modules.get(getattr(recipe.run, "__module__", ""))
    return inspect.cleandoc(module.__doc__) if module is not None and module.__doc__ else ""


def _config_docstring(config_cls: type) -> str:
    doc = config_cls.__doc__ or ""
    if doc.startswith(config_cls.__name__ + "("):  # the signature dataclass writes when none
        return ""
    return inspect.cleandoc(doc)


def _pairs(overrides: dict[str, Any]) -> str:
    return " ".join(f"{k}={format_value(v)}" for k, v in overrides.items())


def _seconds(name: str, setting: str) -> str:
    from dlf.bench.measured import recipe_record

    record = recipe_record(name, setting)
    if record is None:
        return ""
    seconds, where = record["seconds"], record["machine"]
    text = f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
    return f"; measured {text} on {where['cpu']}, {where['date']}"


def describe(recipe: Recipe) -> str:
    """The help text of ``recipe``: description, docstrings, keys, quick and named settings.

    Each key is one row ``name  type  default  description``; the defaults are the full
    setting. Example row: ``  epochs      int        20   full-batch Adam steps``.
    """
    lines = [f"{recipe.name} (module {recipe.module}): {recipe.description}", ""]
    for doc in (_docstring(recipe), _config_docstring(recipe.config)):
        if doc:
            lines += [doc, ""]
    types_ = field_types(recipe.config)
    comments = field_comments(recipe.config)
    defaults = recipe.config()
    rows = []
    for f in dataclasses.fields(recipe.config):
        above, trailing = comments.get(f.name, ((), ""))
        description = str(f.metadata.get("help") or f.metadata.get("doc") or trailing)
        if "range" in f.metadata:
            description = f"{description} (range: {f.metadata['range']})".strip()
        value = format_value(getattr(defaults, f.name))
        rows.append((above, (f.name, type_name(types_[f.name]), value, description)))
    headers = ("key", "type", "default", "description")
    widths = [max(len(r[i]) for r in [headers, *(row for _, row in rows)]) for i in range(3)]
    widths = [widths[0], min(widths[1], 24), min(widths[2], 24)]

    def row_text(cells: tuple[str, ...]) -> str:
        text = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False))
        return ("  " + text + "  " + cells[3]).rstrip()

    lines.append("keys (key=value; the defaults are the full setting):")
    lines.append(row_text(headers))
    for above, cells in rows:
        lines += [f"  # {text}" for text in above]
        lines.append(row_text(cells))
    lines.append("")
    lines.append(f"full setting: the defaults above{_seconds(recipe.name, 'full')}")
    lines.append(
        f"quick setting (--quick{_seconds(recipe.name, 'quick')}): "
        + (_pairs(recipe.quick) or "the defaults")
    )
    if recipe.settings:
        lines.append("named settings (--setting NAME):")
        width = max(len(name) for name in recipe.settings)
        for name, overrides in recipe.settings.items():
            lines.append(f"  {name.ljust(width)}  {_pairs(overrides)}")
    else:
        lines.append("named settings (--setting NAME): none")
    return "\n".join(lines)


__all__ = ["describe", "field_comments", "format_value", "type_name"]
