import numpy as np
import pytest
import torch.nn.functional as F

from dlf.scratch import Conv2d, GlobalAvgPool2d, Linear, MaxPool2d, ReLU, Sequential, check_layer

# (N, C_in, H, W, C_out, kernel, stride, padding, bias)
CASES = [
    (2, 3, 7, 6, 4, 3, 1, 1, True),
    (3, 2, 9, 8, 5, (3, 2), 2, (1, 0), True),
    (2, 4, 5, 5, 2, 1, 1, 0, False),
    (2, 1, 10, 9, 3, 4, 3, 2, True),
    (1, 5, 8, 11, 3, (2, 5), (3, 1), (0, 2), True),
    (4, 8, 6, 6, 16, 3, 1, 0, True),
]


def _conv(case, rng):
    n, c, h, w, o, k, s, p, bias = case
    layer = Conv2d(c, o, k, s, p, bias=bias, rng=rng)
    if bias:
        layer.params["b"][...] = rng.standard_normal(o)
    return layer, rng.standard_normal((n, c, h, w))


@pytest.mark.parametrize("case", CASES)
def test_forward_backward_match_torch(torch_parity, case):
    layer, x = _conv(case, np.random.default_rng(0))
    s, p = case[6], case[7]
    diffs = torch_parity(layer, x, lambda x, q: F.conv2d(x, q["W"], q.get("b"), s, p))
    assert set(diffs) == {"out", "x"} | set(layer.params)


@pytest.mark.parametrize("case", CASES[:4])
def test_gradcheck(case):
    layer, x = _conv(case, np.random.default_rng(1))
    errors = check_layer(layer, x)
    assert max(errors.values()) <= 1e-7, errors


def test_channels_last_input_and_a_small_cnn_gradcheck():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 5, 6, 3)).transpose(0, 3, 1, 2)  # (N, C, H, W) view, C fastest
    conv = Conv2d(3, 4, 3, padding=1, rng=rng).astype(np.float64)
    np.testing.assert_allclose(conv(x), conv(np.ascontiguousarray(x)), atol=1e-12)
    net = Sequential(
        Conv2d(2, 3, 3, padding=1, rng=rng),
        ReLU(),
        MaxPool2d(2),
        Conv2d(3, 4, 2, rng=rng),
        GlobalAvgPool2d(),
        Linear(4, 3, rng=rng),
    )
    errors = check_layer(net, rng.standard_normal((2, 2, 6, 6)))
    assert max(errors.values()) <= 1e-7, errors


def test_float32_shapes_and_init():
    rng = np.random.default_rng(3)
    conv = Conv2d(3, 8, 3, stride=2, padding=1, rng=rng)
    assert conv.params["W"].shape == (8, 3, 3, 3) and conv.params["b"].shape == (8,)
    assert conv.params["W"].dtype == np.float32
    y = conv(rng.standard_normal((4, 3, 9, 9)).astype(np.float32))
    assert y.shape == (4, 8, 5, 5) and y.dtype == np.float32
    dx = conv.backward(np.ones_like(y))
    assert dx.shape == (4, 3, 9, 9) and dx.dtype == np.float32
    # He init: Var W = 2 / fan_in
    big = Conv2d(64, 64, 3, rng=rng)
    assert abs(big.params["W"].var() * 64 * 9 / 2 - 1) < 0.05
    assert conv.num_parameters() == 8 * 3 * 9 + 8


def test_params_are_updated_in_place_and_buffers_follow_shape():
    rng = np.random.default_rng(4)
    conv = Conv2d(2, 3, 3, rng=rng)
    w, gw = conv.params["W"], conv.grads["W"]
    for n in (2, 3):
        y = conv(rng.standard_normal((n, 2, 5, 5)).astype(np.float32))
        conv.backward(np.ones_like(y))
        assert conv.params["W"] is w and conv.grads["W"] is gw
        assert y.shape == (n, 3, 3, 3)


def test_errors():
    conv = Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        conv(np.zeros((2, 2, 5, 5), np.float32))
    with pytest.raises(ValueError, match="smaller than the kernel"):
        conv(np.zeros((1, 3, 2, 2), np.float32))
    with pytest.raises(RuntimeError, match="before forward"):
        Conv2d(1, 1, 1).backward(np.zeros((1, 1, 1, 1)))
