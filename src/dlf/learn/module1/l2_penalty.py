"""Exercise ``l2-penalty``: L2 weight decay as a loss term, over the weight matrices only.

Reference: :func:`dlf.scratch.losses.l2_penalty` (the solution is its body) and the rule of
:func:`dlf.scratch.losses.is_decayed` (arrays of 2 or more dimensions are decayed).
"""

from __future__ import annotations

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake
from dlf.learn.source import fill_bodies
from dlf.scratch import losses

STUB = '''"""Exercise l2-penalty: L2 weight decay as a loss term, and its gradient.

Adding lambda/2 * ||W||^2 to the loss pulls every weight towards 0 a little at each step. Only
weight matrices are decayed; biases and the scales of normalisation layers are not.
Check with `dlf learn check l2-penalty` after each save.
"""

import numpy as np


def l2_penalty(params, weight_decay):
    """The L2 penalty of the decayed arrays of params, and its gradient:

        R = weight_decay / 2 * sum over decayed W of sum(W**2)
        dR/dW = weight_decay * W                      (for each decayed W)

    Decayed: the arrays with 2 or more dimensions (weight matrices, conv kernels, embedding
    tables): p.ndim >= 2, the rule of dlf.scratch.losses.is_decayed. Vectors (biases, the gamma
    and beta of normalisation layers) are not decayed: they add nothing to R and get NO entry in
    the returned gradients (not even zeros).
    Shapes: params a dict {name: array}, weight_decay a float -> (R: float, {name: array of
    params[name]'s shape and dtype} for the decayed names only).
    Checked: against dlf (float64, relative error <= 1e-7) on several dicts (an MLP's, a
    normalisation layer's, a 4-D kernel, no weight at all), the keys of the gradients, a
    gradient check, float32 in -> float32 gradients, and params left unchanged.
    """
    raise NotImplementedError
'''

SOLUTION = fill_bodies(STUB, {"l2_penalty": losses.l2_penalty})


def _cases() -> list[tuple[str, dict[str, np.ndarray], float]]:
    rng = np.random.default_rng(0)

    def randn(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape)

    return [
        (
            "an MLP: 0.W (4, 3), 0.b (3,), 2.W (3, 2), 2.b (2,); weight_decay 0.1",
            {"0.W": randn(4, 3), "0.b": randn(3), "2.W": randn(3, 2), "2.b": randn(2)},
            0.1,
        ),
        (
            "W (5, 5), gamma (5,), beta (5,), an embedding E (7, 3); weight_decay 0.01",
            {"W": randn(5, 5), "gamma": 1 + randn(5), "beta": randn(5), "E": randn(7, 3)},
            0.01,
        ),
        (
            "a conv kernel K (2, 3, 3, 3) and its bias (2,); weight_decay 5e-4",
            {"K": randn(2, 3, 3, 3), "bias": randn(2)},
            5e-4,
        ),
        ("biases only: b (4,); weight_decay 0.1", {"b": randn(4)}, 0.1),
        ("one weight W (1, 1); weight_decay 2.0", {"W": randn(1, 1)}, 2.0),
    ]


def _loss_mistakes(params: dict, wd: float, want: float) -> list[Mistake]:
    undecayed = sum(float(np.sum(p * p)) for k, p in params.items() if not losses.is_decayed(k, p))
    only_2d = sum(float(np.sum(p * p)) for p in params.values() if p.ndim == 2)
    return [
        Mistake("the penalty is weight_decay / 2 * sum(W**2): the 1/2 is missing", 2 * want),
        Mistake(
            "only 2-D arrays decayed: a conv kernel (4-D) is a weight too, decay every array "
            "with ndim >= 2",
            0.5 * wd * only_2d,
        ),
        Mistake(
            "biases (1-D arrays) decayed too: only arrays with ndim >= 2 count",
            want + 0.5 * wd * undecayed,
        ),
        Mistake(
            "biases decayed and the 1/2 missing: weight_decay / 2 * sum(W**2), W with ndim >= 2",
            2 * want + wd * undecayed,
        ),
    ]


def _check_keys(g: Grader, got: dict, params: dict, wd: float) -> bool:
    want = [k for k, p in params.items() if losses.is_decayed(k, p)]
    extra = [k for k in got if k not in want]
    missing = [k for k in want if k not in got]
    if not extra and not missing:
        return g.check("the gradients have one key per decayed array", True)
    if missing:
        return g.check(
            "the gradients have one key per decayed array",
            False,
            f"missing {missing}",
            "every array with ndim >= 2 is decayed: weights, conv kernels, embedding tables",
        )
    decayed_too = all(
        np.shape(got[k]) == params[k].shape and np.allclose(got[k], wd * params[k]) for k in extra
    )
    return g.check(
        "the gradients have one key per decayed array",
        False,
        f"extra keys {extra} (for arrays that are not decayed)",
        "biases (1-D arrays) decayed too: only arrays with ndim >= 2 count"
        if decayed_too and np.any([np.any(params[k]) for k in extra])
        else "gradients returned for undecayed keys: return entries only for the decayed arrays "
        "(a zero gradient is still an entry)",
    )


def _gradient_check(g: Grader, l2, params: dict, wd: float, grads: dict) -> None:
    """The learner's gradient of the first decayed array against their own penalty."""
    k = next((k for k, p in params.items() if losses.is_decayed(k, p) and k in grads), None)
    if k is not None:
        g.gradcheck(
            f"gradient of {k!r}",
            lambda v: g.call(l2, {**params, k: v}, wd)[0],
            params[k].copy(),
            grads[k],
        )


def grade(g: Grader) -> None:
    l2 = g.function("l2_penalty")
    for on, params, wd in _cases():
        want_loss, want_grads = losses.l2_penalty(params, wd)
        before = {k: p.copy() for k, p in params.items()}
        with g.case(on):
            out = g.call(l2, params, wd)
            changed = [k for k in params if not np.array_equal(params[k], before[k])]
            if changed:
                g.check(
                    "l2_penalty leaves params unchanged",
                    False,
                    f"params[{changed[0]!r}] was modified",
                    "an in-place operation (*=, +=) on a parameter: compute weight_decay * W, "
                    "a new array",
                )
                continue
            loss, grads = g.returns(out, 2, "(penalty: float, gradients: dict)")
            g.close("penalty", loss, want_loss, mistakes=_loss_mistakes(params, wd, want_loss))
            _check_keys(g, grads, params, wd)
            for k, want in want_grads.items():
                if k in grads:
                    g.close(
                        f"gradient of {k!r}",
                        grads[k],
                        want,
                        mistakes=[
                            Mistake(
                                "the gradient of weight_decay / 2 * W**2 is weight_decay * W, "
                                "not 2 * weight_decay * W",
                                2 * want,
                            )
                        ],
                    )
            _gradient_check(g, l2, params, wd, grads)
    with g.case("float32 W (3, 2) and b (2,); weight_decay 0.1"):
        rng = np.random.default_rng(1)
        params32 = {
            "W": rng.standard_normal((3, 2)).astype(np.float32),
            "b": rng.standard_normal(2).astype(np.float32),
        }
        out = g.call(l2, params32, 0.1)
        if isinstance(out, tuple) and len(out) == 2 and "W" in out[1]:
            g.same_dtype("gradient of 'W'", out[1]["W"], np.float32)


EXERCISE = Exercise(
    name="l2-penalty",
    module=1,
    number=11,
    title="L2 weight decay",
    concept="L2 weight decay",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Walk the dict: for name, W in params.items(). Skip the vectors: decay only where "
        "W.ndim >= 2.",
        "For each decayed W, add weight_decay / 2 * np.sum(W * W) to the penalty, a float that "
        "starts at 0.0.",
        "The derivative of weight_decay / 2 * W**2 is weight_decay * W: the 2 of the square "
        "cancels the 1/2. Store it as grads[name] = weight_decay * W, a new array.",
        "Return (penalty, grads), with grads holding only the decayed names: an empty dict when "
        "nothing is decayed.",
    ),
)
