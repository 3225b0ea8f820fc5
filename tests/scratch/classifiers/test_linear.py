"""Linear SVM and softmax classifiers: loss and gradients against torch autograd, and learning."""

import numpy as np
import pytest
import torch

from dlf.scratch.classifiers.linear import LinearSVM, SoftmaxClassifier

from .blobs import gaussian_blobs, nearest_center_accuracy


def torch_loss(model, X, y, reg):
    W = torch.tensor(model.params["W"], requires_grad=True)
    b = torch.tensor(model.params["b"], requires_grad=True)
    s = torch.tensor(X) @ W + b
    yt = torch.tensor(y)
    if isinstance(model, LinearSVM):  # torch's multi_margin_loss divides by the classes C
        data = s.shape[1] * torch.nn.functional.multi_margin_loss(s, yt, margin=model.margin)
    else:
        data = torch.nn.functional.cross_entropy(s, yt)
    loss = data + reg / 2 * (W**2).sum()
    loss.backward()
    return loss.item(), W.grad.numpy(), b.grad.numpy()


@pytest.mark.parametrize("cls", [LinearSVM, SoftmaxClassifier])
@pytest.mark.parametrize("N, D, C, reg", [(5, 3, 4, 0.0), (32, 20, 10, 0.1), (1, 7, 2, 1.0)])
def test_loss_and_gradients_match_torch(cls, N, D, C, reg):
    rng = np.random.default_rng(N + D)
    model = cls(dtype=np.float64, init_std=1.0)
    model.init_params(D, C, rng)
    model.params["b"][:] = rng.standard_normal(C)
    X, y = rng.standard_normal((N, D)), rng.integers(0, C, N)
    loss, grads = model.loss(X, y, reg)
    ref_loss, ref_dW, ref_db = torch_loss(model, X, y, reg)
    assert loss == pytest.approx(ref_loss, rel=1e-10)
    np.testing.assert_allclose(grads["W"], ref_dW, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grads["b"], ref_db, rtol=1e-9, atol=1e-12)


def test_softmax_loss_at_init_is_ln_classes():
    model = SoftmaxClassifier(dtype=np.float64)
    model.init_params(50, 10, np.random.default_rng(0))
    X, y = np.random.default_rng(1).standard_normal((200, 50)), np.arange(200) % 10
    assert model.loss(X, y)[0] == pytest.approx(np.log(10), rel=0.01)


@pytest.mark.parametrize("cls", [LinearSVM, SoftmaxClassifier])
def test_learns_overlapping_blobs_close_to_the_bayes_rate(cls):
    blobs = dict(n_classes=5, dim=20, seed=7)
    (X, y), (Xt, yt) = gaussian_blobs(300, spread=5.0, **blobs)
    bayes = nearest_center_accuracy(Xt, yt, **blobs)  # 0.85; chance is 0.2
    model = cls()
    rng = np.random.default_rng(0)
    history = model.fit(X, y, epochs=15, lr=0.01, batch_size=50, reg=1e-3, rng=rng)
    assert len(history["loss"]) == 15 and history["loss"][-1] < 0.8 * history["loss"][0]
    assert model.params["W"].dtype == np.float32
    assert model.score(Xt, yt) >= bayes - 0.04
    assert model.score(X, y) == pytest.approx(history["train_accuracy"][-1])


def test_regularisation_shrinks_weights():
    (X, y), _ = gaussian_blobs(100, seed=3)
    norms = []
    for reg in (0.0, 1.0):
        model = SoftmaxClassifier()
        model.fit(X, y, epochs=10, lr=0.05, batch_size=40, reg=reg, rng=np.random.default_rng(0))
        norms.append(np.linalg.norm(model.params["W"]))
    assert norms[1] < 0.5 * norms[0]
