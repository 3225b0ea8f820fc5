"""Exercise ``two-layer-net``: the loss and gradients of a two-layer network (CS231n's).

dlf has no such function: its networks are ``Sequential`` stacks of layers. The grader's
reference composes dlf's pieces (two :class:`~dlf.scratch.layers.Linear` layers holding the same
weights, a :class:`~dlf.scratch.layers.ReLU`, :func:`~dlf.scratch.losses.softmax_cross_entropy`
and :func:`~dlf.scratch.losses.l2_penalty`); the solution's body is written here.
"""

from __future__ import annotations

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake
from dlf.learn.source import fill_bodies
from dlf.scratch.layers import Linear, ReLU
from dlf.scratch.losses import l2_penalty, softmax_cross_entropy

STUB = '''"""Exercise two-layer-net: a whole network's loss and gradients, by hand (CS231n's).

affine - ReLU - affine - softmax, with L2 regularisation: every piece of the previous exercises
in one function, and the chain rule to connect them. Check with `dlf learn check two-layer-net`
after each save.
"""

import numpy as np


def two_layer_net(params, X, y, reg):
    """The regularised softmax loss of a two-layer network and its gradient for every parameter.

    Forward, with N the number of rows of X:

        h      = max(0, X W1 + b1)                               hidden layer, (N, H)
        scores = h W2 + b2                                       (N, C)
        L      = -1/N sum_i log softmax(scores_i)[y_i]  +  reg/2 * (sum W1**2 + sum W2**2)

    The biases are not regularised. Backward (the chain rule, from the loss down):

        dscores = (softmax(scores) - onehot(y)) / N
        dW2 = h^T dscores + reg * W2          db2 = sum over rows of dscores
        dh  = dscores W2^T,   dh_pre = dh * [X W1 + b1 > 0]
        dW1 = X^T dh_pre + reg * W1           db1 = sum over rows of dh_pre

    Shapes: params a dict {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}, X (N, D),
    y (N,) ints in [0, C), reg a float
    -> (loss: float, grads: a dict with the same keys and shapes as params).
    Checked: the loss and every gradient against a network of dlf's layers with the same
    weights (float64, relative error <= 1e-7) on several shapes, seeds and reg, a batch of one,
    a gradient check of each parameter, and params, X and y left unchanged.
    """
    raise NotImplementedError
'''

BODY = """
W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
N = X.shape[0]
rows = np.arange(N)
pre = X @ W1 + b1
h = np.maximum(pre, 0)
scores = h @ W2 + b2
shifted = scores - scores.max(axis=1, keepdims=True)
log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
data_loss = -np.mean(log_p[rows, y])
loss = data_loss + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))

dscores = np.exp(log_p)
dscores[rows, y] -= 1
dscores /= N
grads = {"W2": h.T @ dscores + reg * W2, "b2": dscores.sum(axis=0)}
dh = dscores @ W2.T
dh[pre <= 0] = 0
grads["W1"] = X.T @ dh + reg * W1
grads["b1"] = dh.sum(axis=0)
return float(loss), grads
"""

SOLUTION = fill_bodies(STUB, {"two_layer_net": BODY})

CASES = ((5, 4, 6, 3, 0.1, 0), (1, 3, 4, 2, 0.5, 1), (12, 6, 5, 4, 0.05, 2), (8, 5, 7, 3, 0.0, 3))
KEYS = ("W1", "b1", "W2", "b2")


def _data(n: int, d: int, h: int, c: int, seed: int):
    """Random weights AND biases (a zero bias would hide a decayed bias), X and y."""
    rng = np.random.default_rng(seed)
    params = {
        "W1": rng.standard_normal((d, h)) / np.sqrt(d),
        "b1": 0.5 * rng.standard_normal(h),
        "W2": rng.standard_normal((h, c)) / np.sqrt(h),
        "b2": 0.5 * rng.standard_normal(c),
    }
    return params, rng.standard_normal((n, d)), rng.integers(0, c, n)


def _reference(params, X, y, reg, scale: float = 1.0, mask: bool = True):
    """(data loss, data gradients) of dlf's Linear - ReLU - Linear with these weights.

    ``scale`` multiplies dL/dscores (N: a loss that is not divided by N); ``mask=False`` skips
    ReLU's backward (a mistake's value). The L2 penalty is added by the caller.
    """
    (d, h), c = params["W1"].shape, params["W2"].shape[1]
    fc1, relu, fc2 = Linear(d, h, dtype=np.float64), ReLU(), Linear(h, c, dtype=np.float64)
    for layer, w, b in ((fc1, "W1", "b1"), (fc2, "W2", "b2")):
        layer.params["W"][...] = params[w]
        layer.params["b"][...] = params[b]
    data_loss, dscores = softmax_cross_entropy(fc2(relu(fc1(X))), y)
    dh = fc2.backward(dscores * scale)
    fc1.backward(relu.backward(dh) if mask else dh)
    grads = {"W1": fc1.grads["W"], "b1": fc1.grads["b"], "W2": fc2.grads["W"], "b2": fc2.grads["b"]}
    return data_loss * scale, {k: v.copy() for k, v in grads.items()}


def _with_penalty(data_loss: float, data_grads, params, reg, keys=("W1", "W2"), factor=1.0):
    """The loss and grads with ``factor * reg/2 * sum p**2`` added for ``keys``."""
    loss = data_loss + factor * sum(0.5 * reg * float(np.sum(params[k] ** 2)) for k in keys)
    grads = {k: g + (factor * reg * params[k] if k in keys else 0) for k, g in data_grads.items()}
    return loss, grads


def _expected(params, X, y, reg):
    """The reference: dlf's layers, softmax_cross_entropy and l2_penalty (biases not decayed)."""
    data_loss, grads = _reference(params, X, y, reg)
    penalty, dreg = l2_penalty(params, reg)
    for k, g in dreg.items():
        grads[k] = grads[k] + g
    return data_loss + penalty, grads


def _mistakes(params, X, y, reg) -> tuple[list[Mistake], dict[str, list[Mistake]]]:
    """Known wrong (loss, grads), each named: ``loss mistakes, {key: mistakes}``."""
    n = X.shape[0]
    data_loss, data_grads = _reference(params, X, y, reg)
    named = {
        "forgot to divide by N": _with_penalty(
            *_reference(params, X, y, reg, scale=n), params, reg
        ),
        "the ReLU's backward is missing: dh_pre = dh * [X W1 + b1 > 0]": _with_penalty(
            *_reference(params, X, y, reg, mask=False), params, reg
        ),
        "the biases were regularised too: only W1 and W2 are decayed": _with_penalty(
            data_loss, data_grads, params, reg, keys=KEYS
        ),
        "the regularisation gradient reg * W1 is missing on dW1": (
            None,
            _with_penalty(data_loss, data_grads, params, reg, keys=("W2",))[1],
        ),
        "the regularisation gradient reg * W2 is missing on dW2": (
            None,
            _with_penalty(data_loss, data_grads, params, reg, keys=("W1",))[1],
        ),
        "the penalty is reg/2 * sum(W**2), gradient reg * W (not reg * sum(W**2) and 2 reg W)": (
            _with_penalty(data_loss, data_grads, params, reg, factor=2.0)
        ),
        "the regularisation term reg/2 * (sum W1**2 + sum W2**2) is missing": (data_loss, None),
    }
    loss_mistakes = [Mistake(m, v[0]) for m, v in named.items() if v[0] is not None]
    grad_mistakes = {
        k: [Mistake(m, v[1][k]) for m, v in named.items() if v[1] is not None] for k in KEYS
    }
    return loss_mistakes, grad_mistakes


def _is_dict(g: Grader, grads) -> bool:
    if isinstance(grads, dict):
        return True
    return g.check(
        "grads is a dict",
        False,
        f"got {type(grads).__name__}",
        'return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}',
    )


def grade(g: Grader) -> None:
    net = g.function("two_layer_net")
    for n, d, h, c, reg, seed in CASES:
        params, X, y = _data(n, d, h, c, seed)
        want_loss, want_grads = _expected(params, X, y, reg)
        loss_mistakes, grad_mistakes = _mistakes(params, X, y, reg)
        before = {k: v.copy() for k, v in params.items()}
        with g.case(f"X ({n}, {d}), H {h}, C {c}, reg {reg}, seed {seed}"):
            loss, grads = g.call(net, params, X, y, reg)
            g.check(
                "two_layer_net leaves params unchanged",
                all(np.array_equal(params[k], before[k]) for k in KEYS),
                "an array of params was modified",
                "an in-place operation on a weight (W1 += ...): work on new arrays",
            )
            g.close("loss", loss, want_loss, mistakes=loss_mistakes, factors={"N": n})
            if not _is_dict(g, grads):
                continue
            for k in KEYS:
                got = grads.get(k)
                if got is None:
                    g.check(f'grads["{k}"]', False, "missing", "return a gradient for every key")
                    continue
                g.close(f'grads["{k}"]', got, want_grads[k], mistakes=grad_mistakes[k])

    params, X, y = _data(4, 3, 5, 3, 7)
    with g.case("X (4, 3), H 5, C 3, reg 0.3, seed 7"):
        _, grads = g.call(net, params, X, y, 0.3)
        if not _is_dict(g, grads) or any(k not in grads for k in KEYS):
            return
        for k in KEYS:
            p = params[k].copy()
            probe = dict(params, **{k: p})

            def two_layer_net_loss(v: np.ndarray, probe=probe) -> float:
                return net(probe, X, y, 0.3)[0]

            g.gradcheck(f'grads["{k}"]', two_layer_net_loss, p, grads[k])


EXERCISE = Exercise(
    name="two-layer-net",
    module=1,
    number=7,
    title="A two-layer network's loss and gradients, by hand",
    concept="Multi-layer perceptron and its training loop",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Forward first, keeping every intermediate: pre = X @ W1 + b1, h = np.maximum(pre, 0), "
        "scores = h @ W2 + b2, then the stable softmax cross-entropy of your softmax-loss.",
        "Backward in reverse order: dscores = (p - onehot(y)) / N; then dW2 = h.T @ dscores, "
        "db2 = dscores.sum(axis=0), dh = dscores @ W2.T.",
        "Through the ReLU: dh_pre = dh * (pre > 0). Then dW1 = X.T @ dh_pre, "
        "db1 = dh_pre.sum(axis=0).",
        "The penalty reg/2 * (sum W1**2 + sum W2**2) adds reg * W1 to dW1 and reg * W2 to dW2 "
        "(and nothing to the biases). Return float(loss) and the dict of the four gradients.",
    ),
)
