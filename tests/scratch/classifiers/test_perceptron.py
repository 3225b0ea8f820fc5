"""Perceptron: the vectorised rule against a per-sample reference, convergence on separable data."""

import numpy as np
import pytest

from dlf.scratch.classifiers.perceptron import Perceptron

from .blobs import gaussian_blobs, nearest_center_accuracy


def reference_online_perceptron(X, y, C, epochs, lr, seed):
    """The classic rule, one sample at a time: on a mistake w_y += lr x, w_pred -= lr x."""
    rng = np.random.default_rng(seed)
    W, b = np.zeros((X.shape[1], C)), np.zeros(C)
    for _ in range(epochs):
        for i in rng.permutation(len(X)):
            pred = int(np.argmax(X[i] @ W + b))
            if pred != y[i]:
                W[:, y[i]] += lr * X[i]
                b[y[i]] += lr
                W[:, pred] -= lr * X[i]
                b[pred] -= lr
    return W, b


@pytest.mark.parametrize("lr, epochs", [(1.0, 2), (0.1, 3)])
def test_batch_size_one_is_the_online_rule(lr, epochs):
    (X, y), _ = gaussian_blobs(15, n_classes=3, dim=4, spread=2.0, seed=1)
    X = X.astype(np.float64)
    model = Perceptron(n_classes=3, dtype=np.float64)
    model.fit(X, y, epochs=epochs, lr=lr, batch_size=1, rng=np.random.default_rng(9), pocket=False)
    W, b = reference_online_perceptron(X, y, 3, epochs, lr, seed=9)
    np.testing.assert_allclose(model.W, W, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.b, b, rtol=1e-12, atol=1e-12)


def test_minibatch_update_is_the_summed_rule():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((20, 5)), rng.integers(0, 4, 20)
    model = Perceptron(n_classes=4, dtype=np.float64)
    model.fit(X, y, epochs=1, lr=0.5, batch_size=20, rng=np.random.default_rng(0), pocket=False)
    # one batch from W = 0: every score is 0, so every prediction is class 0
    W, b = np.zeros((5, 4)), np.zeros(4)
    for x, t in zip(X, y, strict=True):
        if t != 0:
            W[:, t] += 0.5 * x
            W[:, 0] -= 0.5 * x
            b[t] += 0.5
            b[0] -= 0.5
    np.testing.assert_allclose(model.W, W, rtol=1e-12)
    np.testing.assert_allclose(model.b, b, rtol=1e-12)


def test_separable_data_converge_to_zero_mistakes():
    (X, y), (Xt, yt) = gaussian_blobs(100, n_classes=4, dim=10, spread=0.5, separation=4.0, seed=4)
    model = Perceptron()
    history = model.fit(X, y, epochs=20, batch_size=16, rng=np.random.default_rng(0))
    assert history["mistakes"][0] > 0 and history["mistakes"][-1] == 0
    assert model.score(X, y) == 1.0 and model.score(Xt, yt) >= 0.98


def test_overlapping_blobs_reach_clear_accuracy_with_pocket():
    blobs = dict(n_classes=5, dim=20, seed=7)
    (X, y), (Xt, yt) = gaussian_blobs(300, spread=5.0, **blobs)
    bayes = nearest_center_accuracy(Xt, yt, **blobs)  # 0.85; chance is 0.2
    model = Perceptron()
    history = model.fit(X, y, epochs=15, batch_size=32, rng=np.random.default_rng(0))
    assert max(history["mistakes"][1:]) > 0  # not separable: the rule keeps cycling
    assert model.score(X, y) == pytest.approx(max(history["train_accuracy"]))  # pocket kept best
    assert model.score(Xt, yt) >= bayes - 0.08
