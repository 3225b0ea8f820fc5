"""The grader's toolkit: call the learner's code, compare with the reference, name the mistake.

An exercise's ``grade(g)`` receives a :class:`Grader` bound to the learner's module and records
checks through it::

    svm = g.function("svm_loss")
    with g.case("N=1, C=3, seed 0"):
        loss, dscores = g.call(svm, scores, y)
        g.close("loss", loss, want_loss, mistakes=[Mistake("forgot to divide by N", want * N)])

Every comparison is in float64 and normwise: ``relative_error`` of :mod:`dlf.scratch.gradcheck`
(``max |a - b| / max(|a| + |b|)``). When a value is wrong, the grader tries the known mistakes
the exercise lists (each a value that a particular wrong program would return, NaN and inf
included where that program has them) and then the generic ones (sign flipped, transposed, off
by a constant factor such as N), and names the one that matches. An exception in the learner's
code stops the grading with a :class:`LearnerError` that points at the learner's file and line.

Torch code is graded with the same tools: ``g.close`` takes tensors (detached, on the CPU, in
float64) and ``g.call`` reports a tensor argument changed in place as it does an array. torch is
never imported here at module level: a tensor exists only where torch was imported already.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from dlf.scratch.gradcheck import numerical_gradient, relative_error

MATCH = 1e-6  # a wrong value "is" a known mistake when it agrees with it this well

INPLACE_ARRAY = "an in-place operation (+=, -=, a[...] =) on an input: work on a copy"
INPLACE_TENSOR = (
    "an in-place operation on an input (x += ..., x[...] = ..., masked_fill_): make a new "
    "tensor instead (x = x + ..., masked_fill)"
)


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a torch tensor (torch is not imported to find out)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def as_array(value: Any) -> Any:
    """A torch tensor as a float64 NumPy array (detached, on the CPU); anything else as it is."""
    if is_tensor(value):
        import torch

        return value.detach().to("cpu", torch.float64).numpy()
    return value


def named(fn: Callable, name: str) -> Callable:
    """``fn`` under another name, the one errors and checks give it (for a closure or a layer).

    Example: ``g.call(named(layer, "EncoderLayer.forward"), x)``.
    """

    def call(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


@cache
def solution_variant(solution: str, edits: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """The namespace of ``solution`` with every ``old`` of ``edits`` replaced by its ``new``.

    A known mistake is the reference solution with one edit; running it gives the value that
    the mistaken code returns (each ``old`` must occur in the solution)."""
    text = solution
    for old, new in edits:
        if old not in text:
            raise ValueError(f"a mistake's edit does not apply: {old!r} is not in the solution")
        text = text.replace(old, new)
    namespace: dict[str, Any] = {"__name__": "dlf_learn_mistake"}
    exec(compile(text, "<mistake>", "exec"), namespace)
    return namespace


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """torch on one thread inside: graders use small tensors, and two gradings share the cores."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _snapshot(value: Any) -> Any:
    """A copy of an array or tensor argument, to see afterwards whether it changed; else None."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if is_tensor(value):
        return value.detach().clone()
    return None


def _unchanged(old: Any, new: Any) -> bool:
    """Whether ``new`` still equals the snapshot ``old`` (NaN equal to NaN)."""
    if isinstance(old, np.ndarray):
        return np.array_equal(old, new, equal_nan=True)
    new = new.detach()
    if old.shape != new.shape or old.dtype != new.dtype:
        return False
    if old.is_floating_point() or old.is_complex():
        return bool(((old == new) | (old.isnan() & new.isnan())).all())
    return bool((old == new).all())


def _agrees(got: np.ndarray, value: np.ndarray) -> bool:
    """``got`` equals ``value``: the same shape, NaN and inf at the same places (inf of the same
    sign), and the finite entries within MATCH."""
    if got.shape != value.shape:
        return False
    got_bad, value_bad = ~np.isfinite(got), ~np.isfinite(value)
    if not np.array_equal(got_bad, value_bad):
        return False
    if not np.array_equal(got[got_bad], value[value_bad], equal_nan=True):
        return False
    return relative_error(got[~got_bad], value[~value_bad]) <= MATCH


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer: what a program with this mistake returns, and how to name it."""

    message: str
    value: Any


@dataclass
class Check:
    """One verdict: ``what`` was checked ``on`` which input; ``detail`` says by how much."""

    what: str
    passed: bool
    on: str = ""
    detail: str = ""
    diagnosis: str = ""

    def line(self) -> str:
        """``✓ loss (N=1, C=3)`` or ``✗ loss (N=1): relative error 0.5 — likely: ...``."""
        mark = "✓" if self.passed else "✗"
        text = f"{mark} {self.what}" + (f" [{self.on}]" if self.on else "")
        if self.detail:
            text += f": {self.detail}"
        if self.diagnosis:
            text += f"\n    likely mistake: {self.diagnosis}"
        return text


class LearnerError(Exception):
    """The learner's code raised, or lacks a name the exercise asks for: grading stops here."""

    def __init__(self, message: str, not_written: bool = False):
        super().__init__(message)
        self.not_written = not_written


def learner_location(err: BaseException, path: Path) -> str:
    """``file:line: code`` of the deepest frame of ``err``'s traceback inside ``path``, or ''."""
    if isinstance(err, SyntaxError) and err.filename and Path(err.filename) == path:
        return f"{path}:{err.lineno}: {(err.text or '').strip()}"
    frames = [f for f in traceback.extract_tb(err.__traceback__) if Path(f.filename) == path]
    if not frames:
        return ""
    f = frames[-1]
    return f"{path}:{f.lineno}: {(f.line or '').strip()}"


def loops_in(fn: Callable) -> list[str]:
    """The Python loops in ``fn``'s source: ``["for (line 12)", "list comprehension (line 14)"]``.

    Used where an exercise asks for vectorised code: every loop, over samples or otherwise, is
    reported (a NumPy expression replaces each one).
    """
    try:
        lines, start = inspect.getsourcelines(fn)
    except (OSError, TypeError):
        return []
    tree = ast.parse(textwrap.dedent("".join(lines)))
    kinds = {
        ast.For: "for",
        ast.While: "while",
        ast.ListComp: "list comprehension",
        ast.SetComp: "set comprehension",
        ast.DictComp: "dict comprehension",
        ast.GeneratorExp: "generator expression",
    }
    return [
        f"{kinds[type(node)]} (line {start + node.lineno - 1})"
        for node in ast.walk(tree)
        if type(node) in kinds
    ]


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    return repr(value)


def _first_difference(got: np.ndarray, want: np.ndarray) -> str:
    """Where ``got`` is furthest from ``want``: ``at [1, 2]: got 0.5, expected 0.25``."""
    if got.ndim == 0:
        return f"got {_fmt(got.item())}, expected {_fmt(want.item())}"
    with np.errstate(invalid="ignore"):
        diff = np.abs(got - want)
    diff[~np.isfinite(diff)] = np.inf
    diff[~np.isfinite(want) & ((got == want) | (np.isnan(got) & np.isnan(want)))] = 0
    idx = np.unravel_index(int(np.argmax(diff)), got.shape)
    where = ", ".join(str(int(i)) for i in idx)
    return f"at [{where}]: got {_fmt(got[idx])}, expected {_fmt(want[idx])}"


def _name_of(fn: Callable) -> str:
    return getattr(fn, "__qualname__", getattr(fn, "__name__", "your code"))


@dataclass
class Grader:
    """Records the checks of one grading of ``module``, the learner's file at ``path``."""

    module: ModuleType
    path: Path
    checks: list[Check] = field(default_factory=list)
    on: str = ""
    known_errors: list[tuple[str, str]] = field(default_factory=list)  # see advice()

    def function(self, name: str) -> Callable:
        """The learner's function or class called ``name``; missing -> LearnerError."""
        obj = getattr(self.module, name, None)
        if obj is None:
            raise LearnerError(f"{self.path.name} defines no {name!r}: keep the stub's names")
        return obj

    def subclass(self, name: str, base: type, why: str) -> type:
        """The learner's class ``name``, which must stay a subclass of dlf's ``base`` (``why``
        says what it inherits); else a LearnerError."""
        cls = self.function(name)
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise LearnerError(
                f"{name} must stay a subclass of {base.__module__}.{base.__qualname__} ({why}): "
                "keep the stub's class line"
            )
        return cls

    @contextmanager
    def case(self, description: str) -> Iterator[None]:
        """Checks recorded inside are labelled with this input, e.g. ``N=1, C=3, seed 0``."""
        outer, self.on = self.on, description
        try:
            yield
        finally:
            self.on = outer

    @contextmanager
    def advice(self, *known: tuple[str, str]) -> Iterator[None]:
        """Inside, an exception of the learner's code whose message contains the first text of
        one of ``known`` pairs is reported with the second as its likely mistake (the pairs of
        the innermost ``advice`` are tried first).

        Example: ``with g.advice(("must match", "the keys are memory, of length S")):``.
        """
        before = self.known_errors
        self.known_errors = [*known, *before]
        try:
            yield
        finally:
            self.known_errors = before

    def call(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``; an exception becomes a LearnerError naming file and line.

        Array and tensor arguments must come back unchanged (a function that writes into its
        input breaks its caller); use :meth:`call_inplace` where changing an argument is the
        point. A tensor argument is passed as a clone (gradients flow back to the original), so
        that a change is reported once and never spoils the caller's tensor. To report a
        closure or a layer under its own name, pass :func:`named` (fn, name).
        """
        before = [_snapshot(a) for a in args]
        args = tuple(a.clone() if is_tensor(a) else a for a in args)
        out = self.call_inplace(fn, *args, **kwargs)
        what = f"{_name_of(fn)} leaves its inputs unchanged"
        for i, (old, new) in enumerate(zip(before, args, strict=True)):
            said = any(c.what == what for c in self.checks)  # once is enough
            if old is not None and not said and not _unchanged(old, new):
                self.check(
                    what,
                    False,
                    f"argument {i + 1} {tuple(old.shape)} was modified",
                    INPLACE_ARRAY if isinstance(old, np.ndarray) else INPLACE_TENSOR,
                )
        return out

    def call_inplace(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` with no check that the arguments stay unchanged."""
        try:
            return fn(*args, **kwargs)
        except Exception as err:
            raise self.error(err, _name_of(fn)) from None

    def error(self, err: BaseException, name: str) -> LearnerError:
        """A LearnerError for ``err`` raised while running the learner's ``name`` (with the
        advice of :meth:`advice` where its message is a known one)."""
        where = learner_location(err, self.path)
        if isinstance(err, NotImplementedError) and where:
            return LearnerError(f"{name} is not written yet ({where})", not_written=True)
        text = f"{name} raised {type(err).__name__}: {err}".splitlines()[0]
        on = f" on input [{self.on}]" if self.on else ""
        error = LearnerError(f"{text}{on}" + (f"\n    at {where}" if where else ""))
        for known, what in self.known_errors:
            if known in str(err):
                error.args = (f"{error}\n    likely mistake: {what}",)
                break
        return error

    def check(self, what: str, passed: bool, detail: str = "", diagnosis: str = "") -> bool:
        """Record a verdict computed by the exercise itself."""
        self.checks.append(Check(what, bool(passed), self.on, "" if passed else detail, diagnosis))
        return bool(passed)

    def close(
        self,
        what: str,
        got: Any,
        want: Any,
        *,
        rtol: float = 1e-7,
        mistakes: tuple[Mistake, ...] | list[Mistake] = (),
        factors: dict[str, float] | None = None,
        shapes: dict[tuple[int, ...], str] | None = None,
    ) -> bool:
        """Check ``got`` against the reference ``want`` (shape, finiteness, relative error).

        Both may be NumPy arrays, numbers or torch tensors (compared detached, in float64).
        A wrong shape listed in ``shapes`` gets that shape's diagnosis (``{(N, F, 3, 3): "the
        padding is ignored"}``). Where ``want`` holds NaN or inf, ``got`` must hold the same
        there; the finite entries are compared by relative error. On a mismatch the diagnosis
        is the first of ``mistakes`` whose value ``got`` equals, else a generic one: the sign
        flipped, the transpose, or a constant factor, named after ``factors`` (``{"N": 8}``
        turns a factor of 8 into "off by a factor N = 8").
        """
        want_a = np.asarray(as_array(want), dtype=np.float64)
        if got is None:
            return self.check(what, False, "got None", "a missing return statement")
        try:
            got_a = np.asarray(as_array(got), dtype=np.float64)
        except (TypeError, ValueError, RuntimeError):
            return self.check(what, False, f"got {type(got).__name__}, expected an array")
        if got_a.shape != want_a.shape:
            diagnosis = (shapes or {}).get(got_a.shape, "")
            if not diagnosis and got_a.shape == want_a.T.shape and got_a.ndim == 2:
                diagnosis = "the result is transposed: check the order of a matrix product"
            return self.check(
                what, False, f"shape {got_a.shape}, expected {want_a.shape}", diagnosis
            )
        diagnosis = self.diagnose(got_a, want_a, mistakes, factors or {})
        got_bad, want_bad = ~np.isfinite(got_a), ~np.isfinite(want_a)
        if not np.array_equal(got_bad, want_bad) or not np.array_equal(
            got_a[got_bad], want_a[want_bad], equal_nan=True
        ):
            if not want_bad.any():
                return self.check(what, False, "contains NaN or inf", diagnosis)
            detail = f"NaN or inf do not match the reference's; {_first_difference(got_a, want_a)}"
            return self.check(what, False, detail, diagnosis)
        err = relative_error(got_a[~got_bad], want_a[~want_bad])
        if err <= rtol:
            return self.check(what, True)
        detail = (
            f"relative error {err:.1e} (tolerance {rtol:.0e}); {_first_difference(got_a, want_a)}"
        )
        return self.check(what, False, detail, diagnosis)

    @staticmethod
    def diagnose(got: np.ndarray, want: np.ndarray, mistakes, factors: dict[str, float]) -> str:
        """The name of the known or generic mistake that ``got`` matches, or ''.

        A known mistake matches when ``got`` equals its value: NaN and inf at the same places
        (and inf of the same sign), the finite entries within MATCH. The generic ones are
        tried on finite values only.
        """
        got = np.asarray(got, dtype=np.float64)
        for m in mistakes:
            if _agrees(got, np.asarray(as_array(m.value), dtype=np.float64)):
                return m.message
        if not np.all(np.isfinite(got)) or not np.all(np.isfinite(want)) or not np.any(want):
            return ""
        if not np.any(got):
            return "the result is all zeros: is a step missing, or a value never written?"
        if relative_error(got, -want) <= MATCH:
            return "the sign is flipped"
        if got.ndim == 2 and got.shape[0] == got.shape[1] and relative_error(got, want.T) <= MATCH:
            return "the result is transposed: check the order of a matrix product"
        scale = float(np.vdot(got, want) / np.vdot(want, want))
        if scale and abs(scale - 1) > 1e-3 and relative_error(got, scale * want) <= MATCH:
            for name, value in factors.items():
                if np.isclose(scale, value, rtol=1e-6):
                    return f"off by a factor {name} = {value:g}"
                if np.isclose(scale, 1 / value, rtol=1e-6):
                    return f"off by a factor 1/{name} = 1/{value:g}"
            whole = scale if abs(scale) >= 1 else 1 / scale
            if abs(whole) <= 1e4 and abs(whole - round(whole)) < 1e-6:
                return f"off by a constant factor {scale:.6g}"
        return ""

    def gradcheck(
        self,
        what: str,
        f: Callable[[np.ndarray], float],
        x: np.ndarray,
        analytic: Any,
        tol: float = 1e-7,
    ) -> bool:
        """Compare ``analytic`` with the centred-difference gradient of ``f`` at ``x`` (float64).

        This needs no reference: the learner's own loss and gradient must agree with each other.
        """
        numeric = numerical_gradient(lambda v: float(self.call(f, v)), x)
        return self.close(f"{what} (gradient check)", analytic, numeric, rtol=tol)

    def returns(self, out: Any, n: int, description: str) -> tuple:
        """``out`` as a tuple of ``n`` values, else a LearnerError that says what to return.

        Example: ``loss, dlogits = g.returns(g.call(f, z, y), 2, "(loss, dlogits)")``.
        """
        if not isinstance(out, tuple | list) or len(out) != n:
            got = f"a {type(out).__name__}" + (
                f" of {len(out)}" if isinstance(out, tuple | list) else ""
            )
            raise LearnerError(f"expected a return value of {description}, got {got}")
        return tuple(out)

    def no_loops(self, fn: Callable) -> bool:
        """Vectorised code: no ``for``, ``while`` or comprehension in ``fn``."""
        loops = loops_in(fn)
        return self.check(
            f"{fn.__name__} is vectorised (no Python loop)",
            not loops,
            "found " + ", ".join(loops),
            "a loop over samples: express it with a matrix product, broadcasting or fancy indexing",
        )

    def same_dtype(self, what: str, got: Any, want: np.dtype, diagnosis: str = "") -> bool:
        """``got`` keeps the input's floating dtype (float32 in, float32 out).

        The default diagnosis is for a result promoted to a wider type; pass another where the
        likely mistake differs.
        """
        if not isinstance(got, np.ndarray | np.generic):
            return self.check(
                f"{what} is a NumPy array of dtype {np.dtype(want).name}",
                False,
                f"got {type(got).__name__}",
                "return a NumPy array (np.asarray), not a Python list or number",
            )
        dtype = got.dtype
        return self.check(
            f"{what} keeps the dtype {np.dtype(want).name}",
            dtype == want,
            f"got {dtype}",
            diagnosis
            or (
                "an operation promoted the result: keep constants as Python floats, not float64 "
                "arrays"
                if np.dtype(dtype).itemsize > np.dtype(want).itemsize
                else f"the result was cast to {dtype}: compute in the input's dtype"
            ),
        )
