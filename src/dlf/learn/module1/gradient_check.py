"""Exercise ``gradient-check``: the centred-difference gradient and the normwise relative error.

Reference: :func:`dlf.scratch.gradcheck.numerical_gradient` and
:func:`dlf.scratch.gradcheck.relative_error` (the solution is their bodies).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake
from dlf.learn.source import fill_bodies
from dlf.scratch import gradcheck

STUB = '''"""Exercise gradient-check: the numerical gradient, which checks every backward pass.

A backward pass is trusted once it agrees with finite differences of the loss. Write the
centred-difference gradient of a scalar function, then the relative error that compares two
gradients. Check with `dlf learn check gradient-check` after each save.
"""

import numpy as np

_TINY = 1e-300  # the smallest scale relative_error divides by: 0 / 0 never happens


def numerical_gradient(f, x, h=1e-5):
    """The centred-difference gradient of a scalar function f at x, one entry at a time.

        df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)        (error O(h^2))

    e_i is the array with a 1 at entry i and 0 elsewhere. Perturb each entry of x IN PLACE and
    call f(x): f may read x through an object that holds it (a layer's weight matrix) rather
    than through its argument. After the two calls, put back the entry's exact old value.
    Shapes: f maps an array to a float; x a float array of any shape (1-D, 2-D, 3-D...)
    -> gradient of x's shape.
    Checked: against dlf's numerical gradient (relative error <= 1e-7) on several functions,
    shapes and steps h, a function that reads x without its argument, and x restored exactly.
    """
    raise NotImplementedError


def relative_error(a, b):
    """The normwise relative error of two arrays of one shape, as a float:

        max_i |a_i - b_i| / max(max_i (|a_i| + |b_i|), _TINY)

    One scale for the whole array (its largest entry), so an entry that is 0 in one gradient
    and 1e-12 in the other does not count as 100% wrong, as it would entry by entry.
    Both all zero -> 0.0. Example: relative_error([1.0, 0.0], [1.0, 1e-9]) -> 5e-10.
    Shapes: a, b arrays (or lists) of the same shape -> float.
    Checked: against dlf on several pairs, including both all zero and [1, 0] vs [1, 1e-9].
    """
    raise NotImplementedError
'''

SOLUTION = fill_bodies(
    STUB,
    {
        "numerical_gradient": gradcheck.numerical_gradient,
        "relative_error": gradcheck.relative_error,
    },
)

A = np.random.default_rng(10).standard_normal((3, 4))
HELD = np.random.default_rng(11).standard_normal((3, 2))  # the "weight matrix" of a layer
Z = np.random.default_rng(12).standard_normal((2, 4))


def _coupled(v: np.ndarray) -> float:
    """Not a sum over entries: each partial derivative depends on every entry."""
    return float(np.sum(np.sin(v) * A) + np.sum(v) ** 2)


def _log_sum_exp(v: np.ndarray) -> float:
    return float(np.log(np.sum(np.exp(v))))


def _reads_held(_: np.ndarray) -> float:
    """Ignores its argument: reads HELD, as a loss reads a layer's weights."""
    return float(np.sum(np.tanh(HELD @ Z)))


# (description, f, shape of x or None for HELD, h, seed)
GRADIENT_CASES: tuple[tuple[str, Callable[[np.ndarray], float], tuple | None, float, int], ...] = (
    ("f(x) = sum(x**3), x (5,)", lambda v: float(np.sum(v**3)), (5,), 1e-5, 0),
    ("f(x) = sum(sin(x) * A) + sum(x)**2, x (3, 4)", _coupled, (3, 4), 1e-5, 1),
    ("f(x) = log(sum(exp(x))), x (2, 3, 2)", _log_sum_exp, (2, 3, 2), 1e-5, 2),
    ("f(x) = sum(x**3), x (4,), h = 1e-2", lambda v: float(np.sum(v**3)), (4,), 1e-2, 3),
    ("f reads a layer's weights W (3, 2), not its argument; x = W", _reads_held, None, 1e-5, 4),
)


def _one_sided(f: Callable, x: np.ndarray, h: float, forward: bool) -> np.ndarray:
    """What a forward (f(x+h) - f(x)) / h or backward difference returns."""
    grad = np.zeros_like(x)
    fx = f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h if forward else old - h
        grad[i] = (f(x) - fx) / h if forward else (fx - f(x)) / h
        x[i] = old
    return grad


def _gradient_mistakes(f: Callable, x: np.ndarray, h: float, want: np.ndarray, held: bool):
    mistakes = [
        Mistake(
            "a forward difference (f(x + h) - f(x)) / h: its error is of order h; use the "
            "centred (f(x + h) - f(x - h)) / (2h), whose error is of order h**2",
            _one_sided(f, x, h, forward=True),
        ),
        Mistake(
            "a backward difference (f(x) - f(x - h)) / h: use the centred one, "
            "(f(x + h) - f(x - h)) / (2h)",
            _one_sided(f, x, h, forward=False),
        ),
        Mistake("forgot to divide by 2h (the two points are 2h apart), not h", 2 * want),
        Mistake("`/ 2 * h` divides by 2, then multiplies by h: write / (2 * h)", want * h * h),
    ]
    if held:
        mistakes.insert(
            0,
            Mistake(
                "f saw no change: it reads x through an object that holds it, so perturb x "
                "itself in place (x[i] = old + h), not a copy of x",
                np.zeros_like(want),
            ),
        )
    if h != 1e-5:
        mistakes.append(
            Mistake(
                "the step h is ignored: use the argument h",
                gradcheck.numerical_gradient(f, x.copy(), 1e-5),
            )
        )
    return mistakes


def _check_restored(g: Grader, x: np.ndarray, before: np.ndarray) -> None:
    if np.array_equal(x, before):
        g.check("x is restored exactly after the call", True)
        return
    off = float(np.max(np.abs(x - before)))
    rounding = off <= 1e-12 * max(float(np.max(np.abs(before))), 1.0)
    g.check(
        "x is restored exactly after the call",
        False,
        f"x changed by up to {off:.1e}",
        "x[i] + h - h is not exactly x[i] in floating point: save old = x[i] and write "
        "x[i] = old back"
        if rounding
        else "an entry is left perturbed: after the two calls of f, write x[i] = old back",
    )


def _elementwise(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-300)))


def _relative_error_mistakes(a: np.ndarray, b: np.ndarray) -> list[Mistake]:
    diff = float(np.max(np.abs(a - b)))
    big = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))))
    norms = float(np.linalg.norm(a) + np.linalg.norm(b))
    mistakes = [
        Mistake(
            "an element-wise relative error max_i(|a_i - b_i| / (|a_i| + |b_i|)): use one "
            "scale for the whole array, max_i(|a_i| + |b_i|)",
            _elementwise(a, b),
        ),
        Mistake(
            "an element-wise relative error with CS231n's floor 1e-8: use one scale for the "
            "whole array, max_i(|a_i| + |b_i|)",
            float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-8))),
        ),
    ]
    if np.any(a + b > 0):
        mistakes.append(
            Mistake(
                "the scale needs absolute values: max_i(|a_i| + |b_i|), not max_i(a_i + b_i)",
                diff / max(float(np.max(a + b)), 1e-300),
            )
        )
    if big > 0:
        mistakes.append(
            Mistake("the scale is max_i(|a_i| + |b_i|), not max(max|a|, max|b|)", diff / big)
        )
    if norms > 0:
        mistakes.append(
            Mistake(
                "L2 norms ||a - b|| / (||a|| + ||b||): the error here is the largest entry, "
                "max_i |a_i - b_i| / max_i(|a_i| + |b_i|)",
                float(np.linalg.norm(a - b)) / norms,
            )
        )
    else:
        mistakes.append(
            Mistake(
                "0 / 0 when both arrays are zero: divide by max(scale, _TINY), never by 0",
                np.nan,
            )
        )
    return mistakes


def _pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(20)
    a = rng.standard_normal((3, 4))
    return [
        ("a (3, 4), b = a + 1e-6 noise", a, a + 1e-6 * rng.standard_normal((3, 4))),
        ("a = [1, 0], b = [1, 1e-9]", np.array([1.0, 0.0]), np.array([1.0, 1e-9])),
        ("a, b both all zero (2, 3)", np.zeros((2, 3)), np.zeros((2, 3))),
        ("a = [1e3, 1e-3], b = [1001, 2e-3]", np.array([1e3, 1e-3]), np.array([1001.0, 2e-3])),
        ("a = [[2]], b = [[-3]]", np.array([[2.0]]), np.array([[-3.0]])),
    ]


def grade(g: Grader) -> None:
    numgrad = g.function("numerical_gradient")
    for on, f, shape, h, seed in GRADIENT_CASES:
        held = shape is None
        rng = np.random.default_rng(seed)
        x = HELD if held else rng.standard_normal(shape)
        start = x.copy()
        want = gradcheck.numerical_gradient(f, x, h)
        mistakes = _gradient_mistakes(f, x, h, want, held)
        assert np.array_equal(x, start)
        with g.case(on):
            try:
                got = g.call_inplace(numgrad, f, x, h)
                _check_restored(g, x, start)
            finally:
                x[...] = start  # HELD is shared by every grading in this process
            if np.shape(got) != want.shape:
                g.check(
                    "numerical_gradient",
                    False,
                    "got None" if got is None else f"shape {np.shape(got)}, expected {want.shape}",
                    "nothing is returned: end with return grad"
                    if got is None
                    else "one partial derivative per entry of x: start from np.zeros_like(x) and "
                    "visit every index (np.ndindex(x.shape)), not only the first axis",
                )
                continue
            g.close("numerical_gradient", got, want, mistakes=mistakes)

    rel = g.function("relative_error")
    for on, a, b in _pairs():
        with g.case(on):
            got = g.call(rel, a, b)
            if got is None:
                g.check("relative_error", False, "got None", "nothing is returned: add a return")
                continue
            want = gradcheck.relative_error(a, b)
            g.close("relative_error", got, want, mistakes=_relative_error_mistakes(a, b))
    with g.case("a, b given as lists [1.0, 2.0] and [1.0, 2.5]"):
        got = g.call(rel, [1.0, 2.0], [1.0, 2.5])
        g.close("relative_error", got, gradcheck.relative_error([1.0, 2.0], [1.0, 2.5]))


EXERCISE = Exercise(
    name="gradient-check",
    module=1,
    number=8,
    title="Numerical gradients and the relative error",
    concept="Gradient checking",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Visit every index of x, whatever its shape: `for i in np.ndindex(x.shape):` gives "
        "tuples you can index with, x[i].",
        "For each index: old = x[i]; x[i] = old + h; f_plus = f(x); x[i] = old - h; "
        "f_minus = f(x); then put x[i] = old back before moving on.",
        "grad[i] = (f_plus - f_minus) / (2 * h): the parentheses matter, and the two points are "
        "2h apart. Start from grad = np.zeros_like(x).",
        "relative_error: np.asarray both, then np.max(np.abs(a - b)) divided by "
        "max(np.max(np.abs(a) + np.abs(b)), _TINY): one number for the whole array.",
    ),
)
