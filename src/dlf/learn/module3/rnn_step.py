"""Exercise ``rnn-step``: one step of a vanilla RNN in NumPy, forward and backward (CS231n's).

Reference: :class:`dlf.transformer.rnn.RNNCell` (PyTorch), loaded with the same weights in
float64, and PyTorch's autograd through it for the backward pass. The project has no NumPy RNN
step, so the solution's bodies are written here.
"""

from __future__ import annotations

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake
from dlf.learn.source import fill_bodies

STUB = '''"""Exercise rnn-step: one time step of a vanilla RNN, forward and backward, in NumPy.

    next_h = tanh(x Wx + prev_h Wh + b)

Why RNNs struggle with long sequences: your backward maps dnext_h to
dprev_h = (dnext_h * (1 - next_h**2)) Wh^T, that is, it multiplies the gradient by
diag(1 - h**2) Wh^T at every step it goes back. From step T back to step t the gradient is
multiplied by T - t such factors, so it shrinks (vanishes) or grows (explodes) geometrically
with the distance, depending on the size of Wh and on how saturated the tanh is (where
|h| is near 1, 1 - h**2 is near 0). Attention, the next exercises, gives every position a path
of length one instead. The notebook of this module plots it with your rnn_step_backward.

Check with `dlf learn check rnn-step` after each save.
"""

import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One step of a vanilla (Elman) RNN with a tanh nonlinearity:

        next_h = tanh(x Wx + prev_h Wh + b)

    Shapes: x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,)
            -> (next_h (N, H), cache), next_h in the dtype of x; cache holds whatever
            rnn_step_backward needs (a tuple of your choice).
    Checked: next_h against dlf's RNNCell (dlf.transformer.rnn) with the same weights
    (float64, relative error <= 1e-7) on several shapes and seeds, a batch of one, float32
    kept, inputs left unchanged.
    """
    raise NotImplementedError


def rnn_step_backward(dnext_h, cache):
    """The gradients of a loss L through rnn_step_forward, given dnext_h = dL/dnext_h.

    With a = x Wx + prev_h Wh + b, next_h = tanh(a) and tanh'(a) = 1 - tanh(a)**2:

        da = dnext_h * (1 - next_h**2)
        dx = da Wx^T      dprev_h = da Wh^T      dWx = x^T da      dWh = prev_h^T da
        db = the sum of da over the batch (axis 0)

    Shapes: dnext_h (N, H), cache from rnn_step_forward
            -> (dx (N, D), dprev_h (N, H), dWx (D, H), dWh (H, H), db (H,)).
    Checked: the five gradients against PyTorch's autograd through dlf's RNNCell (float64,
    relative error <= 1e-7) on the cases of the forward, a gradient check of each against
    finite differences of your forward, float32 kept.
    """
    raise NotImplementedError
'''

FORWARD = """
next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
cache = (x, prev_h, Wx, Wh, next_h)
return next_h, cache
"""

BACKWARD = """
x, prev_h, Wx, Wh, next_h = cache
da = dnext_h * (1 - next_h**2)
dx = da @ Wx.T
dprev_h = da @ Wh.T
dWx = x.T @ da
dWh = prev_h.T @ da
db = da.sum(axis=0)
return dx, dprev_h, dWx, dWh, db
"""

SOLUTION = fill_bodies(STUB, {"rnn_step_forward": FORWARD, "rnn_step_backward": BACKWARD})

CASES = ((3, 4, 5, 0), (1, 3, 4, 1), (4, 5, 5, 2), (6, 2, 3, 3))  # (N, D, H, seed); D = H: Wx
GRAD_NAMES = ("dx", "dprev_h", "dWx", "dWh", "db")  # square, so a transposed Wx is named

NOT_SUMMED = "db is not summed over the batch: db = da.sum(axis=0), shape (H,)"


def _data(n: int, d: int, h: int, seed: int) -> tuple[np.ndarray, ...]:
    """x, prev_h, Wx, Wh, b, dnext_h; weights large enough that the tanh saturates a little."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    prev_h = np.tanh(rng.standard_normal((n, h)))
    Wx = rng.standard_normal((d, h)) * 0.6
    Wh = rng.standard_normal((h, h)) * 0.6
    b = rng.standard_normal(h) * 0.3
    dnext_h = rng.standard_normal((n, h))
    return x, prev_h, Wx, Wh, b, dnext_h


def reference(x, prev_h, Wx, Wh, b, dnext_h) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """dlf's RNNCell in float64 with weight_ih = Wx^T, weight_hh = Wh^T, bias_ih = b and
    bias_hh = 0: ``(next_h, (dx, dprev_h, dWx, dWh, db))``, the gradients by autograd."""
    import torch

    from dlf.transformer.rnn import RNNCell

    cell = RNNCell(*Wx.shape).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(Wx.T))
        cell.weight_hh.copy_(torch.from_numpy(Wh.T))
        cell.bias_ih.copy_(torch.from_numpy(b))
        cell.bias_hh.zero_()
    xt = torch.tensor(x, requires_grad=True)
    ht = torch.tensor(prev_h, requires_grad=True)
    out = cell(xt, ht)
    out.backward(torch.from_numpy(dnext_h))
    grads = (
        xt.grad.numpy(),
        ht.grad.numpy(),
        cell.weight_ih.grad.numpy().T,
        cell.weight_hh.grad.numpy().T,
        cell.bias_ih.grad.numpy(),
    )
    return out.detach().numpy(), grads


def _grads_from(da, x, prev_h, Wx, Wh) -> tuple[np.ndarray, ...]:
    """The five gradients of code whose da (dL/da, a the pre-activation) is ``da``."""
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def _mistakes(x, prev_h, Wx, Wh, b, dnext_h, grads) -> tuple[list[Mistake], list[list[Mistake]]]:
    """Known wrong next_h values, and known wrong values of each of the five gradients."""
    a = x @ Wx + prev_h @ Wh + b
    h = np.tanh(a)
    forward = [
        Mistake("the tanh is missing: next_h = tanh(x Wx + prev_h Wh + b)", a),
        Mistake("the bias b is missing", np.tanh(a - b)),
        Mistake(
            "Wh is transposed: the product is prev_h @ Wh, not prev_h @ Wh.T",
            np.tanh(a + prev_h @ (Wh.T - Wh)),
        ),
    ]
    if Wx.shape[0] == Wx.shape[1]:
        forward.append(
            Mistake(
                "Wx is transposed: the product is x @ Wx, not x @ Wx.T",
                np.tanh(a + x @ (Wx.T - Wx)),
            )
        )
    wrong_da = [
        (
            "the tanh derivative is missing: da = dnext_h * (1 - next_h**2), not dnext_h",
            dnext_h,
        ),
        (
            "tanh'(a) = 1 - tanh(a)**2 = 1 - next_h**2, not 1 - a**2 of the pre-activation a",
            dnext_h * (1 - a**2),
        ),
        (
            "tanh applied twice: next_h is already tanh(a), so tanh'(a) = 1 - next_h**2, "
            "not 1 - tanh(next_h)**2",
            dnext_h * (1 - np.tanh(h) ** 2),
        ),
        ("tanh'(a) = 1 - next_h**2 (squared), not 1 - next_h", dnext_h * (1 - h)),
    ]
    per_grad: list[list[Mistake]] = [[] for _ in GRAD_NAMES]
    for message, da in wrong_da:
        for i, value in enumerate(_grads_from(da, x, prev_h, Wx, Wh)):
            per_grad[i].append(Mistake(message, value))
    da = dnext_h * (1 - h**2)
    _, _, dWx, dWh, db = grads
    if Wx.shape[0] == Wx.shape[1]:
        per_grad[0].append(Mistake("Wx is transposed: dx = da Wx^T, not da Wx", da @ Wx))
        per_grad[2].append(Mistake("dWx = x^T da (D, H), not da^T x", dWx.T))
    per_grad[1].append(Mistake("Wh is transposed: dprev_h = da Wh^T, not da Wh", da @ Wh))
    per_grad[3].append(Mistake("dWh = prev_h^T da (H, H), not da^T prev_h", dWh.T))
    per_grad[4].append(Mistake("db sums da over the batch, not its mean", db / len(x)))
    return forward, per_grad


def _close_grad(g: Grader, name: str, got, want: np.ndarray, mistakes, n: int) -> None:
    """g.close, first naming a db that kept the batch axis."""
    what = f"rnn_step_backward: {name}"
    shape = np.shape(got) if isinstance(got, np.ndarray | list | tuple) else None
    if name == "db" and shape and shape != want.shape and shape[-1] == want.size:
        g.check(what, False, f"shape {shape}, expected {want.shape}", NOT_SUMMED)
        return
    g.close(what, got, want, mistakes=mistakes, factors={"N": n})


def _loss(forward, inputs: list[np.ndarray], i: int, dnext_h: np.ndarray):
    """v -> sum(next_h * dnext_h), with the learner's forward and v in place of inputs[i]."""

    def loss(v: np.ndarray) -> float:
        next_h, _ = forward(*inputs[:i], v, *inputs[i + 1 :])
        return float(np.sum(np.asarray(next_h) * dnext_h))

    loss.__name__ = loss.__qualname__ = "rnn_step_forward"
    return loss


def grade(g: Grader) -> None:
    forward = g.function("rnn_step_forward")
    backward = g.function("rnn_step_backward")
    for n, d, h, seed in CASES:
        x, prev_h, Wx, Wh, b, dnext_h = _data(n, d, h, seed)
        want_h, want_grads = reference(x, prev_h, Wx, Wh, b, dnext_h)
        h_mistakes, grad_mistakes = _mistakes(x, prev_h, Wx, Wh, b, dnext_h, want_grads)
        with g.case(f"x ({n}, {d}), prev_h ({n}, {h}), seed {seed}"):
            next_h, cache = g.returns(g.call(forward, x, prev_h, Wx, Wh, b), 2, "(next_h, cache)")
            g.close("rnn_step_forward: next_h", next_h, want_h, mistakes=h_mistakes)
            got = g.returns(g.call(backward, dnext_h, cache), 5, "(dx, dprev_h, dWx, dWh, db)")
            for name, got_grad, want, mistakes in zip(
                GRAD_NAMES, got, want_grads, grad_mistakes, strict=True
            ):
                _close_grad(g, name, got_grad, want, mistakes, n)

    for n, d, h, seed in ((2, 3, 4, 5), (3, 4, 4, 6)):
        x, prev_h, Wx, Wh, b, dnext_h = _data(n, d, h, seed)
        with g.case(f"gradient check: x ({n}, {d}), prev_h ({n}, {h}), seed {seed}"):
            _, cache = g.returns(g.call(forward, x, prev_h, Wx, Wh, b), 2, "(next_h, cache)")
            got = g.returns(g.call(backward, dnext_h, cache), 5, "(dx, dprev_h, dWx, dWh, db)")
            inputs = [x, prev_h, Wx, Wh, b]
            for i, name in enumerate(GRAD_NAMES):
                if np.shape(got[i]) == inputs[i].shape:  # else the parity checks named it
                    loss = _loss(forward, inputs, i, dnext_h)
                    g.gradcheck(f"rnn_step_backward: {name}", loss, inputs[i].copy(), got[i])

    with g.case("float32 x (3, 4), prev_h (3, 5)"):
        arrays = [a.astype(np.float32) for a in _data(3, 4, 5, 7)]
        next_h, cache = g.returns(g.call(forward, *arrays[:5]), 2, "(next_h, cache)")
        g.same_dtype("rnn_step_forward: next_h", next_h, np.float32)
        got = g.returns(g.call(backward, arrays[5], cache), 5, "(dx, dprev_h, dWx, dWh, db)")
        g.same_dtype("rnn_step_backward: dx", got[0], np.float32)
        g.same_dtype("rnn_step_backward: dWh", got[3], np.float32)


EXERCISE = Exercise(
    name="rnn-step",
    module=3,
    number=1,
    title="One step of a vanilla RNN, forward and backward",
    concept="Why RNNs struggle: RNN and LSTM cells, seq2seq with attention",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Forward is one line: next_h = np.tanh(x @ Wx + prev_h @ Wh + b). Keep in the cache "
        "what backward multiplies by: x, prev_h, Wx, Wh and next_h.",
        "Backward goes through the tanh first: da = dnext_h * (1 - next_h**2), using the "
        "OUTPUT next_h (tanh'(a) = 1 - tanh(a)**2), never the pre-activation a.",
        "Then each gradient has the shape of its variable, and there is one matrix product of "
        "that shape: dx = da @ Wx.T (N, D), dWx = x.T @ da (D, H), and likewise for prev_h and Wh.",
        "db gets da summed over the batch: da.sum(axis=0), shape (H,). Return the five in the "
        "order (dx, dprev_h, dWx, dWh, db).",
    ),
)
