import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlf.scratch import check_loss, l2_penalty, mse, softmax_cross_entropy, svm_loss

ATOL = 1e-6


def _torch_loss_and_grad(fn, x, *rest):
    xt = torch.tensor(x, requires_grad=True)
    loss = fn(xt, *rest)
    loss.backward()
    return loss.item(), xt.grad.numpy()


def _assert_matches(ours, ref):
    assert abs(ours[0] - ref[0]) <= ATOL * max(1.0, abs(ref[0]))
    assert ours[1].shape == ref[1].shape
    assert np.max(np.abs(ours[1] - ref[1])) <= ATOL


@pytest.mark.parametrize("shape", [(1, 2), (5, 4), (64, 10), (2, 7, 11)])
@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_softmax_cross_entropy_matches_torch(shape, scale):
    rng = np.random.default_rng(0)
    logits = scale * rng.standard_normal(shape)
    y = rng.integers(0, shape[-1], shape[:-1])
    ref = _torch_loss_and_grad(
        lambda z: F.cross_entropy(z.reshape(-1, shape[-1]), torch.from_numpy(y).reshape(-1)), logits
    )
    _assert_matches(softmax_cross_entropy(logits, y), ref)


def test_softmax_cross_entropy_is_stable_and_uniform_at_zero():
    loss, d = softmax_cross_entropy(np.array([[1e4, -1e4, 0.0]]), np.array([1]))
    assert np.isfinite(loss) and abs(loss - 2e4) < 1e-6 and np.all(np.isfinite(d))
    loss, _ = softmax_cross_entropy(np.zeros((3, 10), dtype=np.float32), np.array([0, 4, 9]))
    assert abs(loss - np.log(10)) < 1e-6


@pytest.mark.parametrize("shape", [(1, 2), (5, 4), (64, 10)])
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_svm_loss_matches_torch(shape, margin):
    rng = np.random.default_rng(1)
    scores = rng.standard_normal(shape)
    y = rng.integers(0, shape[1], shape[0])
    # torch's multi_margin_loss averages over classes too: multiply by C for CS231n's sum.
    ref = _torch_loss_and_grad(
        lambda s: shape[1] * F.multi_margin_loss(s, torch.from_numpy(y), margin=margin), scores
    )
    _assert_matches(svm_loss(scores, y, margin=margin), ref)


def test_svm_loss_worked_example():
    loss, d = svm_loss(np.array([[1.0, 2.0, 0.0]]), np.array([0]))
    assert loss == 2.0  # max(0, 2 - 1 + 1) + max(0, 0 - 1 + 1)
    np.testing.assert_array_equal(d, [[-1.0, 1.0, 0.0]])


@pytest.mark.parametrize("shape", [(1,), (4, 3), (2, 3, 5)])
def test_mse_matches_torch(shape):
    rng = np.random.default_rng(2)
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    ref = _torch_loss_and_grad(lambda p: F.mse_loss(p, torch.from_numpy(target)), pred)
    _assert_matches(mse(pred, target), ref)


def test_l2_penalty_decays_weight_matrices_only():
    rng = np.random.default_rng(3)
    params = {
        "0.W": rng.standard_normal((4, 3)),
        "0.b": rng.standard_normal(3),
        "1.gamma": rng.standard_normal(3),
        "2.W": rng.standard_normal((3, 2)),
    }
    loss, grads = l2_penalty(params, 0.3)
    weights = {k: torch.tensor(v, requires_grad=True) for k, v in params.items() if v.ndim == 2}
    ref = 0.15 * sum((w * w).sum() for w in weights.values())
    ref.backward()
    assert set(grads) == {"0.W", "2.W"}
    assert abs(loss - ref.item()) <= ATOL
    for k, w in weights.items():
        assert np.max(np.abs(grads[k] - w.grad.numpy())) <= ATOL


@pytest.mark.parametrize(
    "fn, make_args",
    [
        (softmax_cross_entropy, lambda r: (3 * r.standard_normal((6, 5)), r.integers(0, 5, 6))),
        (softmax_cross_entropy, lambda r: (r.standard_normal((2, 3, 4)), r.integers(0, 4, (2, 3)))),
        (svm_loss, lambda r: (r.standard_normal((6, 5)), r.integers(0, 5, 6))),
        (mse, lambda r: (r.standard_normal((3, 4)), r.standard_normal((3, 4)))),
        (l2_penalty, lambda r: ({"W": r.standard_normal((3, 4)), "b": r.standard_normal(4)}, 0.1)),
    ],
)
def test_loss_gradcheck(fn, make_args):
    errors = check_loss(fn, *make_args(np.random.default_rng(4)))
    assert max(errors.values()) <= 1e-7, errors


def test_bad_labels_are_reported():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="integer labels of shape"):
        svm_loss(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="differ in shape"):
        mse(np.zeros(3), np.zeros(4))
