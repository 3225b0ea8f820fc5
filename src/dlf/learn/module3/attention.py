"""Exercise ``attention``: scaled dot-product attention with a boolean mask, forward and backward.

Reference: :func:`dlf.scratch.attention.scaled_dot_product_attention` and
:func:`dlf.scratch.attention.scaled_dot_product_attention_backward` (the solution is their bodies).
"""

from __future__ import annotations

import math

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, LearnerError, Mistake
from dlf.learn.source import fill_bodies
from dlf.scratch import attention

STUB = '''"""Exercise attention: scaled dot-product attention with a mask, forward and backward.

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V        (Vaswani et al. 2017, eq. 1)

Masks are boolean with PyTorch's convention: True where attention is ALLOWED, False where it
is not (a causal mask is lower-triangular True; a padding mask is False at padded keys).
NumPy only, no Python loop. Check with `dlf learn check attention` after each save.
"""

import math

import numpy as np


def scaled_dot_product_attention(q, k, v, mask=None):
    """out = A V with A = softmax(Q K^T / sqrt(d_k)), the softmax over the keys (last axis).

    Masked entries (mask False) get weight exactly 0 and take no part in the softmax, so each
    row of A still sums to 1 over its allowed keys: exclude them BEFORE normalising (e.g. a
    score of -inf, or exp set to 0), not after. A query row whose keys are ALL masked attends
    to nothing: its weights and its output are all 0 (not NaN). Subtract each row's largest
    (allowed) score before np.exp, or large scores overflow.
    Leading (batch, head) dimensions are any: K^T is np.swapaxes(k, -1, -2) (k.T would reverse
    every axis of a 3-D or 4-D array).
    Shapes: q (..., L, d_k), k (..., S, d_k), v (..., S, d_v); mask None or boolean,
    broadcastable to (..., L, S) -> (out (..., L, d_v), A (..., L, S)), in the dtype of q.
    Checked: out and A against dlf's (float64, relative error <= 1e-7) without a mask and with
    causal, padding and random masks, batch and head dimensions, rows of A summing to 1,
    masked weights exactly 0, fully masked rows, large scores, float32 kept, no loop.
    """
    raise NotImplementedError


def scaled_dot_product_attention_backward(dout, q, k, v, weights):
    """The gradients (dq, dk, dv) of a loss L through the forward, given dout = dL/dout and
    the weights A that the forward returned.

    With S = Q K^T / sqrt(d_k), A = softmax(S) row by row, out = A V:

        dV = A^T dout        dA = dout V^T
        dS = A * (dA - rowsum(dA * A))        (the softmax's backward, each row on its own)
        dQ = dS K / sqrt(d_k)                 dK = dS^T Q / sqrt(d_k)

    (^T swaps the last two axes.) Masked entries have A = 0, so no gradient flows through them:
    the mask is not needed here.
    Shapes: dout (..., L, d_v), q, k, v, weights as in the forward
            -> (dq, dk, dv), each shaped like q, k, v.
    Checked: dq, dk, dv against dlf's (float64, relative error <= 1e-7) on the cases of the
    forward (given dlf's weights), a gradient check against finite differences of your forward
    with and without a mask, float32 kept, no loop.
    """
    raise NotImplementedError
'''

SOLUTION = fill_bodies(
    STUB,
    {
        "scaled_dot_product_attention": attention.scaled_dot_product_attention,
        "scaled_dot_product_attention_backward": attention.scaled_dot_product_attention_backward,
    },
)

FORWARD_NAME = "scaled_dot_product_attention"
BACKWARD_NAME = "scaled_dot_product_attention_backward"


def _swap(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def _random_mask(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """A random boolean mask whose every row has an allowed key and a masked one."""
    mask = rng.random(shape) < 0.5
    rows = np.indices(shape[:-1])
    s = shape[-1]
    first = rng.integers(0, s, shape[:-1])
    mask[(*rows, first)] = True
    mask[(*rows, (first + 1 + rng.integers(0, s - 1, shape[:-1])) % s)] = False
    return mask


def _cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]]:
    """(description, q, k, v, mask); the first has L = S = d_k, where a K^T missing runs."""
    cases = []
    specs = (  # (description, lead, L, S, d_k, d_v, mask kind, seed)
        ("L = S = d_k, batch 2", (2,), 4, 4, 4, 3, None, 0),
        ("2-D, L != S", (), 3, 5, 4, 2, None, 1),
        ("batch 2, 3 heads", (2, 3), 4, 6, 8, 5, None, 2),
        ("causal mask (T, T), batch 2, 2 heads", (2, 2), 5, 5, 4, 3, "causal", 3),
        ("random mask (B, 1, L, S), batch 2, 2 heads", (2, 2), 4, 6, 3, 2, "random", 4),
        ("padding mask (B, 1, 1, S), lengths [6, 3]", (2, 2), 4, 6, 4, 3, "padding", 5),
        ("one query, causal mask, batch 1", (1,), 1, 1, 4, 2, "causal", 6),
        ("large scores (up to ~1600)", (2,), 3, 4, 4, 2, "large", 7),
        (
            "a fully masked row: padding mask, lengths [4, 0]",
            (2, 2),
            3,
            4,
            4,
            3,
            "empty",
            8,
        ),
    )
    for on, lead, n_q, n_k, d_k, d_v, kind, seed in specs:
        rng = np.random.default_rng(seed)
        q = rng.standard_normal((*lead, n_q, d_k))
        k = rng.standard_normal((*lead, n_k, d_k))
        v = rng.standard_normal((*lead, n_k, d_v))
        mask = None
        if kind == "causal":
            mask = attention.causal_mask(n_q)
        elif kind == "random":
            mask = _random_mask(rng, (lead[0], 1, n_q, n_k))
        elif kind == "padding":
            mask = attention.padding_mask([6, 3], n_k)[:, None, None, :]
        elif kind == "empty":
            mask = attention.padding_mask([4, 0], n_k)[:, None, None, :]
        elif kind == "large":
            q = q * 40.0
            k = k * 40.0
        cases.append((on, q, k, v, mask))
    return cases


def _forward_mistakes(q, k, v, mask) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Known wrong forwards: (message, out, A), each the value of a particular wrong program."""
    sdpa = attention.scaled_dot_product_attention
    d = q.shape[-1]
    found = [
        (
            "the 1/sqrt(d_k) scale is missing: scores = Q K^T / sqrt(d_k)",
            *sdpa(q * d**0.5, k, v, mask),
        ),
        ("the scores are divided by d_k: divide by sqrt(d_k)", *sdpa(q / d**0.5, k, v, mask)),
    ]
    scores_shape = (*q.shape[:-1], k.shape[-2])
    full = None if mask is None else np.broadcast_to(mask, scores_shape)
    # the softmax over the queries: that of the transposed problem (K Q^T), transposed back
    cols = _swap(sdpa(k, q, q, None if full is None else _swap(full))[1])
    found.append(
        (
            "the softmax is over the wrong axis (each column sums to 1): normalise over the keys, "
            "axis=-1",
            cols @ v,
            cols,
        )
    )
    if k.shape[-2] == k.shape[-1]:
        found.append(
            (
                "K is not transposed: scores = Q K^T (np.swapaxes(k, -1, -2)), not Q K",
                *sdpa(q, _swap(k), v, mask),
            )
        )
    if mask is not None:
        after = sdpa(q, k, v)[1] * full
        found.append(
            (
                "the mask is applied after the softmax (rows no longer sum to 1): exclude the "
                "masked scores before normalising (-inf, or exp set to 0)",
                after @ v,
                after,
            )
        )
        found.append(
            (
                "the mask is inverted: True means allowed (attend), False means masked",
                *sdpa(q, k, v, ~full),
            )
        )
        out, weights = sdpa(q, k, v, mask)
        empty = ~full.any(axis=-1)
        if empty.any():  # a large negative fill instead of -inf: uniform weights
            uniform = np.where(empty[..., None], 1.0 / k.shape[-2], weights)
            found.append(
                (
                    "a row with every key masked must give weights 0 and output 0: a large "
                    "negative score (e.g. -1e9) instead of excluding the keys gives it "
                    "uniform weights",
                    uniform @ v,
                    uniform,
                )
            )
    return found


def _naive(q, k, v, mask, shift: bool) -> tuple[np.ndarray, np.ndarray]:
    """(out, A) of a softmax with no special case: masked scores -inf, then exp(s - max) (or
    exp(s) without ``shift``) over the row sum. NaN in a row with every key masked (0/0), and,
    unshifted, where exp overflows (inf/inf); elsewhere the right values."""
    with np.errstate(all="ignore"):
        scores = q @ _swap(k) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        if shift:
            scores = scores - scores.max(axis=-1, keepdims=True)
        e = np.exp(scores)
        weights = e / e.sum(axis=-1, keepdims=True)
        return weights @ v, weights


def _nan_mistakes(q, k, v, mask) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Known forwards that give NaN on this input: (message, out, A), NaN where they have it."""
    found = []
    if mask is not None:
        full = np.broadcast_to(mask, (*q.shape[:-1], k.shape[-2]))
        if (~full.any(axis=-1)).any():
            found.append(
                (
                    "a row with every key masked gives NaN (0/0): such a row must give weights "
                    "0 and output 0, e.g. divide by the row sum only where it is > 0",
                    *_naive(q, k, v, full, shift=True),
                )
            )
        if (full.all(axis=-1)).any():
            found.append(
                (
                    "NaN: with the mask inverted, some rows have every key masked (0/0); True "
                    "means allowed",
                    *_naive(q, k, v, ~full, shift=True),
                )
            )
    elif np.abs(q).max() * np.abs(k).max() > 100:
        found.append(
            (
                "exp overflowed: subtract each row's largest score before np.exp (softmax(s) = "
                "softmax(s - max s))",
                *_naive(q, k, v, None, shift=False),
            )
        )
    return found


def _backward_mistakes(dout, q, k, v, weights) -> tuple[list[Mistake], ...]:
    """Known wrong dq, dk, dv."""
    scale = 1.0 / math.sqrt(q.shape[-1])
    d_weights = dout @ _swap(v)
    no_term = weights * d_weights * scale
    mq = [
        Mistake(
            "the softmax backward lacks its second term: dS = A * (dA - rowsum(dA * A))",
            no_term @ k,
        )
    ]
    mk = [Mistake(mq[0].message, _swap(no_term) @ q)]
    mv = []
    d_scores = weights * (d_weights - np.sum(d_weights * weights, axis=-1, keepdims=True)) * scale
    if q.shape[-2] == k.shape[-2]:
        mv.append(
            Mistake("dV = A^T dout: A is transposed (np.swapaxes(A, -1, -2))", weights @ dout)
        )
        mk.append(Mistake("dK = dS^T Q: dS is transposed (np.swapaxes(dS, -1, -2))", d_scores @ q))
        mq.append(Mistake("dQ = dS K, not dS^T K", _swap(d_scores) @ k))
    return mq, mk, mv


def _call(g: Grader, fn, *args):
    """g.call, naming ``.T`` on a batched array when the learner's code raised on that line."""
    try:
        return g.call(fn, *args)
    except LearnerError as err:
        if ".T" in str(err) and args[0].ndim > 2:
            err.args = (
                f"{err}\n    likely mistake: .T reverses EVERY axis of a batched array; swap "
                "the last two only: np.swapaxes(k, -1, -2)",
            )
        raise


def grade(g: Grader) -> None:
    forward = g.function(FORWARD_NAME)
    backward = g.function(BACKWARD_NAME)
    g.no_loops(forward)
    g.no_loops(backward)
    for index, (on, q, k, v, mask) in enumerate(_cases()):
        want_out, want_a = attention.scaled_dot_product_attention(q, k, v, mask)
        wrong = _forward_mistakes(q, k, v, mask) + _nan_mistakes(q, k, v, mask)
        label = f"{on}: q {q.shape}, k {k.shape}, v {v.shape}" + (
            "" if mask is None else f", mask {mask.shape}"
        )
        with g.case(label):
            args = (q, k, v) if mask is None else (q, k, v, mask)
            out, a = g.returns(_call(g, forward, *args), 2, "(out, A)")
            g.close(
                f"{FORWARD_NAME}: out",
                out,
                want_out,
                mistakes=[Mistake(m, o) for m, o, _ in wrong],
            )
            g.close(
                f"{FORWARD_NAME}: A (weights)",
                a,
                want_a,
                mistakes=[Mistake(m, w) for m, _, w in wrong],
            )
            if np.shape(a) == want_a.shape:
                _weight_properties(g, np.asarray(a, dtype=np.float64), mask)

            dout = np.random.default_rng(100 + index).standard_normal(want_out.shape)
            want = attention.scaled_dot_product_attention_backward(dout, q, k, v, want_a)
            got = g.returns(g.call(backward, dout, q, k, v, want_a), 3, "(dq, dk, dv)")
            d = q.shape[-1]
            for name, got_grad, want_grad, mistakes in zip(
                ("dq", "dk", "dv"),
                got,
                want,
                _backward_mistakes(dout, q, k, v, want_a),
                strict=True,
            ):
                g.close(
                    f"{BACKWARD_NAME}: {name}",
                    got_grad,
                    want_grad,
                    mistakes=mistakes,
                    factors={"sqrt(d_k)": math.sqrt(d), "d_k": d},
                )

    _gradient_checks(g, forward, backward)

    rng = np.random.default_rng(11)
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 2)))
    mask = _random_mask(rng, (2, 3, 5))
    with g.case("float32 q (2, 3, 4), k (2, 5, 4), v (2, 5, 2), random mask"):
        out, a = g.returns(g.call(forward, q, k, v, mask), 2, "(out, A)")
        g.same_dtype(f"{FORWARD_NAME}: out", out, np.float32)
        g.same_dtype(f"{FORWARD_NAME}: A", a, np.float32)
        dout = np.ones(out.shape, np.float32)
        dq, dk, dv = g.returns(g.call(backward, dout, q, k, v, np.asarray(a)), 3, "(dq, dk, dv)")
        g.same_dtype(f"{BACKWARD_NAME}: dq", dq, np.float32)
        g.same_dtype(f"{BACKWARD_NAME}: dk", dk, np.float32)
        g.same_dtype(f"{BACKWARD_NAME}: dv", dv, np.float32)


def _weight_properties(g: Grader, a: np.ndarray, mask: np.ndarray | None) -> None:
    """Rows of A sum to 1 (0 if fully masked) and masked keys get exactly 0."""
    full = np.ones(a.shape, bool) if mask is None else np.broadcast_to(mask, a.shape)
    rows = full.any(axis=-1)
    sums = a.sum(axis=-1)
    off = np.abs(sums - rows)
    worst = int(np.argmax(off)) if off.size else 0
    g.check(
        "each row of A sums to 1 (0 where every key is masked)",
        off.size == 0 or off.max() <= 1e-10,
        f"a row sums to {sums.flat[worst]:.6g}" if off.size else "",
        ""
        if mask is None
        else "a row with every key masked attends to nothing: its weights are all 0"
        if not rows.flat[worst]
        else "normalise over the allowed keys only, after masking",
    )
    if mask is not None:
        leaked = np.abs(a[~full]).max(initial=0.0)
        g.check(
            "A is exactly 0 where the mask is False",
            leaked == 0,
            f"a masked entry has weight {leaked:.3g}",
            "masked keys must take no part: set their scores to -inf (or their exp to 0) "
            "before normalising; True in the mask means allowed",
        )


def _loss(forward, inputs: list, i: int, dout: np.ndarray):
    """v -> sum(out * dout), with the learner's forward and v in place of inputs[i]."""

    def loss(v: np.ndarray) -> float:
        out, _ = forward(*inputs[:i], v, *inputs[i + 1 :])
        return float(np.sum(np.asarray(out) * dout))

    loss.__name__ = loss.__qualname__ = FORWARD_NAME
    return loss


def _gradient_checks(g: Grader, forward, backward) -> None:
    """The learner's backward against finite differences of the learner's forward."""
    rng = np.random.default_rng(9)
    q, k, v = (rng.standard_normal(s) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 3)))
    dout = rng.standard_normal((2, 3, 3))
    for on, mask in (("no mask", None), ("random mask (2, 3, 5)", _random_mask(rng, (2, 3, 5)))):
        with g.case(f"gradient check, {on}: q {q.shape}, k {k.shape}, v {v.shape}"):
            out, a = g.returns(g.call(forward, q, k, v, mask), 2, "(out, A)")
            got = g.returns(g.call(backward, dout, q, k, v, np.asarray(a)), 3, "(dq, dk, dv)")
            inputs = [q, k, v, mask]
            for i, name in enumerate(("dq", "dk", "dv")):
                if np.shape(got[i]) == inputs[i].shape:  # else the parity checks named it
                    loss = _loss(forward, inputs, i, dout)
                    g.gradcheck(f"{BACKWARD_NAME}: {name}", loss, inputs[i].copy(), got[i])


EXERCISE = Exercise(
    name="attention",
    module=3,
    number=2,
    title="Scaled dot-product attention with a mask, forward and backward",
    concept="Scaled dot-product attention",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1]): shape (..., L, S), one "
        "score per query and key. Then a softmax along the last axis, then weights @ v.",
        "The mask goes in BEFORE the softmax: masked = np.where(mask, scores, -np.inf). "
        "Subtract the row maximum, exponentiate, divide by the row sum.",
        "A fully masked row is all -inf: its maximum is -inf and exp gives 0/0. Replace a "
        "non-finite row maximum by 0, set e = np.where(mask, e, 0), and divide by the row sum "
        "only where it is > 0 (np.where(total > 0, total, 1)).",
        "Backward: dv = swapaxes(A) @ dout; dA = dout @ swapaxes(v); dS = A * (dA - (dA * "
        "A).sum(axis=-1, keepdims=True)) / sqrt(d_k); dq = dS @ k; dk = swapaxes(dS) @ q.",
    ),
)
