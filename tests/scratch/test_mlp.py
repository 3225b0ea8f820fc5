"""The MLP builder: its structure, its parameter count, its gradients and parity with PyTorch."""

import numpy as np
import pytest
import torch

from dlf.scratch import (
    BatchNorm1d,
    Dropout,
    Linear,
    ReLU,
    Tanh,
    architecture_rows,
    check_layer,
    mlp,
)


@pytest.mark.parametrize("sizes", [(784, 512, 256, 10), (5, 3), (6, 8, 8, 8, 2)])
def test_parameter_count_is_the_sum_of_the_affine_maps(sizes):
    expected = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    assert mlp(sizes, rng=np.random.default_rng(0)).num_parameters() == expected


def test_layer_order_with_batch_norm_and_dropout():
    model = mlp((6, 5, 4, 3), "tanh", dropout=0.3, batch_norm=True, rng=np.random.default_rng(0))
    kinds = [type(layer) for layer in model.layers]
    block = [Linear, BatchNorm1d, Tanh, Dropout]
    assert kinds == [*block, *block, Linear]
    assert "b" not in model.layers[0].params  # BatchNorm's beta replaces the bias
    assert "b" in model.layers[-1].params


def test_plain_mlp_has_no_dropout_or_norm():
    model = mlp((4, 3, 2), rng=np.random.default_rng(0))
    assert [type(layer) for layer in model.layers] == [Linear, ReLU, Linear]


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid", "gelu"])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_mlp_passes_gradient_check(activation, batch_norm):
    model = mlp((5, 6, 4, 3), activation, batch_norm=batch_norm, rng=np.random.default_rng(1))
    rng = np.random.default_rng(2)
    for k, p in model.params.items():  # non-zero biases: no ReLU input sits exactly on its kink
        if k.endswith(".b") or k.endswith(".beta"):
            p[...] = rng.uniform(-0.5, 0.5, p.shape)
    errors = check_layer(model, rng.standard_normal((7, 5)))
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("shape", [(3, 5), (16, 5)])
def test_forward_and_backward_match_torch(shape):
    model = mlp((5, 7, 4), "tanh", rng=np.random.default_rng(0)).astype(np.float64)
    x = np.random.default_rng(1).standard_normal(shape)
    dy = np.random.default_rng(2).standard_normal((shape[0], 4))
    out = model.forward(x)
    dx = model.backward(dy)
    p = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.tanh(xt @ p["0.W"] + p["0.b"]) @ p["2.W"] + p["2.b"]
    yt.backward(torch.tensor(dy))
    np.testing.assert_allclose(out, yt.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-10)
    for k, g in model.grads.items():
        np.testing.assert_allclose(g, p[k].grad.numpy(), atol=1e-10)


def test_same_rng_seed_same_weights_and_dtype():
    a = mlp((8, 4, 2), dtype=np.float64, rng=np.random.default_rng(3))
    b = mlp((8, 4, 2), dtype=np.float64, rng=np.random.default_rng(3))
    for k in a.params:
        assert a.params[k].dtype == np.float64
        np.testing.assert_array_equal(a.params[k], b.params[k])


def test_architecture_rows_shapes_and_counts():
    model = mlp((784, 512, 256, 10), dropout=0.2, rng=np.random.default_rng(0)).train()
    rows = architecture_rows(model, (784,))
    assert [r[2] for r in rows] == ["(512,)"] * 3 + ["(256,)"] * 3 + ["(10,)"]
    assert sum(r[3] for r in rows) == model.num_parameters() == 535_818
    assert all(layer.training for layer in model.modules())  # mode restored


@pytest.mark.parametrize("bad", [dict(sizes=(3,)), dict(sizes=(3, 2), activation="swish")])
def test_bad_arguments_are_explained(bad):
    with pytest.raises(ValueError, match="sizes|activation"):
        mlp(**bad)
