import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlf.scratch import BatchNorm2d, check_layer

SHAPES = [(2, 1, 1, 2), (4, 3, 5, 5), (8, 6, 3, 2), (1, 4, 3, 3)]


def _random_affine(layer, rng):
    layer.params["gamma"][...] = rng.uniform(0.5, 1.5, layer.params["gamma"].shape)
    layer.params["beta"][...] = rng.standard_normal(layer.params["beta"].shape)
    return layer


@pytest.mark.parametrize("shape", SHAPES)
def test_train_forward_backward_match_torch(torch_parity, shape):
    rng = np.random.default_rng(0)
    layer = _random_affine(BatchNorm2d(shape[1]), rng)
    x = 2 * rng.standard_normal(shape) + 1

    def ref(x, p):
        return F.batch_norm(x, None, None, p["gamma"], p["beta"], training=True, eps=1e-5)

    torch_parity(layer, x, ref)


@pytest.mark.parametrize("shape", SHAPES)
def test_running_stats_and_eval_match_torch(torch_parity, shape):
    rng = np.random.default_rng(1)
    layer = _random_affine(BatchNorm2d(shape[1], momentum=0.2), rng).astype(np.float64)
    ref = torch.nn.BatchNorm2d(shape[1], momentum=0.2, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(layer.params["gamma"]))
        ref.bias.copy_(torch.from_numpy(layer.params["beta"]))
    for _ in range(3):
        x = 3 * rng.standard_normal(shape) - 2
        layer(x)
        ref(torch.from_numpy(x))
    np.testing.assert_allclose(layer.buffers["running_mean"], ref.running_mean.numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.buffers["running_var"], ref.running_var.numpy(), atol=1e-12)

    layer.eval()
    ref.eval()
    x = rng.standard_normal(shape)
    torch_parity(
        layer,
        x,
        lambda x, p: F.batch_norm(
            x, ref.running_mean, ref.running_var, p["gamma"], p["beta"], training=False
        ),
    )
    np.testing.assert_allclose(layer(x), ref(torch.from_numpy(x)).detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 2, 3, 2), (2, 3, 2, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_gradcheck(shape, training):
    rng = np.random.default_rng(2)
    layer = _random_affine(BatchNorm2d(shape[1]), rng).train(training)
    layer.buffers["running_var"][...] = rng.uniform(0.5, 2, shape[1])
    errors = check_layer(layer, rng.standard_normal(shape))
    assert set(errors) == {"x", "gamma", "beta"}
    assert max(errors.values()) <= 1e-7, errors


def test_normalises_each_channel_over_batch_and_pixels():
    rng = np.random.default_rng(3)
    x = (5 * rng.standard_normal((6, 7, 5, 4)) + 3).astype(np.float32).transpose(0, 3, 1, 2)
    y = BatchNorm2d(4)(x)  # a channels-last view, as Conv2d returns
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)
    with pytest.raises(ValueError, match=r"\(N, 4, H, W\)"):
        BatchNorm2d(4)(np.zeros((2, 4, 3), np.float32))
