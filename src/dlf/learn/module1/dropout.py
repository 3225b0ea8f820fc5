"""Exercise ``dropout``: inverted dropout, forward and backward, in training and evaluation.

Reference: :class:`dlf.scratch.layers.Dropout` (the solution is the bodies of its ``forward`` and
``backward``). The learner may draw the mask any way they like, so the grader checks properties
(values, the fraction dropped, the mean, the same mask in backward) rather than dlf's mask.
"""

from __future__ import annotations

import math

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake
from dlf.learn.source import fill_bodies
from dlf.scratch import layers

STUB = '''"""Exercise dropout: inverted dropout, which drops units at random in training.

The class below inherits its constructor from dlf.scratch.layers.Dropout: Dropout(p=0.5, *,
rng=None) sets self.p (the probability of DROPPING an entry), self.rng (a np.random.Generator),
self.mask = None, and self.training = True (layer.eval() sets it to False, layer.train() back).
Write forward and backward. Check with `dlf learn check dropout` after each save.
"""

import numpy as np

import dlf.scratch.layers


class Dropout(dlf.scratch.layers.Dropout):
    def forward(self, x):
        """Training: drop each entry with probability p, scale the kept ones by 1 / (1 - p):

            m_i ~ Bernoulli(1 - p)  (1: keep, 0: drop),   y = x * m / (1 - p),   so E[y] = x

        Draw the mask from self.rng (e.g. self.rng.random(x.shape) >= self.p) and keep it for
        backward (self.mask). p = 1 drops everything: y = 0, with no division by zero.
        Evaluation (self.training is False): y = x. Nothing is scaled at test time: the
        training outputs already have the right mean (that is the "inverted" part).
        Shapes: x any shape -> y of the same shape and dtype (float32 in -> float32 out).
        Checked: on 200,000 entries, each output is 0 or x / (1 - p), the fraction dropped is
        p and the mean of y / x is 1 (within 6 standard deviations); a new mask each call,
        drawn from self.rng; p = 0 and evaluation give y = x; p = 1 gives zeros; dtypes.
        """
        raise NotImplementedError

    def backward(self, dout):
        """dx = dout * m / (1 - p) with the SAME mask as the last forward; dx = dout in eval.

        Shapes: dout like the last y -> dx of the same shape and dtype.
        Checked: dx == dout * y / x entry by entry after a training forward, dx == dout after
        an evaluation forward, zeros for p = 1.
        """
        raise NotImplementedError
'''

SOLUTION = fill_bodies(
    STUB, {"Dropout.forward": layers.Dropout.forward, "Dropout.backward": layers.Dropout.backward}
)

SHAPE = (400, 500)  # 200,000 entries: the fraction dropped is p within about 0.1%
SIGMAS = 6


def _input(seed: int, shape: tuple[int, ...] = SHAPE) -> np.ndarray:
    """Normal entries pushed away from 0, so that y / x is defined everywhere."""
    x = np.random.default_rng(seed).standard_normal(shape)
    return x + np.where(x >= 0, 0.5, -0.5)


def _make(g: Grader, cls, p: float, seed: int):
    return g.call_inplace(cls, p, rng=np.random.default_rng(seed))


def _training(g: Grader, cls, p: float) -> None:
    x = _input(0)
    layer = _make(g, cls, p, 1)
    y = g.call(layer.forward, x)
    if y is None or np.shape(y) != x.shape:
        g.close("y", y, x)
        return
    y = np.asarray(y, dtype=np.float64)
    n = x.size
    kept = y != 0
    dropped = 1 - kept.mean()
    keep = 1 - p
    g.close(
        "the kept entries are x / (1 - p)",
        y[kept],
        x[kept] / keep,
        mistakes=[
            Mistake(
                "not rescaled: the kept entries must be x / (1 - p), so that E[y] = x",
                x[kept],
            ),
            Mistake(
                "scaled by 1 / p: p is the DROP probability, scale by 1 / (1 - p)", x[kept] / p
            ),
            Mistake("scaled by (1 - p): divide by (1 - p), do not multiply", x[kept] * keep),
        ],
    )
    sd = math.sqrt(p * keep / n)
    diagnosis = ""
    if abs(dropped - keep) <= SIGMAS * sd:
        diagnosis = (
            "p used as the keep probability: an entry is DROPPED with probability p "
            "(keep where rng.random(shape) >= p)"
        )
    elif dropped == 0:
        diagnosis = "nothing is dropped: multiply by the mask"
    g.check(
        f"the fraction of entries dropped is p = {p:g}",
        abs(dropped - p) <= SIGMAS * sd,
        f"dropped {dropped:.2%} of {n} entries, expected {p:.0%} ± {SIGMAS * sd:.2%}",
        diagnosis,
    )
    ratio = float(np.mean(y / x))
    sd_ratio = math.sqrt(p / keep / n)
    diagnosis = ""
    if abs(ratio - keep) < 0.02:
        diagnosis = "not rescaled: divide the kept entries by (1 - p)"
    elif abs(ratio - p / keep) < 0.02:
        diagnosis = "p used as the keep probability: an entry is DROPPED with probability p"
    g.check(
        "E[y] = x: the mean of y / x is 1",
        abs(ratio - 1) <= SIGMAS * sd_ratio,
        f"mean of y / x is {ratio:.4f}, expected 1 ± {SIGMAS * sd_ratio:.4f}",
        diagnosis,
    )

    dy = np.random.default_rng(2).standard_normal(x.shape)
    dx = np.asarray(g.call(layer.backward, dy), dtype=np.float64)
    mistakes = [
        Mistake("backward not rescaled: dx = dout * m / (1 - p)", dy * kept),
        Mistake("backward ignores the mask: dx = dout * m / (1 - p)", dy / keep),
        Mistake("backward ignores the mask: dx = dout * m / (1 - p)", dy),
    ]
    if dx.shape == x.shape:
        nz = dx != 0
        fresh = not np.array_equal(nz, kept) and np.allclose(dx[nz], dy[nz] / keep)
        if fresh and abs(nz.mean() - keep) < 0.05:
            mistakes.insert(
                0,
                Mistake(
                    "a new mask drawn in backward: keep forward's mask (self.mask) and use it",
                    dx,
                ),
            )
    g.close(
        "dx = dout * (forward's mask) / (1 - p), i.e. dout * y / x",
        dx,
        dy * y / x,
        mistakes=mistakes,
    )


def _randomness(g: Grader, cls, p: float) -> None:
    x = _input(3, (50, 40))
    first = g.call(_make(g, cls, p, 7).forward, x)
    again = g.call(_make(g, cls, p, 7).forward, x)
    g.check(
        "the mask is drawn from self.rng (the same seed gives the same mask)",
        np.array_equal(first, again),
        "two layers built with rng=np.random.default_rng(7) dropped different entries",
        "draw from self.rng (self.rng.random(x.shape)), not np.random.* or a new generator",
    )
    if first is None or again is None:
        return  # reported by the training checks
    layer = _make(g, cls, p, 8)
    one = g.call(layer.forward, x)
    two = g.call(layer.forward, x)
    g.check(
        "each forward draws a new mask",
        not np.array_equal(one, two),
        "two calls dropped the same entries",
        "the generator is re-created with a fixed seed at each call: draw from self.rng",
    )


def _evaluation(g: Grader, cls, p: float) -> None:
    x = _input(4, (6, 5))
    layer = _make(g, cls, p, 9)
    y_train = np.asarray(g.call(layer.forward, x), dtype=np.float64)  # leaves a mask behind
    g.call_inplace(layer.eval)
    y = np.asarray(g.call(layer.forward, x), dtype=np.float64)
    mistakes = [
        Mistake(
            "scaled at test time: with inverted dropout, evaluation is the identity y = x "
            "(training already divided by 1 - p)",
            x * (1 - p),
        ),
        Mistake("scaled at test time: in evaluation y = x", x / (1 - p)),
    ]
    if y.shape == x.shape and np.any((y == 0) & (x != 0)):
        mistakes.insert(
            0, Mistake("dropout applied in evaluation mode: if not self.training, y = x", y)
        )
    g.close("evaluation: y = x", y, x, mistakes=mistakes)
    dy = np.random.default_rng(5).standard_normal(x.shape)
    dx = g.call(layer.backward, dy)
    applied = []
    if np.shape(dx) == x.shape and np.any(np.asarray(dx) == 0):
        applied = [
            Mistake("dropout applied in evaluation mode: if not self.training, dx = dout", dx)
        ]
    g.close(
        "evaluation: dx = dout",
        dx,
        dy,
        mistakes=[
            Mistake(
                "evaluation backward used the training mask: in evaluation forward, set "
                "self.mask = None (or test self.training in backward)",
                dy * y_train / x,
            ),
            Mistake("scaled at test time: in evaluation dx = dout", dy * (1 - p)),
            Mistake("scaled at test time: in evaluation dx = dout", dy / (1 - p)),
            *applied,
        ],
    )


def _edges(g: Grader, cls) -> None:
    x = _input(6, (4, 7))
    dy = np.random.default_rng(7).standard_normal(x.shape)
    with g.case("p = 0, training, x (4, 7)"):
        layer = _make(g, cls, 0.0, 10)
        everything = Mistake(
            "p used as the keep probability: p = 0 must drop nothing (keep where "
            "rng.random(shape) >= p)",
            np.zeros_like(x),
        )
        g.close("p = 0: y = x", g.call(layer.forward, x), x, mistakes=[everything])
        g.close("p = 0: dx = dout", g.call(layer.backward, dy), dy)
    with g.case("p = 1, training, x (4, 7)"):
        layer = _make(g, cls, 1.0, 11)
        nan = Mistake(  # 0 / 0 in every entry: each is dropped, then divided by 1 - p = 0
            "p = 1 divides by 1 - p = 0: when p == 1, y is all zeros", np.full_like(x, np.nan)
        )
        with np.errstate(all="ignore"):
            g.close("p = 1: y = 0", g.call(layer.forward, x), np.zeros_like(x), mistakes=[nan])
            g.close("p = 1: dx = 0", g.call(layer.backward, dy), np.zeros_like(x), mistakes=[nan])
    with g.case("float32 x (4, 7), p = 0.5, training"):
        layer = _make(g, cls, 0.5, 12)
        y32 = g.call(layer.forward, x.astype(np.float32))
        g.same_dtype("y", y32, np.float32)
        g.same_dtype("dx", g.call(layer.backward, dy.astype(np.float32)), np.float32)


def grade(g: Grader) -> None:
    cls = g.function("Dropout")
    p = 0.3
    with g.case(f"p = {p}, training, x {SHAPE}, rng seed 1"):
        _training(g, cls, p)
    with g.case(f"p = {p}, training, x (50, 40)"):
        _randomness(g, cls, p)
    with g.case(f"p = {p}, evaluation after a training forward, x (6, 5)"):
        _evaluation(g, cls, p)
    _edges(g, cls)


EXERCISE = Exercise(
    name="dropout",
    module=1,
    number=12,
    title="Inverted dropout",
    concept="Dropout",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "In evaluation (not self.training) forward returns x unchanged and backward returns "
        "dout: set self.mask = None so backward knows.",
        "The mask: keep = self.rng.random(x.shape) >= self.p is True with probability 1 - p. "
        "Turn it into numbers in x's dtype: keep.astype(x.dtype).",
        "Scale once, in the mask: self.mask = keep.astype(x.dtype) / (1 - self.p); then "
        "y = x * self.mask and, in backward, dx = dout * self.mask.",
        "p == 1 makes 1 / (1 - p) a division by zero: handle it first with "
        "self.mask = np.zeros_like(x).",
    ),
)
