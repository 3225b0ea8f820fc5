import numpy as np
import pytest
import torch

from dlf.scratch import (
    BatchNorm1d,
    Dropout,
    LayerNorm,
    Linear,
    ReLU,
    Sequential,
    Tanh,
    check_layer,
)


def _mlp(rng):
    return Sequential(Linear(6, 5, rng=rng), ReLU(), BatchNorm1d(5), Linear(5, 3, rng=rng))


def test_params_are_the_childrens_arrays_under_dotted_keys():
    model = _mlp(np.random.default_rng(0))
    assert list(model.params) == ["0.W", "0.b", "2.gamma", "2.beta", "3.W", "3.b"]
    assert list(model.grads) == list(model.params)
    assert list(model.buffers) == ["2.running_mean", "2.running_var"]
    assert model.params["0.W"] is model.layers[0].params["W"]
    before = model.layers[3].params["W"].copy()
    model.params["3.W"] -= 0.5  # an optimizer's in-place step reaches the child
    np.testing.assert_allclose(model.layers[3].params["W"], before - 0.5)
    assert model.num_parameters() == 6 * 5 + 5 + 2 * 5 + 5 * 3 + 3


def test_nested_keys_modes_and_astype():
    inner = Sequential(Linear(3, 3), Dropout(0.5))
    model = Sequential(Linear(4, 3), inner, Sequential(LayerNorm(3)))
    assert list(model.params) == ["0.W", "0.b", "1.0.W", "1.0.b", "2.0.gamma", "2.0.beta"]
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    assert model.astype(np.float64) is model
    assert all(p.dtype == np.float64 for p in model.params.values())
    assert all(g.dtype == np.float64 for g in model.grads.values())
    assert inner.layers[0].params["W"].dtype == np.float64


def test_deep_nesting_needs_no_recursion():
    model = Linear(2, 2)
    for _ in range(3000):  # deeper than Python's default recursion limit
        model = Sequential(model)
    assert list(model.params) == ["0." * 3000 + "W", "0." * 3000 + "b"]
    model.eval().astype(np.float64)
    assert not model.training and model.params["0." * 3000 + "W"].dtype == np.float64
    assert repr(model).count("Sequential(") == 3000


@pytest.mark.parametrize("batch", [2, 16])
def test_mlp_matches_torch(torch_parity, batch):
    rng = np.random.default_rng(1)
    model = Sequential(Linear(6, 8, rng=rng), Tanh(), Linear(8, 8, rng=rng), ReLU(), Linear(8, 3))
    x = rng.standard_normal((batch, 6))

    def ref(x, p):
        h = torch.tanh(x @ p["0.W"] + p["0.b"])
        h = torch.relu(h @ p["2.W"] + p["2.b"])
        return h @ p["4.W"] + p["4.b"]

    torch_parity(model, x, ref)


def test_gradcheck_mlp_with_batchnorm():
    rng = np.random.default_rng(2)
    model = Sequential(Linear(4, 5, bias=False, rng=rng), BatchNorm1d(5), ReLU(), Linear(5, 2))
    errors = check_layer(model, rng.standard_normal((7, 4)))
    assert max(errors.values()) <= 1e-7, errors


def test_rejects_non_layers():
    with pytest.raises(TypeError, match="position 1"):
        Sequential(Linear(2, 2), np.tanh)


def test_first_layer_without_input_grad_returns_none_and_keeps_the_grads():
    rng = np.random.default_rng(4)
    x, dy = rng.standard_normal((5, 6)), rng.standard_normal((5, 3))
    full = _mlp(np.random.default_rng(0)).astype(np.float64)
    lean = _mlp(np.random.default_rng(0)).astype(np.float64)
    lean[0].needs_input_grad = False
    np.testing.assert_array_equal(full(x), lean(x))
    assert full.backward(dy).shape == x.shape and lean.backward(dy) is None
    for k, g in full.grads.items():
        np.testing.assert_array_equal(g, lean.grads[k])


def test_a_later_layer_without_input_grad_is_an_error():
    rng = np.random.default_rng(0)
    net = Sequential(Linear(4, 3, rng=rng), ReLU(), Linear(3, 2, rng=rng, needs_input_grad=False))
    net(np.ones((2, 4), dtype=np.float32))
    with pytest.raises(RuntimeError, match="only on the first layer"):
        net.backward(np.ones((2, 2), dtype=np.float32))
