"""Exercise ``conv-naive``: the forward and backward passes of a convolution, with loops.

Reference: :class:`dlf.scratch.layers.Conv2d` (im2col and matrix products). The project has no
version with loops, so the solution's bodies are written here.
"""

from __future__ import annotations

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake, named
from dlf.learn.source import fill_bodies
from dlf.scratch.layers import Conv2d

STUB = '''"""Exercise conv-naive: a convolutional layer's forward and backward passes, with loops.

Write them the way the formula reads, one output pixel at a time (CS231n's naive convolution);
dlf's own Conv2d computes the same with im2col and one matrix product. Check with
`dlf learn check conv-naive` after each save.
"""

import numpy as np


def conv_forward_naive(x, w, b, stride, pad):
    """Cross-correlation of a batch of images with F filters, plus a bias per filter.

    With xp = x zero-padded by `pad` pixels on each side of H and W (np.pad):

        out[n, f, i, j] = b[f] + sum_{c, u, v} w[f, c, u, v] * xp[n, c, i*stride + u, j*stride + v]

        Ho = (H + 2*pad - HH) // stride + 1,   Wo = (W + 2*pad - WW) // stride + 1

    The kernel is NOT flipped (this is what every deep-learning library calls a convolution).
    Shapes: x (N, C, H, W), w (F, C, HH, WW), b (F,), stride and pad ints
            -> out (N, F, Ho, Wo). Loops are fine here.
    Checked: out against dlf's Conv2d (float64, relative error <= 1e-7) on several shapes,
    strides 1 and 2, pad 0 and 1, non-square kernels, a batch of one, one input channel; inputs
    left unchanged.
    """
    raise NotImplementedError


def conv_backward_naive(dout, x, w, b, stride, pad):
    """The gradients of a loss L through conv_forward_naive, given dout = dL/dout.

        db[f]          = sum_{n, i, j} dout[n, f, i, j]
        dw[f, c, u, v] = sum_{n, i, j} dout[n, f, i, j] * xp[n, c, i*stride + u, j*stride + v]
        dxp[n, c, i*stride + u, j*stride + v] += dout[n, f, i, j] * w[f, c, u, v]
                         (summed over every f, i, j, u, v: windows overlap)
        dx = dxp without its padding

    Shapes: dout (N, F, Ho, Wo), x (N, C, H, W), w (F, C, HH, WW), b (F,)
            -> (dx: (N, C, H, W), dw: (F, C, HH, WW), db: (F,)).
    Checked: dx, dw and db against dlf's Conv2d on the same cases as the forward pass, and a
    gradient check of all three against your conv_forward_naive on a tiny case.
    """
    raise NotImplementedError
'''

FORWARD = """
N, C, H, W = x.shape
F, _, HH, WW = w.shape
Ho = (H + 2 * pad - HH) // stride + 1
Wo = (W + 2 * pad - WW) // stride + 1
xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
out = np.zeros((N, F, Ho, Wo), dtype=x.dtype)
for n in range(N):
    for f in range(F):
        for i in range(Ho):
            for j in range(Wo):
                window = xp[n, :, i * stride : i * stride + HH, j * stride : j * stride + WW]
                out[n, f, i, j] = np.sum(window * w[f]) + b[f]
return out
"""

BACKWARD = """
N, C, H, W = x.shape
F, _, HH, WW = w.shape
_, _, Ho, Wo = dout.shape
xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
dxp = np.zeros_like(xp)
dw = np.zeros_like(w)
db = np.zeros_like(b)
for n in range(N):
    for f in range(F):
        for i in range(Ho):
            for j in range(Wo):
                rows = slice(i * stride, i * stride + HH)
                cols = slice(j * stride, j * stride + WW)
                db[f] += dout[n, f, i, j]
                dw[f] += xp[n, :, rows, cols] * dout[n, f, i, j]
                dxp[n, :, rows, cols] += w[f] * dout[n, f, i, j]
dx = dxp[:, :, pad : pad + H, pad : pad + W]
return dx, dw, db
"""

SOLUTION = fill_bodies(STUB, {"conv_forward_naive": FORWARD, "conv_backward_naive": BACKWARD})

# (N, C, H, W, F, HH, WW, stride, pad, seed)
CASES = (
    (2, 3, 6, 6, 4, 3, 3, 1, 1, 0),
    (2, 2, 8, 7, 3, 3, 3, 2, 1, 1),  # overlapping windows; the last padded row is unused
    (2, 3, 5, 7, 2, 2, 3, 1, 0, 2),  # non-square kernel
    (1, 1, 7, 7, 2, 3, 3, 2, 0, 3),  # a batch of one, one channel
    (3, 2, 6, 5, 2, 2, 2, 2, 1, 4),  # stride = kernel: windows do not overlap
)


def reference(x, w, b, stride, pad, dout=None):
    """dlf's Conv2d in float64 with weights ``w``, ``b``: ``out``, or ``(dx, dw, db)`` for dout."""
    f, c, hh, ww = w.shape
    layer = Conv2d(c, f, (hh, ww), stride, pad, dtype=np.float64)
    layer.params["W"][...] = w
    layer.params["b"][...] = b
    out = np.ascontiguousarray(layer.forward(x))
    if dout is None:
        return out
    dx = np.ascontiguousarray(layer.backward(dout))
    return dx, layer.grads["W"].copy(), layer.grads["b"].copy()


def out_size(h: int, k: int, stride: int, pad: int) -> int:
    return (h + 2 * pad - k) // stride + 1


def _data(n, c, h, wd, f, hh, ww, stride, pad, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, wd))
    w = rng.standard_normal((f, c, hh, ww))
    b = rng.standard_normal(f)
    dout = rng.standard_normal((n, f, out_size(h, hh, stride, pad), out_size(wd, ww, stride, pad)))
    return x, w, b, dout


def _stride_one_backward(x, w, b, dout, pad):
    """(dx, dw, db) of code that ignores the stride: window (i, j) starts at (i, j)."""
    n, f = dout.shape[:2]
    full = np.zeros(
        (n, f, out_size(x.shape[2], w.shape[2], 1, pad), out_size(x.shape[3], w.shape[3], 1, pad))
    )
    full[:, :, : dout.shape[2], : dout.shape[3]] = dout
    return reference(x, w, b, 1, pad, full)


def _assigned(x, w, dout, stride, pad, rows_first=True):
    """dx and dw of code that writes ``=`` instead of ``+=``: the last write to each entry wins."""
    n, _, h, wd = x.shape
    f_, _, hh, ww = w.shape
    ho, wo = dout.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    order = [(i, j) for i in range(ho) for j in range(wo)]
    if not rows_first:
        order.sort(key=lambda ij: (ij[1], ij[0]))
    for k in range(n):
        for f in range(f_):
            for i, j in order:
                dxp[k, :, i * stride : i * stride + hh, j * stride : j * stride + ww] = (
                    w[f] * dout[k, f, i, j]
                )
    last = xp[
        -1,
        :,
        (ho - 1) * stride : (ho - 1) * stride + hh,
        (wo - 1) * stride : (wo - 1) * stride + ww,
    ]
    dw = last[None] * dout[-1, :, -1, -1][:, None, None, None]
    return dxp[:, :, pad : pad + h, pad : pad + wd], dw


def _forward_shapes(x, w, stride, pad) -> dict:
    n, _, h, wd = x.shape
    f, _, hh, ww = w.shape
    shapes = {}
    if pad:
        shapes[(n, f, out_size(h, hh, stride, 0), out_size(wd, ww, stride, 0))] = (
            "the padding is ignored: pad x with `pad` zeros on each side of H and W "
            "(np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))))"
        )
    if stride != 1:
        shapes[(n, f, out_size(h, hh, 1, pad), out_size(wd, ww, 1, pad))] = (
            "the stride is ignored: the output size is Ho = (H + 2*pad - HH) // stride + 1 "
            "(Wo alike), and window (i, j) starts at (i*stride, j*stride)"
        )
    shapes[(n, f, out_size(h, hh, stride, pad) - 1, out_size(wd, ww, stride, pad) - 1)] = (
        "the output size is Ho = (H + 2*pad - HH) // stride + 1: the + 1 is missing"
    )
    return shapes


FLIP = (
    "the kernel is flipped (true convolution): deep-learning 'convolution' is "
    "cross-correlation, w[f, c, u, v] multiplies xp[n, c, i*stride + u, j*stride + v]"
)
STRIDE = "the stride is ignored: window (i, j) starts at (i*stride, j*stride)"
PLUS = (
    "= instead of +=: every filter and every window that covers a pixel adds to its gradient "
    "(windows overlap), and every (n, i, j) adds to dw and db"
)
DB = "db[f] = sum over n, i and j of dout[n, f, i, j]: sum over axes (0, 2, 3)"


FORWARD_NAME = "conv_forward_naive"  # how the gradient checks name the learner's forward
INTEGERS = "out is an integer array: allocate it with np.zeros(shape, dtype=x.dtype)"


def _label(x, w, stride, pad, seed) -> str:
    return f"x {x.shape}, w {w.shape}, stride {stride}, pad {pad}, seed {seed}"


def _check_forward(g: Grader, forward, case) -> None:
    *_, c, h, wd, f, hh, ww, stride, pad, seed = case
    x, w, b, _ = _data(*case)
    out = reference(x, w, b, stride, pad)
    ho, wo = out.shape[2:]
    mistakes = [
        Mistake(FLIP, reference(x, np.ascontiguousarray(w[:, :, ::-1, ::-1]), b, stride, pad)),
        Mistake("the bias b[f] is not added", out - b[:, None, None]),
        Mistake(INTEGERS, np.trunc(out)),
        Mistake(
            "the bias is added to every product in the window: add b[f] once per output "
            "pixel, after the sum",
            out + (c * hh * ww - 1) * b[:, None, None],
        ),
    ]
    if stride != 1:
        mistakes.append(Mistake(STRIDE, reference(x, w, b, 1, pad)[:, :, :ho, :wo]))
    with g.case(_label(x, w, stride, pad, seed)):
        got = g.call(forward, x, w, b, stride, pad)
        shapes = _forward_shapes(x, w, stride, pad)
        g.close("conv_forward_naive: out", got, out, mistakes=mistakes, shapes=shapes)


def _check_backward(g: Grader, backward, case) -> None:
    n, c, h, wd, f, hh, ww, stride, pad, seed = case
    x, w, b, dout = _data(*case)
    dx, dw, db = reference(x, w, b, stride, pad, dout)
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1])
    assigned = [_assigned(x, w, dout, stride, pad, rows_first) for rows_first in (True, False)]
    dx_mistakes = [
        Mistake(FLIP, reference(x, flipped, b, stride, pad, dout)[0]),
        *(Mistake(PLUS, dx_) for dx_, _ in assigned),
    ]
    dw_mistakes = [
        Mistake(FLIP, dw[:, :, ::-1, ::-1]),
        Mistake(PLUS, assigned[0][1]),
        Mistake(
            "dw[f] sums dout * window over the whole batch, not only the last sample",
            reference(x[-1:], w, b, stride, pad, dout[-1:])[1],
        ),
    ]
    if stride != 1:
        stride_dx, stride_dw, _ = _stride_one_backward(x, w, b, dout, pad)
        dx_mistakes.append(Mistake(STRIDE, stride_dx))
        dw_mistakes.append(Mistake(STRIDE, stride_dw))
    ho, wo = dout.shape[2:]
    db_mistakes = [
        Mistake("db[f] = ... instead of db[f] += ...: " + DB, dout[-1, :, -1, -1]),
        Mistake("db is summed, not averaged: " + DB, db / (n * ho * wo)),
        Mistake(DB + " (only the last sample was summed)", dout[-1].sum((1, 2))),
    ]
    dx_shapes = {}
    if pad:
        dx_shapes[(n, c, h + 2 * pad, wd + 2 * pad)] = (
            "dx has the padded shape: crop the padding off, dx = dxp[:, :, pad:pad + H, "
            "pad:pad + W]"
        )
    db_shapes = {dout.sum(axis=axes).shape: DB for axes in ((0,), (2, 3), (0, 2), (0, 3))}
    db_shapes[dout.shape] = DB
    with g.case(_label(x, w, stride, pad, seed)):
        got_dx, got_dw, got_db = g.returns(
            g.call(backward, dout, x, w, b, stride, pad), 3, "(dx, dw, db)"
        )
        g.close("conv_backward_naive: dx", got_dx, dx, mistakes=dx_mistakes, shapes=dx_shapes)
        g.close("conv_backward_naive: dw", got_dw, dw, mistakes=dw_mistakes)
        g.close("conv_backward_naive: db", got_db, db, mistakes=db_mistakes, shapes=db_shapes)


def grade(g: Grader) -> None:
    forward = g.function("conv_forward_naive")
    backward = g.function("conv_backward_naive")
    for case in CASES:
        _check_forward(g, forward, case)
    for case in CASES:
        _check_backward(g, backward, case)

    # gradient check: the learner's backward against the learner's own forward
    x, w, b, _ = _data(1, 2, 5, 4, 2, 3, 2, 2, 1, 7)
    stride, pad = 2, 1
    dout = np.random.default_rng(8).standard_normal(np.shape(reference(x, w, b, stride, pad)))
    with g.case(f"gradient check: x {x.shape}, w {w.shape}, stride {stride}, pad {pad}"):
        out = g.call(forward, x, w, b, stride, pad)
        gx, gw, gb = g.returns(g.call(backward, dout, x, w, b, stride, pad), 3, "(dx, dw, db)")
        if np.shape(out) != dout.shape:
            return  # the parity checks above already say what is wrong

        def loss(x, w, b):
            return float(np.sum(np.asarray(g.call(forward, x, w, b, stride, pad)) * dout))

        g.gradcheck("conv_backward_naive: dx", named(lambda v: loss(v, w, b), FORWARD_NAME), x, gx)
        g.gradcheck("conv_backward_naive: dw", named(lambda v: loss(x, v, b), FORWARD_NAME), w, gw)
        g.gradcheck("conv_backward_naive: db", named(lambda v: loss(x, w, v), FORWARD_NAME), b, gb)


EXERCISE = Exercise(
    name="conv-naive",
    module=2,
    number=1,
    title="Convolution forward and backward, with loops",
    concept="Convolution from scratch (im2col)",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Pad once at the start: xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))). "
        "Then loop over n, f, i < Ho, j < Wo; window (i, j) is "
        "xp[n, :, i*stride : i*stride + HH, j*stride : j*stride + WW], of shape (C, HH, WW).",
        "Forward: out[n, f, i, j] = np.sum(window * w[f]) + b[f]. Compute Ho and Wo with "
        "(H + 2*pad - HH) // stride + 1 before the loops to allocate out.",
        "Backward: the same four loops and the same window. Each output pixel sends "
        "dout[n, f, i, j] back along the products it was made of: db[f] += it, "
        "dw[f] += window * it, and the window of dxp += w[f] * it.",
        "Accumulate into dxp = np.zeros_like(xp) with += (a pixel lies in several windows and "
        "is seen by every filter), then return dx = dxp[:, :, pad:pad + H, pad:pad + W].",
    ),
)
