import numpy as np
import pytest
import torch.nn.functional as F

from dlf.scratch import Linear, check_layer


@pytest.mark.parametrize(
    "batch_shape, n_in, n_out", [((1,), 1, 1), ((4,), 5, 3), ((7,), 16, 10), ((2, 3), 6, 4)]
)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(torch_parity, batch_shape, n_in, n_out, bias):
    rng = np.random.default_rng(0)
    layer = Linear(n_in, n_out, bias=bias, rng=rng)
    if bias:
        layer.params["b"][...] = rng.standard_normal(n_out)
    x = rng.standard_normal((*batch_shape, n_in))
    torch_parity(layer, x, lambda x, p: F.linear(x, p["W"].T, p.get("b")))


@pytest.mark.parametrize("shape", [(3, 5), (2, 2, 5)])
def test_linear_gradcheck(shape):
    rng = np.random.default_rng(1)
    errors = check_layer(Linear(5, 4, rng=rng), rng.standard_normal(shape))
    assert set(errors) == {"x", "W", "b"}
    assert max(errors.values()) <= 1e-7, errors


def test_linear_protocol_shapes_dtype_and_in_place_grads():
    layer = Linear(6, 3, rng=np.random.default_rng(0))
    assert layer.params["W"].shape == (6, 3) and layer.params["b"].shape == (3,)
    assert layer.params["W"].dtype == np.float32 and set(layer.grads) == set(layer.params)
    grad_arrays = {k: id(g) for k, g in layer.grads.items()}
    param_arrays = {k: id(p) for k, p in layer.params.items()}
    x = np.ones((2, 6), dtype=np.float32)
    y = layer(x)
    assert y.dtype == np.float32 and y.shape == (2, 3)
    dx = layer.backward(np.ones_like(y))
    assert dx.shape == x.shape
    assert {k: id(g) for k, g in layer.grads.items()} == grad_arrays
    assert {k: id(p) for k, p in layer.params.items()} == param_arrays
    np.testing.assert_allclose(layer.grads["b"], [2, 2, 2])


def test_linear_init_scheme_and_bad_input():
    w = Linear(400, 300, init="he", rng=np.random.default_rng(0)).params["W"]
    assert abs(w.var() - 2 / 400) < 0.1 * 2 / 400
    assert np.all(Linear(3, 2, init="zeros").params["W"] == 0)
    with pytest.raises(ValueError, match="last dimension 3"):
        Linear(3, 2)(np.ones((2, 4), dtype=np.float32))


@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 6)])
def test_linear_without_input_grad_skips_dx_only(shape):
    rng = np.random.default_rng(2)
    x, dy = rng.standard_normal(shape), rng.standard_normal((*shape[:-1], 3))
    full = Linear(6, 3, rng=np.random.default_rng(0)).astype(np.float64)
    lean = Linear(6, 3, rng=np.random.default_rng(0), needs_input_grad=False).astype(np.float64)
    np.testing.assert_array_equal(full(x), lean(x))
    assert full.backward(dy).shape == shape and lean.backward(dy) is None
    for k in ("W", "b"):
        np.testing.assert_array_equal(full.grads[k], lean.grads[k])
    assert "needs_input_grad=False" in repr(lean) and "needs_input_grad" not in repr(full)
