"""The multiclass perceptron (Rosenblatt, 1958; the multiclass form of Crammer & Singer, 2003).

One weight vector per class, the columns of ``W`` (D, C), and a bias ``b`` (C,). The prediction is
the class of highest score, ``y_hat = argmax_c (x W + b)_c``. The learning rule touches only the
mistakes: for a sample ``(x, y)`` with ``y_hat != y``,

    w_y     <- w_y     + lr * x,      b_y     <- b_y     + lr
    w_y_hat <- w_y_hat - lr * x,      b_y_hat <- b_y_hat - lr

(pulling the true class's score up and the wrongly winning one down); correct samples change
nothing. The classic rule applies this after every sample (``batch_size=1``). Vectorised, we
apply it per mini-batch: predictions for the whole batch come from the same ``W``, and the summed
updates are one matrix product,

    W <- W + lr * X_B^T (onehot(y) - onehot(y_hat))
    b <- b + lr * sum over rows of (onehot(y) - onehot(y_hat))

(rows of correct samples are zero). This is gradient descent with step ``lr`` on the summed
perceptron loss ``max_c s_c - s_y``. On linearly separable data both forms stop making mistakes
after finitely many updates (Novikoff's bound); on other data they keep cycling, so we also keep
the weights of the epoch with fewest training mistakes ("pocket" algorithm, Gallant, 1990).
"""

from __future__ import annotations

import numpy as np


def perceptron_step(W: np.ndarray, b: np.ndarray, X: np.ndarray, y: np.ndarray, lr: float) -> int:
    """One mini-batch of the perceptron rule: update ``W``, ``b`` IN PLACE; return the mistakes.

    Predictions ``y_hat = argmax_c (X W + b)_c`` all come from the ``W`` before the step; with
    ``Delta = lr * (onehot(y) - onehot(y_hat))`` (zero rows for correct samples),
    ``W += X^T Delta`` and ``b += sum over rows of Delta``.
    Shapes: ``W`` (D, C), ``b`` (C,), ``X`` (B, D), ``y`` (B,) ints in [0, C), ``lr`` a float
    -> the number of misclassified rows of ``X``. Example: from ``W = 0, b = 0`` every prediction
    is class 0 (ties go to the smallest class), so each sample of another class is a mistake.
    """
    pred = (X @ W + b).argmax(axis=1)
    wrong = pred != y
    if not wrong.any():
        return 0
    delta = np.zeros((len(X), W.shape[1]), dtype=W.dtype)  # lr * (onehot(y) - onehot(y_hat))
    rows = np.flatnonzero(wrong)
    delta[rows, y[wrong]] = lr
    delta[rows, pred[wrong]] = -lr
    W += X.T @ delta
    b += delta.sum(axis=0)
    return len(rows)


class Perceptron:
    """Multiclass perceptron: ``W`` (D, C), ``b`` (C,), trained by the mistake-driven rule above.

    ``fit(X (N, D), y (N,) of ints in [0, C))`` runs ``epochs`` passes in shuffled mini-batches;
    ``predict(X (M, D)) -> (M,)``. Weights start at zero, as in the original rule.
    """

    def __init__(self, n_classes: int | None = None, dtype: np.dtype | type = np.float32):
        self.n_classes = n_classes
        self.dtype = np.dtype(dtype)
        self.W: np.ndarray | None = None
        self.b: np.ndarray | None = None

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Class scores ``X W + b``: (M, C)."""
        if self.W is None:
            raise RuntimeError("call fit(X, y) before predicting")
        return X @ self.W + self.b

    def predict(self, X: np.ndarray) -> np.ndarray:
        """``argmax_c (X W + b)_c`` per row: (M,) ints (ties go to the smallest class)."""
        return self.scores(X).argmax(axis=1)

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """Accuracy of ``predict(X)`` against ``y``."""
        return float(np.mean(self.predict(X) == y))

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        epochs: int = 10,
        lr: float = 1.0,
        batch_size: int = 32,
        rng: np.random.Generator | None = None,
        pocket: bool = True,
    ) -> dict[str, list[float]]:
        """Train by the perceptron rule; returns the history ``{"mistakes", "train_accuracy"}``.

        ``mistakes[e]`` counts the updates made in epoch ``e`` (0 once the data are separated);
        ``train_accuracy[e]`` is measured after the epoch. With ``pocket=True`` the weights of the
        epoch of highest training accuracy are kept at the end.
        """
        X = np.asarray(X, dtype=self.dtype)
        y = np.asarray(y)
        N, D = X.shape
        C = self.n_classes or int(y.max()) + 1
        rng = rng if rng is not None else np.random.default_rng()
        self.W = np.zeros((D, C), dtype=self.dtype)
        self.b = np.zeros(C, dtype=self.dtype)
        history: dict[str, list[float]] = {"mistakes": [], "train_accuracy": []}
        best = (-1.0, self.W.copy(), self.b.copy())
        for _ in range(epochs):
            mistakes = 0
            for idx in np.array_split(rng.permutation(N), max(1, -(-N // batch_size))):
                mistakes += perceptron_step(self.W, self.b, X[idx], y[idx], lr)
            acc = self.score(X, y)
            history["mistakes"].append(mistakes)
            history["train_accuracy"].append(acc)
            if acc > best[0]:
                best = (acc, self.W.copy(), self.b.copy())
        if pocket:
            _, self.W, self.b = best
        return history
