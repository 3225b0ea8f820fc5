"""Linear classifiers: scores ``s = X W + b``, trained by mini-batch SGD with analytic gradients.

The two classic choices differ only in the loss on the scores (CS231n, "Linear classification"):

    LinearSVM          multiclass hinge:  L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin)
    SoftmaxClassifier  cross-entropy:     L_i = -log( exp(s_{y_i}) / sum_j exp(s_j) )

Both add L2 regularisation ``reg/2 * ||W||^2`` (the bias is not decayed). With ``dL/ds`` from the
loss, backprop through ``s = X W + b`` is

    dL/dW = X^T dL/ds + reg * W,     dL/db = sum over rows of dL/ds.

The losses are those of :mod:`dlf.scratch.losses`; the update is :class:`dlf.scratch.optim.SGD`.
"""

from __future__ import annotations

import numpy as np

from dlf.scratch.init import small_normal, zeros
from dlf.scratch.losses import l2_penalty, softmax_cross_entropy, svm_loss
from dlf.scratch.optim import SGD


class LinearClassifier:
    """Shared base: ``W`` (D, C), ``b`` (C,) in ``params``; subclasses set :meth:`data_loss`.

    ``fit(X (N, D), y (N,) ints in [0, C))`` trains; ``predict(X (M, D)) -> (M,)`` is
    ``argmax_c (X W + b)_c``; ``score`` is the accuracy. Weights start as N(0, ``init_std``^2).
    """

    def __init__(
        self,
        n_classes: int | None = None,
        init_std: float = 1e-3,
        dtype: np.dtype | type = np.float32,
    ):
        self.n_classes = n_classes
        self.init_std = init_std
        self.dtype = np.dtype(dtype)
        self.params: dict[str, np.ndarray] = {}

    def data_loss(self, scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean loss over the batch and ``dL/dscores`` (N, C)."""
        raise NotImplementedError

    def init_params(self, D: int, C: int, rng: np.random.Generator | None = None) -> None:
        """``W ~ N(0, init_std^2)`` of shape (D, C) and ``b = 0`` of shape (C,)."""
        self.params = {
            "W": small_normal((D, C), std=self.init_std, rng=rng, dtype=self.dtype),
            "b": zeros(C, dtype=self.dtype),
        }

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Class scores ``X W + b``: (M, C)."""
        if not self.params:
            raise RuntimeError("call fit(X, y) (or init_params) before predicting")
        return X @ self.params["W"] + self.params["b"]

    def loss(
        self, X: np.ndarray, y: np.ndarray, reg: float = 0.0
    ) -> tuple[float, dict[str, np.ndarray]]:
        """Loss ``data_loss(X W + b, y) + reg/2 ||W||^2`` and its gradients ``{"W", "b"}``."""
        data, dscores = self.data_loss(self.scores(X), y)
        penalty, dreg = l2_penalty(self.params, reg)
        grads = {"W": X.T @ dscores, "b": dscores.sum(axis=0)}
        for k, g in dreg.items():
            grads[k] += g
        return data + penalty, grads

    def predict(self, X: np.ndarray) -> np.ndarray:
        """``argmax_c (X W + b)_c`` per row: (M,) ints."""
        return self.scores(X).argmax(axis=1)

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """Accuracy of ``predict(X)`` against ``y``."""
        return float(np.mean(self.predict(X) == y))

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        epochs: int = 10,
        lr: float = 1e-3,
        batch_size: int = 200,
        reg: float = 1e-4,
        rng: np.random.Generator | None = None,
    ) -> dict[str, list[float]]:
        """Mini-batch SGD from a fresh init: ``p <- p - lr * dL/dp`` over shuffled batches.

        Returns the history ``{"loss": mean batch loss per epoch, "train_accuracy": per epoch}``.
        """
        X = np.asarray(X, dtype=self.dtype)
        y = np.asarray(y)
        N, D = X.shape
        rng = rng if rng is not None else np.random.default_rng()
        self.init_params(D, self.n_classes or int(y.max()) + 1, rng)
        opt = SGD(lr)
        history: dict[str, list[float]] = {"loss": [], "train_accuracy": []}
        n_batches = max(1, -(-N // batch_size))
        for _ in range(epochs):
            total = 0.0
            for idx in np.array_split(rng.permutation(N), n_batches):
                value, grads = self.loss(X[idx], y[idx], reg)
                opt.step(self.params, grads)
                total += value
            history["loss"].append(total / n_batches)
            history["train_accuracy"].append(self.score(X, y))
        return history


class LinearSVM(LinearClassifier):
    """Linear classifier with the multiclass hinge loss (:func:`dlf.scratch.losses.svm_loss`).

    ``L = 1/N sum_i sum_{j != y_i} max(0, s_ij - s_i,y_i + margin) + reg/2 ||W||^2``.
    """

    def __init__(self, margin: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.margin = margin

    def data_loss(self, scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        return svm_loss(scores, y, self.margin)


class SoftmaxClassifier(LinearClassifier):
    """Linear classifier with the cross-entropy of the softmax (multinomial logistic regression).

    ``L = -1/N sum_i log softmax(s_i)[y_i] + reg/2 ||W||^2``
    (:func:`dlf.scratch.losses.softmax_cross_entropy`).
    """

    def data_loss(self, scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        return softmax_cross_entropy(scores, y)
