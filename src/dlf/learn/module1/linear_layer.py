"""Exercise ``linear-layer``: the forward and backward passes of a fully connected layer.

Reference: :class:`dlf.scratch.layers.Linear`; the learner's class subclasses it (constructor,
``params`` and ``grads`` are dlf's) and the solution is its ``forward`` and ``backward``.
"""

from __future__ import annotations

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake, learner_location
from dlf.learn.source import fill_bodies
from dlf.scratch.gradcheck import check_layer
from dlf.scratch.layers import Linear as ScratchLinear

STUB = '''"""Exercise linear-layer: a fully connected (affine) layer, forward and backward.

The building block of every network of this course: your class trains the MNIST MLP of
`dlf run mnist-mlp workspace=DIR`. Check with `dlf learn check linear-layer` after each save.
"""

import numpy as np

from dlf.scratch import layers


class Linear(layers.Linear):
    """y = x W + b over the last axis of x. The constructor is dlf's, Linear(in_features,
    out_features, bias=True, dtype=..., rng=...): it sets

        self.params["W"] (in_features, out_features), self.params["b"] (out_features,)
        self.grads["W"], self.grads["b"]: arrays of the same shapes, for backward to fill

    and no "b" at all when bias=False. Write forward and backward (the Layer protocol of
    dlf.scratch.layers.base: forward keeps what backward needs).
    """

    def forward(self, x):
        """y = x W + b.

        Shapes: x (N, in_features) or (N, T, in_features) -> y (..., out_features), in the
        dtype of x. Keep x (self.x = x) for backward; no bias when "b" not in self.params.
        Checked: y against dlf's Linear with the same weights (float64, relative error <= 1e-7)
        on several shapes, (N, T, D) inputs, a batch of one, bias=False, float32 kept.
        """
        raise NotImplementedError

    def backward(self, dout):
        """Given dout = dL/dy, write dL/dW and dL/db into self.grads and return dx = dL/dx.

        With x and dout flattened to rows, x2 (M, in_features) and d2 (M, out_features)
        (M = N, or N*T for a 3-D input):

            dW = x2^T d2        db = sum over the M rows of d2        dx = dout W^T

        Write INTO the arrays of self.grads (self.grads["W"][...] = ..., overwriting what was
        there): an optimizer holds those very arrays, so self.grads["W"] = ... (a new array)
        would never reach it, and += would add up the gradients of successive batches.
        Shapes: dout like y -> dx like x.
        Checked: dx, dW and db against dlf on the cases of forward, the same arrays in
        self.grads after backward, two backward passes in a row, a gradient check of x, W and b,
        float32 kept, a float32 layer fed float64 x and dout, inputs left unchanged.
        """
        raise NotImplementedError
'''

SOLUTION = fill_bodies(
    STUB, {"Linear.forward": ScratchLinear.forward, "Linear.backward": ScratchLinear.backward}
)

# (x shape, out_features, bias, seed); the square layer comes first: a transposed W is named
CASES = (
    ((3, 4), 4, True, 0),
    ((5, 4), 3, True, 1),
    ((1, 3), 2, True, 2),
    ((2, 3, 4), 5, True, 3),
    ((4, 3), 2, False, 4),
)

REBOUND = (
    'self.grads["{0}"] = ... replaced the array: an optimizer holds the old one and never sees '
    'this gradient; write into it: self.grads["{0}"][...] = ...'
)
ADDED = "the gradients of both passes were added up (+=): backward overwrites self.grads"
NOT_SUMMED = (
    "db is not summed over the batch: db = sum of dout over every row (axis 0 of the (M, out) "
    "rows), shape (out_features,)"
)


def _pair(x_shape: tuple[int, ...], out: int, bias: bool, seed: int, cls: type) -> tuple:
    """(layer of class ``cls``, dlf's layer) with the same float64 weights and a random bias."""
    made = []
    for c in (cls, ScratchLinear):
        made.append(
            c(x_shape[-1], out, bias=bias, dtype=np.float64, rng=np.random.default_rng(seed))
        )
    if bias:
        b = np.random.default_rng(seed + 100).standard_normal(out)
        for layer in made:
            layer.params["b"][...] = b  # dlf's bias starts at 0: a forgotten bias would pass
    return made[0], made[1]


def _close_grad(g: Grader, what: str, got, want: np.ndarray, mistakes, factors) -> None:
    """g.close, first naming a db that kept the batch axes (its last axis is out_features)."""
    shape = np.shape(got)
    if what.endswith('"b"]') and shape != want.shape and len(shape) > 1 and shape[-1] == want.size:
        g.check(what, False, f"shape {shape}, expected {want.shape}", NOT_SUMMED)
        return
    g.close(what, got, want, mistakes=mistakes, factors=factors)


def _one_case(g: Grader, cls: type, x_shape, out: int, bias: bool, seed: int) -> None:
    mine, ref = _pair(x_shape, out, bias, seed, cls)
    rng = np.random.default_rng(seed + 200)
    x = rng.standard_normal(x_shape)
    dout = rng.standard_normal((*x_shape[:-1], out))
    W = ref.params["W"]
    x2, d2 = x.reshape(-1, x_shape[-1]), dout.reshape(-1, out)
    rows = x2.shape[0]
    square = W.shape[0] == W.shape[1]
    label = f"x {x_shape}, Linear({x_shape[-1]}, {out}{'' if bias else ', bias=False'})"
    with g.case(label + f", seed {seed}"):
        y = g.call(mine.forward, x)
        want_y = ref.forward(x)
        y_mistakes = [Mistake("forgot the bias: y = x W + b", x @ W)] if bias else []
        if square:
            y_mistakes.append(Mistake("W is (in, out): y = x @ W, not x @ W.T", x @ W.T))
        g.close("forward: y", y, want_y, mistakes=y_mistakes)

        held = dict(mine.grads)
        dx = g.call(mine.backward, dout)
        want_dx = ref.backward(dout)
        dx_mistakes = [Mistake("dx = dout W^T: W is transposed", dout @ W)] if square else []
        if dx is None:
            g.check("backward: dx", False, "got None", "backward must return dx = dout W^T")
        else:
            g.close("backward: dx", dx, want_dx, mistakes=dx_mistakes)
        factors = {"N": rows}
        w_mistakes = [
            Mistake(
                "dW is a sum over the rows of the batch: no division by N", ref.grads["W"] / rows
            )
        ]
        if square:
            w_mistakes.append(Mistake("dW = x^T dout (in, out), not dout^T x", d2.T @ x2))
        grads = mine.grads
        _close_grad(g, 'backward: grads["W"]', grads.get("W"), ref.grads["W"], w_mistakes, factors)
        if bias:
            b_mistakes = [
                Mistake("db sums dout over the batch rows, not their mean", d2.mean(axis=0))
            ]
            _close_grad(
                g, 'backward: grads["b"]', grads.get("b"), ref.grads["b"], b_mistakes, factors
            )
        for k, array in held.items():
            g.check(
                f'backward writes into the array of grads["{k}"]',
                grads.get(k) is array,
                "a new array is in its place",
                REBOUND.format(k),
            )


def _gradient_errors(g: Grader, layer, x: np.ndarray) -> dict[str, float]:
    """check_layer's relative errors; {} (and a failed check) when the shapes do not allow it."""
    try:
        return check_layer(layer, x)
    except Exception as err:
        if learner_location(err, g.path):
            raise g.error(err, "Linear") from None
        g.check(
            "gradient check",
            False,
            f"could not compare: {err}",
            "dx or a gradient has the wrong shape (see the checks above)",
        )
        return {}


def grade(g: Grader) -> None:
    cls = g.function("Linear")
    for x_shape, out, bias, seed in CASES:
        _one_case(g, cls, x_shape, out, bias, seed)

    mine, ref = _pair((4, 3), 2, True, 5, cls)
    rng = np.random.default_rng(5)
    passes = [(rng.standard_normal((4, 3)), rng.standard_normal((4, 2))) for _ in range(2)]
    with g.case("two forward/backward passes in a row, x (4, 3), Linear(3, 2)"):
        for x, dout in passes:
            g.call(mine.forward, x)
            g.call(mine.backward, dout)
        ref.forward(passes[0][0])
        ref.backward(passes[0][1])
        first = {k: v.copy() for k, v in ref.grads.items()}
        ref.forward(passes[1][0])
        ref.backward(passes[1][1])
        for k in ("W", "b"):
            added = Mistake(ADDED, ref.grads[k] + first[k])
            g.close(
                f'grads["{k}"] after the second pass', mine.grads[k], ref.grads[k], mistakes=[added]
            )

    for x_shape, out in (((3, 4), 3), ((2, 2, 3), 2)):
        layer, _ = _pair(x_shape, out, True, 6, cls)
        x = np.random.default_rng(7).standard_normal(x_shape)
        with g.case(f"x {x_shape}, Linear({x_shape[-1]}, {out})"):
            errors = _gradient_errors(g, layer, x)
            for k, err in errors.items():
                name = "dx" if k == "x" else f'grads["{k}"]'
                g.check(
                    f"{name} (gradient check)",
                    err <= 1e-7,
                    f"relative error {err:.1e} between your backward and finite differences of "
                    "your forward (tolerance 1e-07)",
                )

    with g.case("float64 x (5, 4) and dout into a float32 Linear(4, 3)"):
        mine = cls(4, 3, rng=np.random.default_rng(9))
        ref = ScratchLinear(4, 3, rng=np.random.default_rng(9))
        rng = np.random.default_rng(9)
        x, dout = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
        g.call(mine.forward, x)
        g.call(mine.backward, dout)
        ref.forward(x)
        ref.backward(dout)
        for k in ("W", "b"):
            # both round a float64 result to float32 once: they agree to a float32 ulp or two
            g.close(f'backward: grads["{k}"]', mine.grads[k], ref.grads[k], rtol=1e-6)

    with g.case("float32 x (3, 4), Linear(4, 2)"):
        layer = cls(4, 2, rng=np.random.default_rng(8))
        x32 = np.random.default_rng(8).standard_normal((3, 4)).astype(np.float32)
        g.same_dtype("forward: y", g.call(layer.forward, x32), np.float32)
        g.same_dtype(
            "backward: dx", g.call(layer.backward, np.ones((3, 2), np.float32)), np.float32
        )


EXERCISE = Exercise(
    name="linear-layer",
    module=1,
    number=5,
    title="A fully connected layer: forward and backward",
    concept="Layers with forward and backward (backpropagation)",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "forward: keep the input (self.x = x) and return x @ self.params['W'], plus "
        "self.params['b'] when 'b' is in self.params. @ works on (N, T, D) inputs too.",
        "backward: check each gradient by its shape. dW must be (in, out): the only product of "
        "x (M, in) and dout (M, out) with that shape is x.T @ dout. dx must be (M, in): "
        "dout @ W.T.",
        "For a 3-D input, flatten first: x2 = self.x.reshape(-1, self.in_features) and "
        "d2 = dout.reshape(-1, self.out_features); db = d2.sum(axis=0).",
        "Write into the existing arrays: self.grads['W'][...] = x2.T @ d2 and "
        "self.grads['b'][...] = d2.sum(axis=0); return dout @ self.params['W'].T.",
    ),
)
