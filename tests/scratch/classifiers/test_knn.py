"""k-NN: distances against brute force, voting rule, predictions against a looped reference."""

import numpy as np
import pytest

from dlf.scratch.classifiers.knn import (
    KNearestNeighbors,
    cross_validate_k,
    majority_vote,
    pairwise_sq_distances,
)

from .blobs import gaussian_blobs, nearest_center_accuracy


@pytest.mark.parametrize("M, N, D", [(1, 1, 1), (7, 13, 5), (40, 30, 64)])
def test_distances_equal_brute_force(M, N, D):
    rng = np.random.default_rng(M)
    A, B = rng.standard_normal((M, D)), rng.standard_normal((N, D)) + 0.5
    brute = ((A[:, None, :] - B[None, :, :]) ** 2).sum(axis=-1)
    np.testing.assert_allclose(pairwise_sq_distances(A, B), brute, rtol=1e-10, atol=1e-10)
    assert (pairwise_sq_distances(A, A) >= 0).all()


def test_majority_vote_ties_go_to_smallest_label():
    labels = np.array([[2, 1, 2], [0, 1, 1], [3, 1, 0], [4, 4, 4], [3, 2, 2]])
    np.testing.assert_array_equal(majority_vote(labels, 5), [2, 1, 0, 4, 2])


def reference_predict(Xtr, ytr, Xte, k):
    """One test sample at a time, in plain Python: the rule k-NN states."""
    out = []
    for x in Xte:
        d = ((Xtr.astype(np.float64) - x) ** 2).sum(axis=1)
        nearest = ytr[np.argsort(d, kind="stable")[:k]]
        counts = {c: int((nearest == c).sum()) for c in np.unique(nearest)}
        out.append(min(counts, key=lambda c: (-counts[c], c)))
    return np.array(out)


@pytest.mark.parametrize("k", [1, 3, 4, 10])
@pytest.mark.parametrize("chunk_size", [7, 1024])
def test_predict_matches_reference(k, chunk_size):
    (X, y), (Xt, yt) = gaussian_blobs(40, spread=2.5, seed=k)
    knn = KNearestNeighbors(k, chunk_size=chunk_size).fit(X, y)
    np.testing.assert_array_equal(knn.predict(Xt), reference_predict(X, y, Xt, k))


def test_k1_on_training_data_is_perfect_and_overlapping_blobs_are_learned():
    blobs = dict(n_classes=5, dim=20, seed=7)
    (X, y), (Xt, yt) = gaussian_blobs(300, spread=5.0, **blobs)
    bayes = nearest_center_accuracy(Xt, yt, **blobs)  # 0.85; chance is 0.2
    assert KNearestNeighbors(1).fit(X, y).score(X, y) == 1.0
    assert KNearestNeighbors(15).fit(X, y).score(Xt, yt) >= bayes - 0.08


def test_labels_need_not_be_0_to_c():
    X = np.array([[0.0], [0.1], [5.0], [5.2], [5.1]])
    y = np.array([7, 7, 3, 3, 3])
    knn = KNearestNeighbors(3).fit(X, y)
    np.testing.assert_array_equal(knn.predict(np.array([[0.05], [4.0]])), [7, 3])


def test_cross_validation_matches_per_fold_fits_and_prefers_large_k_on_noisy_labels():
    (X, y), _ = gaussian_blobs(60, spread=1.5, seed=2)
    y = y.copy()
    flip = np.random.default_rng(3).random(len(y)) < 0.25  # label noise: k=1 memorises it
    y[flip] = np.random.default_rng(4).integers(0, 4, flip.sum())
    ks, folds = [1, 3, 7, 15], 4
    cv = cross_validate_k(X, y, ks, folds=folds, rng=np.random.default_rng(5))
    parts = np.array_split(np.random.default_rng(5).permutation(len(X)), folds)
    for k in ks:
        for f, val in enumerate(parts):
            train = np.concatenate([p for i, p in enumerate(parts) if i != f])
            acc = KNearestNeighbors(k).fit(X[train], y[train]).score(X[val], y[val])
            assert cv.fold_accuracies[k][f] == pytest.approx(acc)
        assert cv.accuracy[k] == pytest.approx(cv.fold_accuracies[k].mean())
    assert cv.best_k == max(ks, key=lambda k: (cv.accuracy[k], -k))
    assert cv.best_k > 1


def test_errors_say_what_to_do():
    with pytest.raises(RuntimeError, match="fit"):
        KNearestNeighbors(1).predict(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="k must be"):
        KNearestNeighbors(0)
