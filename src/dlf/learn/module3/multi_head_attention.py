"""Exercise ``multi-head-attention``: multi-head self-attention in NumPy, forward and backward.

Reference: :class:`dlf.scratch.attention.MultiHeadSelfAttention` and the functions
:func:`~dlf.scratch.attention.split_heads` and :func:`~dlf.scratch.attention.merge_heads`. The
learner's class subclasses dlf's (constructor, projections, ``params`` and ``grads`` are dlf's);
the solution is the bodies of dlf's functions and methods. The attention itself is dlf's
:func:`~dlf.scratch.attention.scaled_dot_product_attention` (the ``attention`` exercise), so that
this exercise stands alone.
"""

from __future__ import annotations

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake
from dlf.learn.source import fill_bodies
from dlf.scratch import attention
from dlf.scratch.attention import MultiHeadSelfAttention as ScratchMHSA
from dlf.scratch.gradcheck import numerical_gradient

STUB = '''"""Exercise multi-head-attention: multi-head self-attention, forward and backward.

    head_i = Attention(x W_q^i, x W_k^i, x W_v^i)          (i = 1..h, each of width d_k = C / h)
    y      = Concat(head_1, ..., head_h) W_o + b_o

The class below inherits its constructor from dlf.scratch.attention.MultiHeadSelfAttention:
MultiHeadSelfAttention(d_model, n_heads, bias=True, dtype=..., rng=...) sets self.d_model (C),
self.n_heads (h), self.d_k (C / h) and self.proj, four dlf.scratch.layers.Linear(C, C) layers
"q", "k", "v", "o" (y = x W + b; .forward(x) keeps x, .backward(dout) fills its .grads and
returns dx). self.params and self.grads are "W_q", "b_q", ..., "W_o", "b_o", the projections'
own arrays. The attention itself you wrote in the `attention` exercise; here dlf's
scaled_dot_product_attention and its backward are imported, so this exercise stands alone.
Check with `dlf learn check multi-head-attention` after each save.
"""

import numpy as np

from dlf.scratch import attention
from dlf.scratch.attention import (
    scaled_dot_product_attention,
    scaled_dot_product_attention_backward,
)


def split_heads(x, n_heads):
    """(B, T, C) -> (B, h, T, d_k) with h = n_heads and d_k = C / h: head i takes the features
    i*d_k .. (i+1)*d_k - 1 of every position.

        out[b, i, t, j] = x[b, t, i*d_k + j]

    Shapes: x (B, T, C) -> (B, h, T, d_k). A reshape alone to (B, h, T, d_k) gives the right
    shape with the wrong contents: split the last axis first, then move the head axis.
    Checked: against dlf's split_heads on several shapes, and merge_heads(split_heads(x)) == x.
    """
    raise NotImplementedError


def merge_heads(x):
    """(B, h, T, d_k) -> (B, T, h * d_k), the inverse of split_heads (Concat of the heads):

        out[b, t, i*d_k + j] = x[b, i, t, j]

    Shapes: x (B, h, T, d_k) -> (B, T, h * d_k).
    Checked: against dlf's merge_heads on several shapes.
    """
    raise NotImplementedError


class MultiHeadSelfAttention(attention.MultiHeadSelfAttention):
    def split_heads(self, x):
        """Given: your split_heads with this layer's number of heads."""
        return split_heads(x, self.n_heads)

    def merge_heads(self, x):
        """Given: your merge_heads."""
        return merge_heads(x)

    def forward(self, x, mask=None):
        """y = merge_heads(Attention(Q, K, V)) W_o + b_o, Q, K, V = split_heads of the
        projections x W_q + b_q, x W_k + b_k, x W_v + b_v (self.proj["q"].forward(x), ...).

        Keep what backward needs (e.g. self.cache = (q, k, v, weights)) and the attention
        weights in self.attn_weights (B, h, T, T), for plotting.
        Shapes: x (B, T, C); mask None or boolean, broadcastable to (B, h, T, T), True =
        allowed -> y (B, T, C).
        Checked: y and attn_weights against dlf's layer with the same parameters (float64,
        relative error <= 1e-7) on several shapes, with causal and padding masks, a batch of
        one; float32 kept.
        """
        raise NotImplementedError

    def backward(self, dout):
        """Given dout = dL/dy, fill self.grads (through the projections' backward) and return dx.

        Backward through each step of forward in reverse: the output projection, the merge
        (a split), the attention (scaled_dot_product_attention_backward), the split (a merge),
        then the three input projections. x feeds all three of Q, K and V, so dx is the SUM of
        the three projections' dx.
        Shapes: dout (B, T, C) -> dx (B, T, C).
        Checked: dx and every entry of self.grads against dlf's layer (float64, relative error
        <= 1e-7) on the cases of forward, a gradient check of x and every parameter against
        finite differences of your forward, float32 kept.
        """
        raise NotImplementedError
'''

SOLUTION = fill_bodies(
    STUB,
    {
        "split_heads": attention.split_heads,
        "merge_heads": attention.merge_heads,
        "MultiHeadSelfAttention.forward": ScratchMHSA.forward,
        "MultiHeadSelfAttention.backward": ScratchMHSA.backward,
    },
)

FORWARD = "MultiHeadSelfAttention.forward"
BACKWARD = "MultiHeadSelfAttention.backward"


# Wrong programs, as subclasses of dlf's layer with one piece changed: the values they return
# are the known mistakes.
class _ReshapeOnly(ScratchMHSA):
    """split and merge by reshape alone: the 'heads' mix positions and features."""

    def split_heads(self, x):
        b, t, c = x.shape
        return x.reshape(b, self.n_heads, t, c // self.n_heads)

    def merge_heads(self, x):
        b, h, t, d = x.shape
        return x.reshape(b, t, h * d)


class _MergeReshapeOnly(ScratchMHSA):
    """merge by reshape alone, without moving the head axis back."""

    def merge_heads(self, x):
        b, h, t, d = x.shape
        return x.reshape(b, t, h * d)


class _MergeFeatureMajor(ScratchMHSA):
    """merge with the axes in the wrong order: features j-major, heads interleaved."""

    def merge_heads(self, x):
        b, h, t, d = x.shape
        return x.transpose(0, 2, 3, 1).reshape(b, t, h * d)


MODELS = (
    (
        _ReshapeOnly,
        "the heads are split by a reshape alone: reshape to (B, T, h, d_k), then transpose to "
        "(B, h, T, d_k) (and back in merge_heads)",
    ),
    (
        _MergeReshapeOnly,
        "merge_heads reshapes without moving the head axis back: transpose (B, h, T, d_k) to "
        "(B, T, h, d_k) first",
    ),
    (
        _MergeFeatureMajor,
        "merge_heads puts the axes in the wrong order: (B, h, T, d_k) -> (B, T, h, d_k) -> "
        "(B, T, h * d_k), head i at features i*d_k .. (i+1)*d_k - 1",
    ),
)
NO_OUTPUT = "the output projection is missing: y = merged heads W_o + b_o (self.proj['o'])"
NOT_ALL_PATHS = (
    "dx must add the gradients through all three projections: Q, K and V are all computed "
    "from x, so dx = dx_q + dx_k + dx_v"
)

# (B, T, d_model, n_heads, mask kind, seed)
CASES = (
    (2, 4, 8, 2, None, 0),
    (1, 5, 6, 3, "causal", 1),
    (3, 3, 8, 4, "padding", 2),
    (2, 5, 12, 3, "causal+padding", 3),
)


def _mask(kind: str | None, b: int, t: int) -> np.ndarray | None:
    lengths = [t - i % 3 for i in range(b)]  # some rows padded; every query sees a key
    if kind == "causal":
        return attention.causal_mask(t)
    if kind == "padding":
        return attention.padding_mask(lengths, t)[:, None, None, :]
    if kind == "causal+padding":
        return attention.causal_mask(t) & attention.padding_mask(lengths, t)[:, None, None, :]
    return None


def _layer(cls: type, d_model: int, n_heads: int, seed: int, bias: np.ndarray | None):
    """A float64 layer of class ``cls``, dlf's initial weights from ``seed``, biases set."""
    layer = cls(d_model, n_heads, dtype=np.float64, rng=np.random.default_rng(seed))
    if bias is not None:
        for i, name in enumerate(layer.PROJECTIONS):
            layer.params[f"b_{name}"][...] = bias[i]  # dlf's start at 0: a lost bias would pass
    return layer


def _run(layer, x, mask, dout) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """(y, attn_weights, dx, grads) of one forward and backward of a dlf-based layer."""
    y = layer.forward(x, mask)
    dx = layer.backward(dout)
    return y, layer.attn_weights, dx, {k: v.copy() for k, v in layer.grads.items()}


def _partial_dx(layer, dout) -> list[np.ndarray]:
    """dx through Q alone, K alone and V alone, after a forward of dlf's ``layer``."""
    q, k, v, weights = layer.cache
    d_heads = layer.split_heads(dout @ layer.params["W_o"].T)
    grads = attention.scaled_dot_product_attention_backward(d_heads, q, k, v, weights)
    return [
        attention.merge_heads(g) @ layer.params[f"W_{name}"].T
        for g, name in zip(grads, "qkv", strict=True)
    ]


def _close_maybe_missing(g: Grader, what: str, got, want, mistakes) -> None:
    if got is None:
        g.check(what, False, "missing", "forward must set it (and backward fill self.grads)")
    else:
        g.close(what, got, want, mistakes=mistakes)


def _one_case(g: Grader, cls: type, b: int, t: int, c: int, h: int, kind, seed: int) -> None:
    rng = np.random.default_rng(seed + 100)
    x = rng.standard_normal((b, t, c))
    dout = rng.standard_normal((b, t, c))
    bias = rng.standard_normal((4, c)) * 0.5
    mask = _mask(kind, b, t)
    mine = _layer(cls, c, h, seed, bias)
    ref = _layer(ScratchMHSA, c, h, seed, bias)
    want_y, want_w, want_dx, want_grads = _run(ref, x, mask, dout)
    partial = _partial_dx(ref, dout)

    wrong = [(message, _run(_layer(m, c, h, seed, bias), x, mask, dout)) for m, message in MODELS]
    identity = _layer(ScratchMHSA, c, h, seed, bias)
    identity.params["W_o"][...] = np.eye(c)
    identity.params["b_o"][...] = 0
    wrong.append((NO_OUTPUT, _run(identity, x, mask, dout)))
    if mask is not None:
        unmasked = _layer(ScratchMHSA, c, h, seed, bias)
        wrong.append(("the mask is not passed to the attention", _run(unmasked, x, None, dout)))

    label = f"x {x.shape}, {h} heads" + (f", {kind} mask" if kind else "") + f", seed {seed}"
    with g.case(label):
        y = g.call(mine.forward, x) if mask is None else g.call(mine.forward, x, mask)
        g.close(f"{FORWARD}: y", y, want_y, mistakes=[Mistake(m, r[0]) for m, r in wrong])
        _close_maybe_missing(
            g,
            f"{FORWARD}: self.attn_weights",
            mine.attn_weights,
            want_w,
            [Mistake(m, r[1]) for m, r in wrong],
        )
        dx = g.call(mine.backward, dout)
        subsets = [partial[i] for i in range(3)] + [
            partial[i] + partial[j] for i, j in ((0, 1), (0, 2), (1, 2))
        ]
        g.close(
            f"{BACKWARD}: dx",
            dx,
            want_dx,
            mistakes=[
                *(Mistake(m, r[2]) for m, r in wrong),
                *(Mistake(NOT_ALL_PATHS, s) for s in subsets),
            ],
        )
        grads = mine.grads
        for key, want in want_grads.items():
            mistakes = [Mistake(m, r[3][key]) for m, r in wrong]
            if key.startswith("W"):
                mistakes.append(
                    Mistake(
                        f"{key} gets x^T dout (in, out) of its projection, not dout^T x", want.T
                    )
                )
            what = f'{BACKWARD}: grads["{key}"]'
            if key == "b_k":
                _close_to_zero(g, what, grads.get(key), want, want_grads, mistakes)
            else:
                g.close(what, grads.get(key), want, mistakes=mistakes)


def _close_to_zero(g: Grader, what: str, got, want: np.ndarray, grads: dict, mistakes=()) -> None:
    """The gradient of b_k, identically 0 (rounding noise): compared on the scale of the others.

    b_k shifts every score of a query's row by the same q . b_k, which the softmax ignores.
    """
    scale = max(float(np.abs(v).max()) for v in grads.values())
    try:
        got_a = np.asarray(got, dtype=np.float64)
        err = float(np.abs(got_a - want).max()) / scale
    except (TypeError, ValueError):
        g.close(what, got, want)  # names the wrong type or shape
        return
    g.check(
        what,
        err <= 1e-7,
        f"got {_largest(got)}, expected 0 (b_k shifts all the scores of a row by the same "
        "q . b_k, which the softmax ignores); tolerance 1e-7 of the largest gradient",
        g.diagnose(got_a, want, mistakes, {}),
    )


def _largest(got) -> str:
    a = np.asarray(got, dtype=np.float64)
    return f"an entry {a.flat[int(np.argmax(np.abs(a)))]:.6g}"


def _split_merge(g: Grader) -> None:
    split, merge = g.function("split_heads"), g.function("merge_heads")
    for b, t, c, h, seed in ((2, 3, 8, 2, 0), (1, 4, 12, 3, 1), (2, 2, 8, 4, 2)):
        x = np.random.default_rng(seed).standard_normal((b, t, c))
        d = c // h
        with g.case(f"x ({b}, {t}, {c}), {h} heads"):
            got = g.call(split, x, h)
            if np.shape(got) == (b, t, h, d):
                g.check(
                    "split_heads: shape",
                    False,
                    f"shape {np.shape(got)}, expected {(b, h, t, d)}",
                    "the head axis must come before the time axis: transpose (B, T, h, d_k) to "
                    "(B, h, T, d_k)",
                )
            else:
                g.close(
                    "split_heads",
                    got,
                    attention.split_heads(x, h),
                    mistakes=[
                        Mistake(
                            "a reshape alone to (B, h, T, d_k) mixes positions into the heads: "
                            "reshape to (B, T, h, d_k), then transpose the axes T and h",
                            x.reshape(b, h, t, d),
                        ),
                        Mistake(
                            "head i takes the CONSECUTIVE features i*d_k .. (i+1)*d_k - 1: "
                            "reshape the last axis to (h, d_k), not (d_k, h)",
                            x.reshape(b, t, d, h).transpose(0, 3, 1, 2),
                        ),
                    ],
                )
            x4 = attention.split_heads(x, h).copy()
            g.close(
                "merge_heads",
                g.call(merge, x4),
                x,
                mistakes=[
                    Mistake(
                        "a reshape alone mixes the heads into the positions: transpose "
                        "(B, h, T, d_k) to (B, T, h, d_k) first, then reshape",
                        x4.reshape(b, t, c),
                    ),
                    Mistake(
                        "the axes are in the wrong order: (B, h, T, d_k) -> (B, T, h, d_k) -> "
                        "(B, T, h * d_k), so that head i is features i*d_k .. (i+1)*d_k - 1",
                        x4.transpose(0, 2, 3, 1).reshape(b, t, c),
                    ),
                ],
            )
            split_x = g.call(split, x, h)
            if np.shape(split_x) == (b, h, t, d):
                g.close("merge_heads(split_heads(x)) == x", g.call(merge, split_x), x)


def _gradient_check(g: Grader, cls: type) -> None:
    """The learner's backward against finite differences of the learner's forward (float64)."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 4))
    r = rng.standard_normal((2, 3, 4))
    mask = attention.causal_mask(3)
    layer = _layer(cls, 4, 2, 7, rng.standard_normal((4, 4)) * 0.5)
    with g.case("gradient check: x (2, 3, 4), 2 heads, causal mask"):
        g.call(layer.forward, x, mask)
        dx = g.call(layer.backward, r)
        analytic = {k: np.copy(v) for k, v in layer.grads.items()}

        def loss(_: np.ndarray) -> float:
            return float(np.sum(np.asarray(layer.forward(x, mask)) * r))

        def loss_x(v: np.ndarray) -> float:
            return float(np.sum(np.asarray(layer.forward(v, mask)) * r))

        for f in (loss, loss_x):
            f.__name__ = f.__qualname__ = FORWARD
        if np.shape(dx) == x.shape:
            g.gradcheck(f"{BACKWARD}: dx", loss_x, x.copy(), dx)
        for key, p in layer.params.items():
            if np.shape(analytic[key]) != p.shape:
                continue  # the parity checks named the wrong shape
            what = f'{BACKWARD}: grads["{key}"]'
            if key == "b_k":
                numeric = numerical_gradient(lambda v: float(g.call(loss, v)), p)
                _close_to_zero(g, f"{what} (gradient check)", analytic[key], numeric, analytic)
            else:
                g.gradcheck(what, loss, p, analytic[key])


def grade(g: Grader) -> None:
    _split_merge(g)
    cls = g.function("MultiHeadSelfAttention")
    for case in CASES:
        _one_case(g, cls, *case)
    _gradient_check(g, cls)
    with g.case("float32 x (2, 3, 8), 2 heads"):
        layer = cls(8, 2, rng=np.random.default_rng(8))
        x32 = np.random.default_rng(8).standard_normal((2, 3, 8)).astype(np.float32)
        g.same_dtype(f"{FORWARD}: y", g.call(layer.forward, x32), np.float32)
        g.same_dtype(f"{BACKWARD}: dx", g.call(layer.backward, np.ones_like(x32)), np.float32)


EXERCISE = Exercise(
    name="multi-head-attention",
    module=3,
    number=3,
    title="Multi-head self-attention, forward and backward",
    concept="Multi-head attention",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "split_heads: x.reshape(B, T, h, d_k) cuts each position's features into h consecutive "
        "pieces; .transpose(0, 2, 1, 3) then moves the head axis in front of time. merge_heads "
        "undoes both, in reverse order.",
        "forward: q = self.split_heads(self.proj['q'].forward(x)), the same for k and v; then "
        "heads, weights = scaled_dot_product_attention(q, k, v, mask); keep (q, k, v, weights); "
        "return self.proj['o'].forward(self.merge_heads(heads)).",
        "backward, in reverse: d_heads = self.split_heads(self.proj['o'].backward(dout)) (the "
        "backward of a merge is a split), then dq, dk, dv = "
        "scaled_dot_product_attention_backward(d_heads, q, k, v, weights).",
        "Finally each projection's backward gets its merged gradient, and the three dx add up: "
        "dx = self.proj['q'].backward(self.merge_heads(dq)) + ... for k and v.",
    ),
)
