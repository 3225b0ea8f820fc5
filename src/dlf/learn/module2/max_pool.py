"""Exercise ``max-pool``: the forward and backward passes of max pooling, with loops.

Reference: :class:`dlf.scratch.layers.MaxPool2d` (strided windows, one pass per kernel offset).
The project has no version with loops, so the solution's bodies are written here.
"""

from __future__ import annotations

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake, named
from dlf.learn.source import fill_bodies
from dlf.scratch.layers import AvgPool2d, MaxPool2d

STUB = '''"""Exercise max-pool: max pooling's forward and backward passes, with loops.

Write them the way the formula reads, one window at a time (CS231n's naive max pooling); dlf's
own MaxPool2d computes the same on strided views of the input. Check with
`dlf learn check max-pool` after each save.
"""

import numpy as np


def max_pool_forward_naive(x, pool_height, pool_width, stride):
    """The maximum of each pool_height x pool_width window, per image and channel (no padding).

        out[n, c, i, j] = max_{u < pool_height, v < pool_width} x[n, c, i*stride + u, j*stride + v]

        Ho = (H - pool_height) // stride + 1,   Wo = (W - pool_width) // stride + 1

    Shapes: x (N, C, H, W), pool_height, pool_width, stride ints -> out (N, C, Ho, Wo).
    Loops are fine here.
    Checked: out against dlf's MaxPool2d (float64, relative error <= 1e-7) on several shapes,
    windows that overlap (stride < pool size), non-square windows, a batch of one; inputs left
    unchanged.
    """
    raise NotImplementedError


def max_pool_backward_naive(dout, x, pool_height, pool_width, stride):
    """The gradient of a loss L through max_pool_forward_naive, given dout = dL/dout.

    Each output is one input pixel (its window's maximum), so its gradient goes to that pixel
    only. For each window (n, c, i, j), with (u*, v*) the position of the FIRST maximum of the
    window in row-major order (np.argmax on the flattened window; PyTorch's choice among ties):

        dx[n, c, i*stride + u*, j*stride + v*] += dout[n, c, i, j]

    and 0 for every pixel that is no window's maximum. Windows may overlap: use +=.
    Shapes: dout (N, C, Ho, Wo), x (N, C, H, W) -> dx (N, C, H, W).
    Checked: dx against dlf's MaxPool2d on the same cases as the forward pass, windows of equal
    values (only the first gets the gradient), and a gradient check against your forward pass.
    """
    raise NotImplementedError
'''

FORWARD = """
N, C, H, W = x.shape
Ho = (H - pool_height) // stride + 1
Wo = (W - pool_width) // stride + 1
out = np.zeros((N, C, Ho, Wo), dtype=x.dtype)
for n in range(N):
    for c in range(C):
        for i in range(Ho):
            for j in range(Wo):
                hs, ws = i * stride, j * stride
                out[n, c, i, j] = np.max(x[n, c, hs : hs + pool_height, ws : ws + pool_width])
return out
"""

BACKWARD = """
N, C, H, W = x.shape
_, _, Ho, Wo = dout.shape
dx = np.zeros_like(x)
for n in range(N):
    for c in range(C):
        for i in range(Ho):
            for j in range(Wo):
                hs, ws = i * stride, j * stride
                window = x[n, c, hs : hs + pool_height, ws : ws + pool_width]
                u, v = np.unravel_index(np.argmax(window), window.shape)
                dx[n, c, hs + u, ws + v] += dout[n, c, i, j]
return dx
"""

SOLUTION = fill_bodies(
    STUB, {"max_pool_forward_naive": FORWARD, "max_pool_backward_naive": BACKWARD}
)

# (description, N, C, H, W, pool_height, pool_width, stride, seed, ties); ties: True for values
# in {0, 1, 2}, None for a constant image
CASES = (
    ("2x2 pool, stride 2", 2, 3, 6, 6, 2, 2, 2, 0, False),
    ("3x3 pool, stride 2: windows overlap", 2, 2, 7, 7, 3, 3, 2, 1, False),
    ("2x3 pool, stride 1: windows overlap", 2, 2, 5, 6, 2, 3, 1, 2, False),
    ("a batch of one, 3x3 pool, stride 3, last row dropped", 1, 2, 8, 7, 3, 3, 3, 3, False),
    ("ties: few distinct values, 2x2 pool, stride 2", 2, 2, 6, 6, 2, 2, 2, 4, True),
    ("ties: few distinct values, 3x3 pool, stride 1", 2, 2, 6, 5, 3, 3, 1, 5, True),
    ("ties: every value equal, 2x2 pool, stride 2", 1, 1, 4, 4, 2, 2, 2, 6, None),
)


def reference(x, ph, pw, stride, dout=None):
    """dlf's MaxPool2d: ``out``, or ``dx`` for ``dout``."""
    layer = MaxPool2d((ph, pw), stride)
    out = np.ascontiguousarray(layer.forward(x))
    return out if dout is None else np.ascontiguousarray(layer.backward(dout))


def out_size(h: int, k: int, stride: int) -> int:
    return (h - k) // stride + 1


def _data(n, c, h, w, ph, pw, stride, seed, ties):
    rng = np.random.default_rng(seed)
    if ties is None:
        x = np.full((n, c, h, w), 0.5)
    elif ties:
        x = rng.integers(0, 3, (n, c, h, w)).astype(np.float64)
    else:
        x = rng.standard_normal((n, c, h, w))
    dout = rng.standard_normal((n, c, out_size(h, ph, stride), out_size(w, pw, stride)))
    return x, dout


def _route(x, dout, ph, pw, stride, weights, assign=None):
    """dx of code that sends ``dout * weights(window)`` to each window, in loop order (i, j).

    ``assign`` None adds (+=); "pixel" writes only the chosen pixel with ``=``; "window" writes
    the whole window with ``=``. Used to build the values that known mistakes return.
    """
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows = slice(i * stride, i * stride + ph)
            cols = slice(j * stride, j * stride + pw)
            window = x[:, :, rows, cols]
            share = weights(window) * dout[:, :, i, j][:, :, None, None]
            if assign == "window":
                dx[:, :, rows, cols] = share
            elif assign == "pixel":
                dx[:, :, rows, cols] = np.where(weights(window) != 0, share, dx[:, :, rows, cols])
            else:
                dx[:, :, rows, cols] += share
    return dx


def _first_max(window):
    """One-hot (N, C, ph, pw) masks of each window's first maximum in row-major order."""
    n, c, ph, pw = window.shape
    flat = window.reshape(n, c, ph * pw)
    return np.eye(ph * pw)[np.argmax(flat, axis=2)].reshape(window.shape)


def _last_max(window):
    """One-hot masks of each window's LAST maximum in row-major order."""
    return _first_max(window[:, :, ::-1, ::-1])[:, :, ::-1, ::-1]


def _all_max(window):
    return (window == window.max(axis=(2, 3), keepdims=True)).astype(float)


def _stride_one(x, dout, ph, pw):
    """dx of code that ignores the stride: window (i, j) starts at (i, j)."""
    n, c, h, w = x.shape
    full = np.zeros((n, c, out_size(h, ph, 1), out_size(w, pw, 1)))
    full[:, :, : dout.shape[2], : dout.shape[3]] = dout
    return reference(x, ph, pw, 1, full)


STRIDE = "the stride is ignored: window (i, j) starts at (i*stride, j*stride)"
EVERY_TIE = (
    "the gradient goes to every tied maximum: only the FIRST maximum of a window (row-major, "
    "np.argmax of the flattened window) gets dout"
)
AVERAGE = (
    "the gradient is spread over the window (that is average pooling): it goes only to the "
    "pixel that was the maximum"
)
ASSIGNED = (
    "= instead of +=: windows overlap, so one pixel can be the maximum of several windows "
    "and receives the sum of their gradients"
)
LAST_TIE = (
    "the gradient goes to the LAST of tied maxima: it goes to the FIRST in row-major order "
    "(np.argmax; a scan that replaces the best only on a strictly greater value)"
)


INTEGERS = "out is an integer array: allocate it with np.zeros(shape, dtype=x.dtype)"


def _label(on, x, ph, pw, stride, seed) -> str:
    return f"{on}: x {x.shape}, pool {ph}x{pw}, stride {stride}, seed {seed}"


def _check_forward(g: Grader, forward, on, n, c, h, w, ph, pw, stride, seed, ties) -> None:
    x, _ = _data(n, c, h, w, ph, pw, stride, seed, ties)
    out = reference(x, ph, pw, stride)
    ho, wo = out.shape[2:]
    shapes = {}
    if stride != 1:
        shapes[(n, c, out_size(h, ph, 1), out_size(w, pw, 1))] = (
            "the stride is ignored: the output size is Ho = (H - pool_height) // stride + 1 "
            "(Wo alike), and window (i, j) starts at (i*stride, j*stride)"
        )
    shapes[(n, c, ho - 1, wo - 1)] = (
        "the output size is Ho = (H - pool_height) // stride + 1: the + 1 is missing"
    )
    shapes[(n, c, out_size(h, pw, stride), out_size(w, ph, stride))] = (
        "pool_height and pool_width are swapped: pool_height runs along H (axis 2)"
    )
    shapes.pop(out.shape, None)
    mistakes = [
        Mistake(
            "the window's mean is taken (average pooling): take its maximum",
            np.ascontiguousarray(AvgPool2d((ph, pw), stride).forward(x)),
        ),
        Mistake(INTEGERS, np.trunc(out)),
    ]
    if stride != 1:
        mistakes.append(Mistake(STRIDE, reference(x, ph, pw, 1)[:, :, :ho, :wo]))
    with g.case(_label(on, x, ph, pw, stride, seed)):
        got = g.call(forward, x, ph, pw, stride)
        g.close("max_pool_forward_naive: out", got, out, mistakes=mistakes, shapes=shapes)


def _check_backward(g: Grader, backward, on, n, c, h, w, ph, pw, stride, seed, ties) -> None:
    x, dout = _data(n, c, h, w, ph, pw, stride, seed, ties)
    avg = AvgPool2d((ph, pw), stride)
    avg.forward(x)
    mistakes = [
        Mistake(EVERY_TIE, _route(x, dout, ph, pw, stride, _all_max)),
        Mistake(AVERAGE, np.ascontiguousarray(avg.backward(dout))),
        Mistake(LAST_TIE, _route(x, dout, ph, pw, stride, _last_max)),
        Mistake(ASSIGNED, _route(x, dout, ph, pw, stride, _first_max, "pixel")),
        Mistake(ASSIGNED, _route(x, dout, ph, pw, stride, _first_max, "window")),
        Mistake(
            EVERY_TIE + "; and " + ASSIGNED, _route(x, dout, ph, pw, stride, _all_max, "pixel")
        ),
    ]
    if stride != 1:
        mistakes.append(Mistake(STRIDE, _stride_one(x, dout, ph, pw)))
    with g.case(_label(on, x, ph, pw, stride, seed)):
        got = g.call(backward, dout, x, ph, pw, stride)
        want = reference(x, ph, pw, stride, dout)
        g.close("max_pool_backward_naive: dx", got, want, mistakes=mistakes)


def grade(g: Grader) -> None:
    forward = g.function("max_pool_forward_naive")
    backward = g.function("max_pool_backward_naive")
    for case in CASES:
        _check_forward(g, forward, *case)
    for case in CASES:
        _check_backward(g, backward, *case)

    # gradient check: the learner's backward against the learner's own forward (no ties)
    x, dout = _data(1, 2, 5, 5, 3, 2, 1, 9, False)
    with g.case(f"gradient check: x {x.shape}, pool 3x2, stride 1"):
        out = g.call(forward, x, 3, 2, 1)
        got = g.call(backward, dout, x, 3, 2, 1)
        if np.shape(out) != dout.shape:
            return  # the parity checks above already say what is wrong

        def loss(v):
            return float(np.sum(np.asarray(g.call(forward, v, 3, 2, 1)) * dout))

        g.gradcheck("max_pool_backward_naive: dx", named(loss, "max_pool_forward_naive"), x, got)


EXERCISE = Exercise(
    name="max-pool",
    module=2,
    number=2,
    title="Max pooling forward and backward, with loops",
    concept="Pooling from scratch",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Loop over n, c, i < Ho, j < Wo with Ho = (H - pool_height) // stride + 1; window (i, j) "
        "is x[n, c, i*stride : i*stride + pool_height, j*stride : j*stride + pool_width].",
        "Forward: out[n, c, i, j] = window.max().",
        "Backward: the maximum is one pixel of the window, so only that pixel gets "
        "dout[n, c, i, j]; every other pixel of the window gets nothing from this window.",
        "u, v = np.unravel_index(np.argmax(window), window.shape) is the first maximum "
        "(ties: the first in row-major order); then dx[n, c, i*stride + u, j*stride + v] += "
        "dout[n, c, i, j], with += because overlapping windows can share their maximum.",
    ),
)
