"""Exercise ``initialization``: Xavier (Glorot) and He (Kaiming) normal weight initialisation.

Reference: :func:`dlf.scratch.init.xavier_normal` and :func:`dlf.scratch.init.he_normal` (the
solution is their bodies). The draws are random, so the grader checks their statistics on a
large matrix (mean, standard deviation, kurtosis, each within 6 standard errors of the target),
the shape and dtype, and that the draws come from the given generator.
"""

from __future__ import annotations

import math

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader
from dlf.learn.source import fill_bodies
from dlf.scratch import init

STUB = '''"""Exercise initialization: Xavier and He initialisation of a weight matrix.

A weight matrix W of shape (fan_in, fan_out) (y = x @ W) starts random. Too small and the
activations vanish layer after layer; too large and they explode. Both schemes below choose the
variance that keeps the scale of the signal from layer to layer.
Check with `dlf learn check initialization` after each save.
"""

import numpy as np


def xavier_normal(fan_in, fan_out, rng=None, dtype=np.float32):
    """Glorot/Xavier normal (for tanh or linear layers):

        W ~ N(0, std**2),   std = sqrt(2 / (fan_in + fan_out))

    Draw from rng, a np.random.Generator (np.random.default_rng() when rng is None), e.g.
    rng.standard_normal(shape) * std, and return an array of dtype.
    Shapes: fan_in, fan_out ints -> W (fan_in, fan_out) of dtype (float32 by default).
    Checked: on a (400, 600) and a (600, 400) draw, the mean is 0, the standard deviation is
    std and the entries are normal (kurtosis 3), each within 6 standard errors; shape, dtype
    (the default and float64); the same rng seed gives the same W; rng=None works.
    """
    raise NotImplementedError


def he_normal(fan_in, fan_out, rng=None, dtype=np.float32):
    """He/Kaiming normal (for ReLU layers):

        W ~ N(0, std**2),   std = sqrt(2 / fan_in)

    ReLU zeroes half of its inputs, which halves the second moment of the signal: the factor 2
    gives it back. Draw from rng as in xavier_normal.
    Shapes: fan_in, fan_out ints -> W (fan_in, fan_out) of dtype (float32 by default).
    Checked: as xavier_normal.
    """
    raise NotImplementedError
'''

SOLUTION = fill_bodies(STUB, {"xavier_normal": init.xavier_normal, "he_normal": init.he_normal})

SIGMAS = 6
FANS = ((400, 600), (600, 400))


def _target_std(name: str, fan_in: int, fan_out: int) -> float:
    """The std that dlf's function draws with: its output over the same generator's N(0, 1).

    dlf draws std * standard_normal(shape) from rng, so the ratio is exact (no sampling error).
    """
    ref = {"xavier_normal": init.xavier_normal, "he_normal": init.he_normal}[name]
    unit = np.random.default_rng(0).standard_normal((fan_in, fan_out))
    drawn = ref(fan_in, fan_out, rng=np.random.default_rng(0), dtype=np.float64)
    return float(np.sqrt(np.mean(drawn * drawn) / np.mean(unit * unit)))


def _std_candidates(name: str, fan_in: int, fan_out: int) -> list[tuple[str, float]]:
    """Standard deviations that known mistakes produce, each named."""
    xavier = math.sqrt(2 / (fan_in + fan_out))
    he = math.sqrt(2 / fan_in)
    right = xavier if name == "xavier_normal" else he
    found = [
        (f"the variance used as the std: std = sqrt({right**2:.3g}), not {right**2:.3g}", right**2)
    ]
    if name == "xavier_normal":
        found += [
            (
                "Xavier with fan_in only: std = sqrt(2 / (fan_in + fan_out)), not sqrt(1 / fan_in)",
                math.sqrt(1 / fan_in),
            ),
            ("He's variance 2 / fan_in: Xavier's is 2 / (fan_in + fan_out)", he),
            (
                "the 2 is missing: std = sqrt(2 / (fan_in + fan_out))",
                math.sqrt(1 / (fan_in + fan_out)),
            ),
            (
                "Xavier with fan_out only: std = sqrt(2 / (fan_in + fan_out))",
                math.sqrt(1 / fan_out),
            ),
        ]
    else:
        found += [
            (
                "He with fan_out: std = sqrt(2 / fan_in), the inputs of each unit",
                math.sqrt(2 / fan_out),
            ),
            ("the factor 2 (for ReLU) is missing: std = sqrt(2 / fan_in)", math.sqrt(1 / fan_in)),
            ("Xavier's variance 2 / (fan_in + fan_out): He's is 2 / fan_in", xavier),
        ]
    found.append(
        ("uniform(-std, std) has a std of std / sqrt(3): draw from a normal", right / math.sqrt(3))
    )
    return found


def _dtype(g: Grader, what: str, W, want: type) -> bool:
    return g.check(
        f"{what} has the dtype {np.dtype(want).name}",
        getattr(W, "dtype", None) == want,
        f"got {getattr(W, 'dtype', type(W).__name__)}",
        "the generator draws float64: return the array .astype(dtype)",
    )


def _statistics(g: Grader, fn, name: str, fan_in: int, fan_out: int) -> None:
    W = g.call(fn, fan_in, fan_out, rng=np.random.default_rng(fan_in), dtype=np.float64)
    if W is None or np.shape(W) != (fan_in, fan_out):
        transposed = np.shape(W) == (fan_out, fan_in)
        g.check(
            "W has the shape (fan_in, fan_out)",
            False,
            "got None" if W is None else f"shape {np.shape(W)}",
            "a missing return statement"
            if W is None
            else "W is (fan_in, fan_out): y = x @ W maps fan_in inputs to fan_out outputs"
            if transposed
            else "",
        )
        return
    _dtype(g, "W with dtype=np.float64", W, np.float64)
    w = np.asarray(W, dtype=np.float64)
    n = w.size
    std = _target_std(name, fan_in, fan_out)
    mean = float(w.mean())
    g.check(
        "the mean is 0",
        abs(mean) <= SIGMAS * std / math.sqrt(n),
        f"mean {mean:.3g}, expected 0 ± {SIGMAS * std / math.sqrt(n):.2g}",
        "the entries are not centred on 0: draw from N(0, std**2) (rng.standard_normal)",
    )
    got_std = float(w.std())
    tolerance = SIGMAS * std / math.sqrt(2 * n)  # the standard error of a normal sample's std
    diagnosis = next(
        (
            message
            for message, value in _std_candidates(name, fan_in, fan_out)
            if abs(got_std - value) <= SIGMAS * value / math.sqrt(2 * n)
        ),
        "",
    )
    g.check(
        f"the standard deviation is {std:.4g}",
        abs(got_std - std) <= tolerance,
        f"std {got_std:.4g}, expected {std:.4g} ± {tolerance:.1g}",
        diagnosis,
    )
    z = w - w.mean()
    kurtosis = float(np.mean(z**4) / np.mean(z**2) ** 2)
    tolerance = SIGMAS * math.sqrt(24 / n)  # the standard error of a normal sample's kurtosis
    g.check(
        "the entries are normal (kurtosis 3)",
        abs(kurtosis - 3) <= tolerance,
        f"kurtosis {kurtosis:.3f}, expected 3 ± {tolerance:.2f}",
        "uniform entries (kurtosis 1.8): draw from a normal, rng.standard_normal(shape) * std"
        if abs(kurtosis - 1.8) <= 0.1
        else "",
    )


def _generator(g: Grader, fn) -> None:
    one = g.call(fn, 30, 20, rng=np.random.default_rng(5))
    two = g.call(fn, 30, 20, rng=np.random.default_rng(5))
    g.check(
        "the draws come from rng (the same seed gives the same W)",
        one is not None and np.array_equal(one, two),
        "two calls with rng=np.random.default_rng(5) gave different matrices",
        "draw from the rng argument (rng.standard_normal), not np.random.* or a new generator",
    )
    default = g.call(fn, 30, 20)
    if default is not None:
        g.check("rng=None works", np.shape(default) == (30, 20), f"shape {np.shape(default)}", "")
        _dtype(g, "W by default", default, np.float32)


def grade(g: Grader) -> None:
    for name in ("xavier_normal", "he_normal"):
        fn = g.function(name)
        for fan_in, fan_out in FANS:
            with g.case(f"{name}({fan_in}, {fan_out}), dtype float64"):
                _statistics(g, fn, name, fan_in, fan_out)
        with g.case(f"{name}(30, 20)"):
            _generator(g, fn)


EXERCISE = Exercise(
    name="initialization",
    module=1,
    number=14,
    title="Xavier and He initialisation",
    concept="Weight initialisation",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "First the generator: if rng is None: rng = np.random.default_rng(). Every draw then "
        "comes from rng, so a seed makes it reproducible.",
        "rng.standard_normal((fan_in, fan_out)) draws N(0, 1) entries; multiplying by std "
        "makes them N(0, std**2). std is a standard deviation: the square root of the variance.",
        "Xavier: std = np.sqrt(2.0 / (fan_in + fan_out)). He: std = np.sqrt(2.0 / fan_in) "
        "(fan_in only: the number of inputs each unit sums).",
        "Finish with .astype(dtype) so that dtype=np.float64 gives float64 and the default "
        "float32.",
    ),
)
