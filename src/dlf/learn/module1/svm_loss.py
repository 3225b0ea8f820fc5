"""Exercise ``svm-loss``: the multiclass SVM (hinge) loss, with loops and then vectorised.

Reference: :func:`dlf.scratch.losses.svm_loss` and :func:`dlf.scratch.losses.l2_penalty`.
"""

from __future__ import annotations

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake
from dlf.learn.source import fill_bodies
from dlf.scratch import losses

STUB = '''"""Exercise svm-loss: the multiclass SVM loss of a linear classifier (CS231n's hinge).

Write it twice: first with loops, the way the formula reads, then vectorised, the way dlf and
every library compute it. Check with `dlf learn check svm-loss` after each save.
"""

import numpy as np


def svm_loss_naive(W, X, y, reg):
    """The SVM loss of scores S = X W and its gradient with respect to W, with explicit loops.

    For sample i and every class j != y_i, the margin is  m_ij = max(0, s_ij - s_iy_i + 1).

        L     = 1/N sum_i sum_{j != y_i} m_ij  +  reg/2 * sum(W**2)
        dL/dW = X^T dS + reg * W,   dS_ij = [m_ij > 0] / N for j != y_i,
                                    dS_iy_i = -(number of positive margins in row i) / N

    Shapes: W (D, C), X (N, D), y (N,) ints in [0, C), reg a float
            -> (loss: float, dW: (D, C)). Loops over samples and classes are fine here.
    Checked: loss and dW against dlf's vectorised loss (float64, relative error <= 1e-7) on
    several shapes and seeds, a batch of one sample, and inputs left unchanged.
    """
    raise NotImplementedError


def svm_loss(scores, y, margin=1.0):
    """The data part of the same loss, on given scores, vectorised: no Python loop at all.

        L = 1/N sum_i sum_{j != y_i} max(0, s_ij - s_iy_i + margin)
        dL/ds_ij = [margin_ij > 0] / N  (j != y_i);   dL/ds_iy_i = -(positive margins in row i) / N

    Shapes: scores (N, C) floats, y (N,) ints in [0, C) -> (loss: float, dscores: (N, C)),
    dscores in the dtype of scores.
    Checked: against dlf on several shapes and seeds, a batch of one, margins exactly at zero
    (a margin of 0 adds no gradient), float32 in -> float32 out, and no for/while/comprehension.
    """
    raise NotImplementedError
'''

NAIVE = """
N, C = X.shape[0], W.shape[1]
loss = 0.0
dW = np.zeros_like(W)
for i in range(N):
    scores = X[i] @ W
    for j in range(C):
        if j == y[i]:
            continue
        margin = scores[j] - scores[y[i]] + 1
        if margin > 0:
            loss += margin
            dW[:, j] += X[i]
            dW[:, y[i]] -= X[i]
loss = loss / N + 0.5 * reg * np.sum(W * W)
dW = dW / N + reg * W
return loss, dW
"""

SOLUTION = fill_bodies(STUB, {"svm_loss_naive": NAIVE, "svm_loss": losses.svm_loss})

CASES = ((5, 4, 3, 0), (1, 3, 4, 1), (16, 10, 7, 2))  # (N, D, C, seed)


def _data(n: int, d: int, c: int, seed: int):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((d, c)) * 0.5
    X = rng.standard_normal((n, d))
    y = rng.integers(0, c, n)
    return W, X, y


def _score_mistakes(scores: np.ndarray, y: np.ndarray) -> tuple[list[Mistake], list[Mistake]]:
    """Known wrong (loss, dscores) pairs of the data loss, each named."""
    n = len(y)
    loss, ds = losses.svm_loss(scores, y)
    rows = np.arange(n)
    no_true_column = ds.copy()
    no_true_column[rows, y] = 0
    ge = (scores - scores[rows, y][:, None] + 1 >= 0).astype(float)
    ge[rows, y] = 0
    ge[rows, y] = -ge.sum(axis=1)
    every = np.ones_like(scores)
    every[rows, y] = -scores.shape[1]
    return (
        [
            Mistake("forgot to divide by N", loss * n),
            Mistake("counted the correct class's own margin (it adds 1 per sample)", loss + 1),
        ],
        [
            Mistake("forgot to divide by N", ds * n),
            Mistake(
                "the correct class gets no gradient: for each positive margin, "
                "ds[i, y_i] -= 1 (dW[:, y_i] -= x_i)",
                no_true_column,
            ),
            Mistake("a margin of exactly 0 counted as positive (>= instead of >)", ge / n),
            Mistake(
                "margins clipped at 0 then tested with >= 0: every class gets gradient; "
                "count only margins > 0",
                every / n,
            ),
        ],
    )


def grade(g: Grader) -> None:
    naive = g.function("svm_loss_naive")
    for n, d, c, seed in CASES:
        W, X, y = _data(n, d, c, seed)
        reg = 0.1
        data_loss, ds = losses.svm_loss(X @ W, y)
        penalty, dpen = losses.l2_penalty({"W": W}, reg)
        loss_mistakes, ds_mistakes = _score_mistakes(X @ W, y)
        with g.case(f"W {W.shape}, X {X.shape}, reg {reg}, seed {seed}"):
            loss, dW = g.call(naive, W, X, y, reg)
            g.close(
                "svm_loss_naive: loss",
                loss,
                data_loss + penalty,
                mistakes=[
                    *(Mistake(m.message, m.value + penalty) for m in loss_mistakes),
                    Mistake("the regularisation term reg/2 * sum(W**2) is missing", data_loss),
                    Mistake(
                        "the penalty is reg/2 * sum(W**2), not reg * sum(W**2)",
                        data_loss + 2 * penalty,
                    ),
                ],
            )
            g.close(
                "svm_loss_naive: dW",
                dW,
                X.T @ ds + dpen["W"],
                mistakes=[
                    *(Mistake(m.message, X.T @ m.value + dpen["W"]) for m in ds_mistakes),
                    Mistake("the regularisation gradient reg * W is missing", X.T @ ds),
                ],
            )

    vectorised = g.function("svm_loss")
    g.no_loops(vectorised)
    ties = np.array([[0.0, -1.0, 2.0, -1.0], [3.0, 2.0, 2.0, 4.0]])  # margins of exactly 0
    cases = [
        (f"scores {s.shape}, seed {seed}", s, y)
        for s, y, seed in (
            (X @ W, y, seed) for (W, X, y), seed in ((_data(*c), c[3]) for c in CASES)
        )
    ]
    cases.append(("scores with margins exactly 0", ties, np.array([0, 1])))
    for on, scores, y in cases:
        want_loss, want_ds = losses.svm_loss(scores, y)
        loss_mistakes, ds_mistakes = _score_mistakes(scores, y)
        with g.case(on):
            loss, dscores = g.call(vectorised, scores, y)
            g.close("svm_loss: loss", loss, want_loss, mistakes=loss_mistakes)
            g.close("svm_loss: dscores", dscores, want_ds, mistakes=ds_mistakes)
    with g.case("float32 scores (3, 5)"):
        scores32 = np.random.default_rng(3).standard_normal((3, 5)).astype(np.float32)
        _, ds32 = g.call(vectorised, scores32, np.array([0, 4, 2]))
        g.same_dtype("dscores", ds32, np.float32)


EXERCISE = Exercise(
    name="svm-loss",
    module=1,
    number=1,
    title="The multiclass SVM loss, with loops and vectorised",
    concept="Linear classifiers: SVM and softmax",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "Start from the loops: for each sample, compute its scores x_i W, then visit every "
        "wrong class j and add max(0, s_j - s_y + 1). Divide the sum by N at the end.",
        "Each positive margin pushes two columns of dW: +x_i into column j and -x_i into "
        "column y_i. Then divide by N and add reg * W (the derivative of reg/2 * sum(W**2)).",
        "Vectorised: margins = np.maximum(0, scores - scores[np.arange(N), y][:, None] + 1), "
        "then set margins[np.arange(N), y] = 0 before summing.",
        "The gradient: (margins > 0) as floats; in each row, the correct column gets minus the "
        "row's count of positive margins; divide everything by N.",
    ),
)
