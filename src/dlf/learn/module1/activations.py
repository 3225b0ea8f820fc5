"""Exercise ``activations``: ReLU and sigmoid layers, forward and backward.

Reference: :class:`dlf.scratch.layers.ReLU` and :class:`dlf.scratch.layers.Sigmoid`; the
learner's classes subclass them and the solution is their ``forward`` and ``backward``.
"""

from __future__ import annotations

import warnings

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake, learner_location
from dlf.learn.source import fill_bodies
from dlf.scratch.gradcheck import check_layer
from dlf.scratch.layers import ReLU as ScratchReLU
from dlf.scratch.layers import Sigmoid as ScratchSigmoid

STUB = '''"""Exercise activations: the ReLU and sigmoid non-linearities, forward and backward.

Without a non-linearity between them, stacked Linear layers are one Linear layer. Your classes
train the MNIST MLP of `dlf run mnist-mlp workspace=DIR activation=relu` (or sigmoid).
Check with `dlf learn check activations` after each save.
"""

import numpy as np

from dlf.scratch import layers


class ReLU(layers.ReLU):
    """y = max(0, x), element-wise; no parameters. dlf's constructor sets self.mask = None."""

    def forward(self, x):
        """y = max(0, x) element-wise (np.maximum, not np.max, which reduces an axis).

        Keep what backward needs: the mask [x > 0] (self.mask).
        Shapes: x any shape -> y the same shape and dtype.
        Checked: y against dlf (float64, relative error <= 1e-7) on several shapes, entries
        exactly 0, float32 kept, x left unchanged.
        """
        raise NotImplementedError

    def backward(self, dout):
        """dx = dout * [x > 0]: the gradient passes where the input was positive.

        At x = 0 exactly the derivative is taken as 0 (as PyTorch does).
        Shapes: dout like y -> dx like x.
        Checked: dx against dlf on the cases of forward (with entries exactly 0), a gradient
        check, float32 kept, dout left unchanged.
        """
        raise NotImplementedError


class Sigmoid(layers.Sigmoid):
    """y = 1 / (1 + exp(-x)), element-wise; no parameters. dlf's constructor sets self.out."""

    def forward(self, x):
        """y = sigmoid(x) = 1 / (1 + exp(-x)), without overflow for large |x|.

        exp(-x) overflows for x = -1000 (a warning, and inf or NaN further on): compute with
        z = exp(-|x|) <= 1 instead, y = 1 / (1 + z) where x >= 0 and z / (1 + z) elsewhere.
        Keep y (self.out) for backward.
        Shapes: x any shape -> y the same shape and dtype.
        Checked: y against dlf on several shapes, x = +-1000 (y = 1 and 0, no overflow warning,
        no NaN), float32 kept, x left unchanged.
        """
        raise NotImplementedError

    def backward(self, dout):
        """dx = dout * y * (1 - y), with y = sigmoid(x) the OUTPUT kept by forward.

        Shapes: dout like y -> dx like x.
        Checked: dx against dlf on the cases of forward, a gradient check, float32 kept.
        """
        raise NotImplementedError
'''

SOLUTION = fill_bodies(
    STUB,
    {
        "ReLU.forward": ScratchReLU.forward,
        "ReLU.backward": ScratchReLU.backward,
        "Sigmoid.forward": ScratchSigmoid.forward,
        "Sigmoid.backward": ScratchSigmoid.backward,
    },
)

SHAPES = (((4, 6), 0), ((1, 3), 1), ((2, 3, 4), 2))  # (x shape, seed)
OVERFLOW = (
    "sigmoid overflow: exp(-x) is inf for x = -1000; use z = np.exp(-np.abs(x)), then "
    "1 / (1 + z) where x >= 0 and z / (1 + z) elsewhere"
)
REDUCTION = "np.max(x, 0) reduces axis 0: use np.maximum(x, 0), element by element"


def _relu_inputs() -> list[tuple[str, np.ndarray]]:
    cases = []
    for shape, seed in SHAPES:
        x = np.random.default_rng(seed).standard_normal(shape)
        cases.append((f"x {shape}, seed {seed}", x))
    zeros = np.array([[0.0, 1.5, -2.0, 0.0], [-0.0, 3.0, 0.0, -1.0]])
    cases.append(("x with entries exactly 0: [[0, 1.5, -2, 0], [-0, 3, 0, -1]]", zeros))
    return cases


def _sigmoid_inputs() -> list[tuple[str, np.ndarray]]:
    cases = []
    for shape, seed in SHAPES:
        x = 3 * np.random.default_rng(seed).standard_normal(shape)
        cases.append((f"x {shape}, seed {seed}", x))
    big = np.array([[-1000.0, -50.0, 0.0], [50.0, 1000.0, -710.0]])
    cases.append(("x = [[-1000, -50, 0], [50, 1000, -710]]", big))
    return cases


def _grade_relu(g: Grader, cls: type) -> None:
    for on, x in _relu_inputs():
        dout = np.random.default_rng(10).standard_normal(x.shape)
        mine, ref = cls(), ScratchReLU()
        want_y, want_dx = ref.forward(x), ref.backward(dout)
        with g.case("ReLU, " + on):
            y = g.call(mine.forward, x)
            reduced = {x.shape[1:]: REDUCTION} if x.shape[1:] != want_y.shape else {}
            g.close("ReLU.forward: y", y, want_y, shapes=reduced)
            dx = g.call(mine.backward, dout)
            g.close(
                "ReLU.backward: dx",
                dx,
                want_dx,
                mistakes=[
                    Mistake(
                        "the gradient at x = 0 is 0: the mask is x > 0, not x >= 0", dout * (x >= 0)
                    ),
                    Mistake("dx = dout * mask: multiply the mask by dout", (x > 0).astype(float)),
                    Mistake(
                        "dx = dout * [x > 0]: the mask, not the output max(0, x)",
                        dout * np.maximum(x, 0),
                    ),
                    Mistake("the mask is [x > 0] of the input, not of dout", dout * (dout > 0)),
                ],
            )


def _grade_sigmoid(g: Grader, cls: type) -> None:
    for on, x in _sigmoid_inputs():
        dout = np.random.default_rng(11).standard_normal(x.shape)
        mine, ref = cls(), ScratchSigmoid()
        want_y, want_dx = ref.forward(x), ref.backward(dout)
        s = want_y
        with np.errstate(all="ignore"):  # exp(x) / (1 + exp(x)) is inf / inf for x > 709
            unstable = np.exp(x) / (1 + np.exp(x))
            unstable_dx = dout * unstable * (1 - unstable)
        overflow_y = [Mistake(OVERFLOW, unstable)] if not np.all(np.isfinite(unstable)) else []
        overflow_dx = [Mistake(OVERFLOW, unstable_dx)] if overflow_y else []
        with g.case("Sigmoid, " + on):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", RuntimeWarning)
                y = g.call(mine.forward, x)
            overflow = [w for w in caught if issubclass(w.category, RuntimeWarning)]
            g.close("Sigmoid.forward: y", y, want_y, mistakes=overflow_y)
            if np.max(np.abs(x)) > 700:
                g.check(
                    "Sigmoid.forward warns of no overflow",
                    not overflow,
                    f"NumPy warned: {overflow[0].message}" if overflow else "",
                    OVERFLOW,
                )
            sx = x * (1 - x)
            s2 = ScratchSigmoid().forward(s)
            dx = g.call(mine.backward, dout)
            g.close(
                "Sigmoid.backward: dx",
                dx,
                want_dx,
                mistakes=[
                    Mistake(
                        "used x instead of the output: dx = dout * y * (1 - y), y = sigmoid(x)",
                        dout * sx,
                    ),
                    Mistake("forgot dout: dx = dout * y * (1 - y)", s * (1 - s)),
                    Mistake("the factor (1 - y) is missing: dx = dout * y * (1 - y)", dout * s),
                    Mistake("dx = dout * y * (1 - y), not dout * (1 - y)", dout * (1 - s)),
                    Mistake(
                        "self.out is already y = sigmoid(x): do not apply sigmoid again "
                        "in backward",
                        dout * s2 * (1 - s2),
                    ),
                    *overflow_dx,
                ],
            )


def _gradient_check(g: Grader, name: str, layer, x: np.ndarray) -> None:
    """check_layer on the learner's layer (dx only: no parameters)."""
    try:
        err = check_layer(layer, x)["x"]
    except Exception as e:
        if learner_location(e, g.path):
            raise g.error(e, name) from None
        g.check(f"{name}: gradient check", False, f"could not compare: {e}")
        return
    g.check(
        f"{name}: dx (gradient check)",
        err <= 1e-7,
        f"relative error {err:.1e} between your backward and finite differences of your "
        "forward (tolerance 1e-07)",
    )


def grade(g: Grader) -> None:
    relu, sigmoid = g.function("ReLU"), g.function("Sigmoid")
    _grade_relu(g, relu)
    _grade_sigmoid(g, sigmoid)

    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, 5))
    x[np.abs(x) < 0.01] = 0.5  # finite differences need |x| > h away from ReLU's kink
    with g.case("ReLU, x (3, 5), seed 12"):
        _gradient_check(g, "ReLU", relu(), x)
    with g.case("Sigmoid, x (3, 5), seed 12"):
        _gradient_check(g, "Sigmoid", sigmoid(), 2 * x)

    x32 = rng.standard_normal((2, 3)).astype(np.float32)
    d32 = np.ones((2, 3), np.float32)
    for name, cls in (("ReLU", relu), ("Sigmoid", sigmoid)):
        with g.case(f"{name}, float32 x (2, 3)"):
            layer = cls()
            g.same_dtype(f"{name}.forward: y", g.call(layer.forward, x32), np.float32)
            g.same_dtype(f"{name}.backward: dx", g.call(layer.backward, d32), np.float32)


EXERCISE = Exercise(
    name="activations",
    module=1,
    number=6,
    title="ReLU and sigmoid: forward and backward",
    concept="Layers with forward and backward (backpropagation)",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "ReLU.forward: self.mask = x > 0 (a boolean array), return np.maximum(x, 0). "
        "ReLU.backward: dout * self.mask.",
        "Sigmoid.backward needs only the output: keep self.out = y in forward and return "
        "dout * self.out * (1 - self.out).",
        "A stable sigmoid: z = np.exp(-np.abs(x)) is never larger than 1, and "
        "sigmoid(x) = 1 / (1 + z) for x >= 0, z / (1 + z) for x < 0 (multiply top and bottom "
        "by exp(x)). np.where picks between them.",
        "Keep the dtype of x: np.where(x >= 0, 1.0, z) / (1.0 + z) is float32 for float32 x "
        "(Python numbers do not promote; np.float64 arrays would).",
    ),
)
