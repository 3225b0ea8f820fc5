"""Solutions from the project's own code: a stub's bodies filled with the reference's bodies.

A stub declares what the learner writes (signature, docstring, ``raise NotImplementedError``).
Where the project implements the same function or method, the solved file is the stub with each
body replaced by the body of the project's implementation, and an import added for every global
name that body reads (a helper, a constant). The formula stays in one place: the project's file.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

_BUILTINS = set(dir(builtins))


def _find_def(tree: ast.Module, qualname: str) -> ast.FunctionDef:
    """The ``def`` called ``qualname`` (``"f"`` or ``"Class.method"``) at the top of ``tree``."""
    scope: list[ast.stmt] = tree.body
    *outer, name = qualname.split(".")
    for part in outer:
        scope = next(n.body for n in scope if isinstance(n, ast.ClassDef) and n.name == part)
    for node in scope:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    raise KeyError(f"no def {qualname!r}")


def _body_start(fn: ast.FunctionDef) -> ast.stmt:
    """The first statement after the docstring."""
    first = fn.body[0]
    docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    if docstring and isinstance(first.value.value, str) and len(fn.body) > 1:
        return fn.body[1]
    return first


def top_level_names(tree: ast.Module) -> set[str]:
    """Names a module defines at its top: imports, functions, classes and assignments."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def free_names(fn: ast.FunctionDef) -> set[str]:
    """Global names that ``fn`` reads: loaded, never bound in it, not builtins.

    Example: for ``def f(x): y = np.exp(x); return helper(y)`` -> ``{"np", "helper"}``.
    """
    bound = {a.arg for a in ast.walk(fn.args) if isinstance(a, ast.arg)}
    loaded: set[str] = set()
    body = ast.Module(body=fn.body, type_ignores=[])  # annotations and defaults are not run
    for node in ast.walk(body):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef | ast.arg):  # nested defs' args too
            bound.add(node.arg if isinstance(node, ast.arg) else node.name)
    return loaded - bound - _BUILTINS


def stub_defs(source: str) -> dict[str, ast.FunctionDef]:
    """The top-level functions and class methods of ``source``, by qualified name.

    Example: for a stub with ``def f`` and ``class Box`` with ``def area`` -> keys ``f``,
    ``Box.area``.
    """
    found: dict[str, ast.FunctionDef] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    found[f"{node.name}.{item.name}"] = item
    return found


def _resolve(node: ast.expr, namespace: dict) -> Any:
    """The object that a name or a dotted name (``filters.top_k_filter``,
    ``dlf.transformer.blocks.residual``) denotes in ``namespace``, or None. Only modules and
    classes are looked into, so that resolving runs none of the learner's code."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, namespace)
        if isinstance(base, ModuleType | type):
            try:
                return getattr(base, node.attr, None)
            except Exception:
                return None
    return None


def _is_super(f: ast.expr, name: str) -> bool:
    """``f`` is ``super().<name>``."""
    return (
        isinstance(f, ast.Attribute)
        and f.attr == name
        and isinstance(f.value, ast.Call)
        and isinstance(f.value.func, ast.Name)
        and f.value.func.id == "super"
    )


def _runs_dlfs_constructor(cls: Any, call: ast.Call) -> bool:
    """``super().__init__(args)`` in ``cls`` runs dlf's own constructor of the class the stub
    asks for: the parent whose ``__init__`` it runs is dlf's class of the same name, and it
    gets arguments (a bare ``super().__init__()`` sets up the base class, as a subclass must)."""
    if not (call.args or call.keywords) or not isinstance(cls, type):
        return False
    parent = next((c for c in cls.__mro__[1:] if "__init__" in vars(c)), object)
    return parent.__module__.startswith("dlf.") and parent.__name__ == cls.__name__


def calls_to_itself(
    learner: str, stub: str, namespace: dict, forbidden: dict[str, Any] | None = None
) -> list[str]:
    """Where the learner's file hands a piece it should write to dlf's own implementation.

    Looks, inside each def the stub asks for, for ``super().<same name>(...)`` and for a call
    of a name or dotted name bound (in ``namespace``, the learner's module; aliases too) to a
    ``dlf`` function of the same name: ``top_k_filter(...)``, ``filters.top_k_filter(...)``,
    ``dlf.sampling.filters.top_k_filter(...)``. In ``__init__``, ``super().__init__(...)`` and
    ``Parent.__init__(self, ...)`` count only where they run dlf's constructor of the very class
    the stub asks for (see :func:`_runs_dlfs_constructor`). ``forbidden`` (``{name: object}``)
    adds objects of other names that the piece must not call, e.g. ``{"residual": residual}``.
    Returns ``["Linear.forward calls super().forward (line 30)", ...]``.
    """
    wanted = stub_defs(stub)
    objects = {id(v): k for k, v in (forbidden or {}).items()}
    found = []
    for qualname, fn in stub_defs(learner).items():
        if qualname not in wanted:
            continue
        cls_name, _, name = qualname.rpartition(".")
        cls = namespace.get(cls_name) if cls_name else None
        for node in ast.walk(fn):
            if not isinstance(node, ast.Call):
                continue
            if _is_super(node.func, name):
                if name != "__init__" or _runs_dlfs_constructor(cls, node):
                    found.append(f"{qualname} calls super().{name} (line {node.lineno})")
                continue
            target = _resolve(node.func, namespace)
            if target is None:
                continue
            if id(target) in objects:
                found.append(f"{qualname} calls dlf's {objects[id(target)]} (line {node.lineno})")
            elif (
                callable(target)
                and getattr(target, "__name__", "") == name
                and str(getattr(target, "__module__", "")).startswith("dlf.")
                and (name != "__init__" or getattr(target, "__qualname__", "") == qualname)
            ):
                found.append(
                    f"{qualname} calls dlf's {target.__module__}.{name} (line {node.lineno})"
                )
    return found


@dataclass(frozen=True)
class Reference:
    """A function or method of the project by module and qualified name, read from its source
    file without importing the module (so listing exercises does not import torch).

    Example: ``Reference("dlf.gpt.train", "accumulate_gradients")``,
    ``Reference("dlf.scratch.layers.linear", "Linear.forward")``.
    """

    module: str
    qualname: str

    @classmethod
    def of(cls, fn: Callable) -> Reference:
        """The Reference of an imported function or method (where it is defined)."""
        fn = inspect.unwrap(fn)
        return cls(fn.__module__, fn.__qualname__)

    def path(self) -> Path:
        """The module's file. A module of ``dlf`` is found under dlf's own folder, importing
        nothing (``importlib.util.find_spec`` would import its parent packages, and
        ``dlf.transformer`` imports torch); another module through its spec."""
        if self.module == "dlf" or self.module.startswith("dlf."):
            import dlf

            base = Path(dlf.__file__).parent.joinpath(*self.module.split(".")[1:])
            for path in (base.with_suffix(".py"), base / "__init__.py"):
                if path.is_file():
                    return path
            raise ModuleNotFoundError(f"no source file for module {self.module!r}")
        spec = importlib.util.find_spec(self.module)
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError(f"no source file for module {self.module!r}")
        return Path(spec.origin)

    def source(self) -> tuple[str, ast.Module]:
        """The text and syntax tree of the module's file."""
        text = self.path().read_text(encoding="utf-8")
        return text, ast.parse(text)

    def body(self) -> str:
        """The text of the function's body, dedented, without its docstring."""
        text, tree = self.source()
        fn = _find_def(tree, self.qualname)
        lines = text.splitlines(keepends=True)
        return textwrap.dedent("".join(lines[_body_start(fn).lineno - 1 : fn.end_lineno]))


def _import_lines(names: set[str], ref: Reference, tree: ast.Module) -> list[str]:
    """An import for each global ``name`` the reference reads, from where its module gets it.

    A name the module imports is imported the same way (``from torch import nn``); a name the
    module defines itself comes from the module (``from dlf.scratch.losses import _check``).
    """
    lines = []
    for name in sorted(names):
        line = f"from {ref.module} import {name}"
        for node in tree.body:
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for alias in node.names:
                if (alias.asname or alias.name).split(".")[0] != name:
                    continue
                as_ = f" as {alias.asname}" if alias.asname else ""
                if isinstance(node, ast.Import):
                    line = f"import {alias.name}{as_}"
                else:
                    package = ref.module.rsplit(".", node.level)[0] if node.level else ""
                    source = ".".join(p for p in (package, node.module or "") if p)
                    line = f"from {source} import {alias.name}{as_}"
        lines.append(line)
    return lines


def fill_bodies(stub: str, references: dict[str, Callable | Reference | str]) -> str:
    """``stub`` with the body of each ``def`` named in ``references`` taken from the reference.

    ``references`` maps a qualified name of the stub (``"svm_loss"``, ``"Linear.forward"``) to the
    project's function or method (imported, or a :class:`Reference` read from its file), or to
    the text of a body the exercise writes itself (where the project has no such function, e.g.
    a version with loops). Docstrings stay the stub's; imports for the global names the
    project's bodies read are added after the stub's imports (after its docstring if it has
    none).
    """
    tree = ast.parse(stub)
    lines = stub.splitlines(keepends=True)
    known = top_level_names(tree)
    edits: list[tuple[int, int, str]] = []
    imports: list[str] = []
    for qualname, ref in references.items():
        target = _find_def(tree, qualname)
        start = _body_start(target)
        indent = " " * start.col_offset
        if isinstance(ref, str):
            body = textwrap.indent(textwrap.dedent(ref).strip("\n") + "\n", indent)
            edits.append((start.lineno - 1, target.end_lineno, body))
            continue
        ref = ref if isinstance(ref, Reference) else Reference.of(ref)
        _, module_tree = ref.source()
        ref_fn = _find_def(module_tree, ref.qualname)
        edits.append((start.lineno - 1, target.end_lineno, textwrap.indent(ref.body(), indent)))
        for line in _import_lines(free_names(ref_fn) - known, ref, module_tree):
            if line not in imports:
                imports.append(line)
    for first, last, body in sorted(edits, reverse=True):
        lines[first:last] = [body]
    if imports:
        docstring = ast.get_docstring(tree) is not None
        after = max(
            [n.end_lineno for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
            + [tree.body[0].end_lineno if docstring else 0]
        )
        lines[after:after] = [line + "\n" for line in imports]
    return "".join(lines)
