"""k-nearest neighbours: predict the majority label of the k training points closest in L2.

There is no training: ``fit`` memorises the data, and all the work is at prediction time. The
distances between every test row and every training row come from one matrix product, with no
Python loop over samples:

    ||a - b||^2 = ||a||^2 - 2 a.b + ||b||^2,   for all pairs:  D = a2[:, None] - 2 A B^T + b2[None]

Test rows are processed in chunks so that the (chunk, N_train) distance matrix stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def pairwise_sq_distances(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Squared L2 distances between the rows of ``A`` (M, D) and of ``B`` (N, D): shape (M, N).

    ``D[i, j] = ||A[i]||^2 - 2 A[i].B[j] + ||B[j]||^2``, clipped at 0 (rounding can make a
    zero distance slightly negative). Example: ``A = [[0, 0]], B = [[3, 4], [0, 1]]`` ->
    ``[[25, 1]]``.
    """
    D = A @ B.T
    D *= -2
    D += np.einsum("ij,ij->i", A, A)[:, None]
    D += np.einsum("ij,ij->i", B, B)[None, :]
    np.maximum(D, 0, out=D)
    return D


def majority_vote(neighbour_labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Most frequent label per row of ``neighbour_labels`` (M, k) of ints in [0, n_classes).

    Ties go to the smallest label. Vectorised with one ``bincount`` over offset labels
    ``row * n_classes + label``. Example: ``[[2, 1, 2], [0, 1, 1], [3, 1, 0]]`` -> ``[2, 1, 0]``.
    """
    M = neighbour_labels.shape[0]
    offset = neighbour_labels + n_classes * np.arange(M)[:, None]
    counts = np.bincount(offset.ravel(), minlength=M * n_classes).reshape(M, n_classes)
    return counts.argmax(axis=1)  # argmax returns the first (smallest) of tied maxima


class KNearestNeighbors:
    """k-NN classifier with L2 distance.

    ``fit(X (N, D), y (N,))`` memorises the data; ``predict(X (M, D)) -> (M,)`` returns the most
    frequent label among the k nearest training rows (ties between labels go to the smallest).
    Labels may be any sortable values; internally they are indices into ``classes_``.
    ``chunk_size`` test rows are handled at a time, bounding memory to a (chunk, N) matrix.
    """

    def __init__(self, k: int = 1, chunk_size: int = 1024):
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k = k
        self.chunk_size = chunk_size
        self.X: np.ndarray | None = None

    def fit(self, X: np.ndarray, y: np.ndarray) -> KNearestNeighbors:
        """Memorise ``X`` (N, D) and labels ``y`` (N,)."""
        X, y = np.asarray(X), np.asarray(y)
        if X.ndim != 2 or y.shape != (X.shape[0],):
            raise ValueError(
                f"need X of shape (N, D) and y of shape (N,), got {X.shape}, {y.shape}"
            )
        self.X = X
        self.classes_, self.y_index = np.unique(y, return_inverse=True)
        return self

    def nearest_labels(self, X: np.ndarray, k: int) -> np.ndarray:
        """Class indices of the ``k`` nearest training rows of each row of ``X``: (M, k).

        Sorted by distance (nearest first), so column slices ``[:, :k']`` serve any smaller k.
        """
        if self.X is None:
            raise RuntimeError("call fit(X, y) before predicting")
        k = min(k, self.X.shape[0])
        out = np.empty((X.shape[0], k), dtype=np.intp)
        for start in range(0, X.shape[0], self.chunk_size):
            D = pairwise_sq_distances(X[start : start + self.chunk_size], self.X)
            idx = np.argpartition(D, k - 1, axis=1)[:, :k] if k < D.shape[1] else np.argsort(D, 1)
            order = np.argsort(np.take_along_axis(D, idx, axis=1), axis=1, kind="stable")
            out[start : start + len(D)] = self.y_index[np.take_along_axis(idx, order, axis=1)]
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted labels (M,) for the rows of ``X`` (M, D)."""
        labels = self.nearest_labels(np.asarray(X), self.k)
        return self.classes_[majority_vote(labels, len(self.classes_))]

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """Accuracy of ``predict(X)`` against ``y``."""
        return float(np.mean(self.predict(X) == np.asarray(y)))


@dataclass
class CrossValidation:
    """Result of :func:`cross_validate_k`: per-fold accuracies (k -> array (folds,)), their mean
    per k, and the best k (highest mean accuracy; the smallest k among ties)."""

    fold_accuracies: dict[int, np.ndarray]
    accuracy: dict[int, float]
    best_k: int


def cross_validate_k(
    X: np.ndarray,
    y: np.ndarray,
    ks: list[int] | tuple[int, ...],
    folds: int = 5,
    rng: np.random.Generator | None = None,
) -> CrossValidation:
    """Choose k for k-NN by ``folds``-fold cross-validation on ``X`` (N, D), ``y`` (N,).

    The rows are shuffled by ``rng`` and split into ``folds`` parts; each part in turn is the
    validation set for a k-NN fitted on the others. Distances are computed once per fold for the
    largest k and reused for every smaller one. Example: ``cross_validate_k(X, y, [1, 3, 5])``
    -> ``CrossValidation(accuracy={1: 0.91, 3: 0.93, 5: 0.92}, best_k=3, ...)``.
    """
    X, y = np.asarray(X), np.asarray(y)
    if folds < 2 or folds > len(X):
        raise ValueError(f"folds must be in [2, {len(X)}] for {len(X)} samples, got {folds}")
    ks = sorted(set(ks))
    rng = rng if rng is not None else np.random.default_rng()
    parts = np.array_split(rng.permutation(len(X)), folds)
    acc = {k: np.empty(folds) for k in ks}
    for f, val in enumerate(parts):
        train = np.concatenate([p for i, p in enumerate(parts) if i != f])
        knn = KNearestNeighbors(k=max(ks)).fit(X[train], y[train])
        labels = knn.nearest_labels(X[val], max(ks))
        for k in ks:
            pred = knn.classes_[majority_vote(labels[:, :k], len(knn.classes_))]
            acc[k][f] = np.mean(pred == y[val])
    mean = {k: float(a.mean()) for k, a in acc.items()}
    best = max(ks, key=lambda k: (mean[k], -k))
    return CrossValidation(fold_accuracies=acc, accuracy=mean, best_k=best)
