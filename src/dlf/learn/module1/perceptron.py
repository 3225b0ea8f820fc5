"""Exercise ``perceptron``: one mini-batch of the multiclass perceptron rule, in place.

Reference: :func:`dlf.scratch.classifiers.perceptron.perceptron_step`, the step that
``Perceptron.fit`` takes for each mini-batch (the solution is its body).
"""

from __future__ import annotations

import numpy as np

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Grader, Mistake
from dlf.learn.source import fill_bodies
from dlf.scratch.classifiers import perceptron_step

STUB = '''"""Exercise perceptron: the learning rule of the multiclass perceptron (Rosenblatt, 1958).

One weight vector per class (the columns of W) and a bias per class; the prediction is the class
of highest score. The rule learns from mistakes only. dlf's Perceptron.fit calls this step once
per mini-batch. Check with `dlf learn check perceptron` after each save.
"""

import numpy as np


def perceptron_step(W, b, X, y, lr):
    """Apply the perceptron rule for one mini-batch to W and b IN PLACE; return the mistakes.

    Every prediction comes from the W and b before the step (the smallest class among ties):

        y_hat_i = argmax_c (X W + b)_ic

    For each mistake (y_hat_i != y_i), and only for mistakes:

        W[:, y_i]     += lr * x_i      b[y_i]     += lr     (pull the true class up)
        W[:, y_hat_i] -= lr * x_i      b[y_hat_i] -= lr     (push the winning wrong class down)

    Summed over the batch, with Delta_i = lr * (onehot(y_i) - onehot(y_hat_i)), a row of zeros
    for a correct sample:  W += X^T Delta,  b += sum_i Delta_i.
    Shapes: W (D, C) and b (C,) floats, changed in place (W += ..., not W = W + ...: the caller
    keeps its arrays); X (B, D) floats, y (B,) ints in [0, C), lr a float
    -> the number of misclassified rows of X (an int).
    Checked: the change of W, the change of b and the count against dlf (float64, relative error
    <= 1e-7) on several shapes, seeds and learning rates, a batch of one, zero weights (every
    score ties), a batch with no mistake; X and y left unchanged.
    """
    raise NotImplementedError
'''

SOLUTION = fill_bodies(STUB, {"perceptron_step": perceptron_step})

CASES = ((8, 4, 3, 0, 1.0), (1, 3, 4, 1, 0.5), (12, 5, 4, 2, 0.1), (20, 6, 5, 3, 0.3))

NOT_IN_PLACE = (
    "did not change: update it in place ({0} += ... or {0}[...] = ...): {0} = {0} + ... makes a "
    "new array that the caller never sees"
)


def _step(W: np.ndarray, b: np.ndarray, X: np.ndarray, y: np.ndarray, lr: float):
    """The reference step on copies: (change of W, change of b, number of mistakes)."""
    W2, b2 = W.copy(), b.copy()
    count = perceptron_step(W2, b2, X, y, lr)
    return W2 - W, b2 - b, count


def _update(X: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return X.T @ delta, delta.sum(axis=0)


def _mistakes(W, b, X, y, lr) -> tuple[list[Mistake], list[Mistake], list[Mistake]]:
    """Known wrong (change of W, change of b, count), each named."""
    B, C = len(X), W.shape[1]
    rows = np.arange(B)
    pred = (X @ W + b).argmax(axis=1)
    dW, db, count = _step(W, b, X, y, lr)

    every = np.zeros((B, C))  # the masked rule's assignments on every row: on a correct row,
    every[rows, y] = lr  # the second one overwrites the first, pushing the true class down
    every[rows, pred] = -lr
    pull_only = np.zeros((B, C))
    wrong = pred != y
    pull_only[rows[wrong], y[wrong]] = lr
    no_bias_pred = (X @ W).argmax(axis=1)
    no_bias = np.zeros((B, C))
    nb_wrong = no_bias_pred != y
    no_bias[rows[nb_wrong], y[nb_wrong]] = lr
    no_bias[rows[nb_wrong], no_bias_pred[nb_wrong]] = -lr

    Ws, bs = W.copy(), b.copy()  # the online rule: a new prediction after each sample
    online_count = 0
    for i in range(B):
        p = int(np.argmax(X[i] @ Ws + bs))
        if p != y[i]:
            online_count += 1
            Ws[:, y[i]] += lr * X[i]
            Ws[:, p] -= lr * X[i]
            bs[y[i]] += lr
            bs[p] -= lr

    named = [
        ("updated every sample, not only the mistakes: skip rows where y_hat == y", every),
        ("only the true class was pulled up: also push the predicted class down (-lr)", pull_only),
        ("the predictions ignore the bias: y_hat = argmax(X W + b)", no_bias),
    ]
    sign = "the sign is flipped: pushed the true class down; +lr goes to y, -lr to y_hat"
    sequential = (
        "updated W after each sample: every prediction of the batch comes from the W before "
        "the step (W += X^T Delta once)"
    )
    w_mistakes = [
        Mistake("W " + NOT_IN_PLACE.format("W"), np.zeros_like(W)),
        Mistake(sign, -dW),
        Mistake("the step lr is missing: W += lr * X^T (onehot(y) - onehot(y_hat))", dW / lr),
        Mistake("applied lr twice", dW * lr),
        Mistake(sequential, Ws - W),
        *(Mistake(m, _update(X, d)[0]) for m, d in named),
    ]
    b_mistakes = [
        Mistake(
            "b " + NOT_IN_PLACE.format("b") + "; or the bias update was forgotten", np.zeros_like(b)
        ),
        Mistake(sign, -db),
        Mistake("the bias moves by lr too: b[y] += lr, b[y_hat] -= lr", db / lr),
        Mistake("applied lr twice", db * lr),
        Mistake(sequential, bs - b),
        *(Mistake(m, _update(X, d)[1]) for m, d in named),
    ]
    count_mistakes = [
        Mistake("returned None: return the number of mistakes", np.nan),
        Mistake("counted every sample: count only the rows where y_hat != y", B),
        Mistake("counted the correct predictions: count the rows where y_hat != y", B - count),
        Mistake("the predictions ignore the bias: y_hat = argmax(X W + b)", int(nb_wrong.sum())),
        Mistake(sequential, online_count),
    ]
    return w_mistakes, b_mistakes, count_mistakes


def _cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]]:
    cases = []
    for n, d, c, seed, lr in CASES:
        rng = np.random.default_rng(seed)
        W, b = 0.5 * rng.standard_normal((d, c)), 0.5 * rng.standard_normal(c)
        X, y = rng.standard_normal((n, d)), rng.integers(0, c, n)
        if n == 1:  # make the single sample a mistake
            y = (np.argmax(X @ W + b, axis=1) + 1) % c
        cases.append((f"W {W.shape}, X {X.shape}, lr {lr}, seed {seed}", W, b, X, y, lr))
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((6, 3)), np.array([0, 1, 2, 3, 1, 0])
    cases.append(
        ("zero W (3, 4) and b: every score ties", np.zeros((3, 4)), np.zeros(4), X, y, 1.0)
    )
    W, b = rng.standard_normal((3, 4)), rng.standard_normal(4)
    X = rng.standard_normal((5, 3))
    y = np.argmax(X @ W + b, axis=1)
    cases.append(("a batch with no mistake, X (5, 3)", W, b, X, y, 1.0))
    return cases


def grade(g: Grader) -> None:
    step = g.function("perceptron_step")
    for on, W0, b0, X, y, lr in _cases():
        want_dW, want_db, want_count = _step(W0, b0, X, y, lr)
        w_mistakes, b_mistakes, count_mistakes = _mistakes(W0, b0, X, y, lr)
        W, b, X_before, y_before = W0.copy(), b0.copy(), X.copy(), y.copy()
        with g.case(on):
            count = g.call_inplace(step, W, b, X, y, lr)
            g.close("the change of W", W - W0, want_dW, mistakes=w_mistakes)
            g.close("the change of b", b - b0, want_db, mistakes=b_mistakes)
            g.close("the number of mistakes", count, want_count, mistakes=count_mistakes)
            unchanged = np.array_equal(X, X_before) and np.array_equal(y, y_before)
            g.check(
                "X and y are left unchanged",
                unchanged,
                "X or y was modified",
                "an in-place operation on X or y: only W and b change",
            )


EXERCISE = Exercise(
    name="perceptron",
    module=1,
    number=4,
    title="The perceptron's learning rule, one mini-batch at a time",
    concept="The perceptron",
    stub=STUB,
    solution=SOLUTION,
    grade=grade,
    hints=(
        "First the predictions of the whole batch, from the weights before any change: "
        "pred = np.argmax(X @ W + b, axis=1). The mistakes are the rows where pred != y.",
        "Build Delta, a (B, C) array of zeros; on each wrong row put +lr in the column of the "
        "true class and -lr in the column of the predicted class (fancy indexing with the wrong "
        "rows). Correct rows stay zero.",
        "Then W += X.T @ Delta and b += Delta.sum(axis=0): += writes into the caller's arrays, "
        "W = W + ... would only rebind your local name.",
        "Return int((pred != y).sum()). Predictions taken one sample at a time, after each "
        "update, give a different (online) rule: compute them all before updating.",
    ),
)
