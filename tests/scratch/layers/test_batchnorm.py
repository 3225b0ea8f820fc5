import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlf.scratch import BatchNorm1d, check_layer

SHAPES = [(2, 1), (8, 5), (32, 16), (4, 3, 6)]


def _random_affine(layer, rng):
    layer.params["gamma"][...] = rng.uniform(0.5, 1.5, layer.params["gamma"].shape)
    layer.params["beta"][...] = rng.standard_normal(layer.params["beta"].shape)
    return layer


@pytest.mark.parametrize("shape", SHAPES)
def test_train_forward_backward_match_torch(torch_parity, shape):
    rng = np.random.default_rng(0)
    layer = _random_affine(BatchNorm1d(shape[1]), rng)
    x = 2 * rng.standard_normal(shape) + 1

    def ref(x, p):
        return F.batch_norm(x, None, None, p["gamma"], p["beta"], training=True, eps=1e-5)

    torch_parity(layer, x, ref)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("momentum", [0.1, 0.3])
def test_running_stats_and_eval_match_torch(torch_parity, shape, momentum):
    rng = np.random.default_rng(1)
    layer = _random_affine(BatchNorm1d(shape[1], momentum=momentum), rng).astype(np.float64)
    ref = torch.nn.BatchNorm1d(shape[1], momentum=momentum, dtype=torch.float64)
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


@pytest.mark.parametrize("shape", [(6, 4), (3, 2, 5)])
@pytest.mark.parametrize("training", [True, False])
def test_gradcheck(shape, training):
    rng = np.random.default_rng(2)
    layer = _random_affine(BatchNorm1d(shape[1]), rng).train(training)
    layer.buffers["running_var"][...] = rng.uniform(0.5, 2, shape[1])
    errors = check_layer(layer, rng.standard_normal(shape))
    assert set(errors) == {"x", "gamma", "beta"}
    assert max(errors.values()) <= 1e-7, errors


def test_without_affine_and_errors():
    x = np.random.default_rng(0).standard_normal((10, 3))
    y = BatchNorm1d(3, affine=False).astype(np.float64)(x)
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(0), 1 / (1 + 1e-5 / x.var(0)), rtol=1e-10)
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        BatchNorm1d(4)(x)
    with pytest.raises(ValueError, match="eval"):
        BatchNorm1d(3)(x[:1])
