import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlf.scratch import AvgPool2d, GlobalAvgPool2d, MaxPool2d, check_layer

# (N, C, H, W, kernel, stride)
CASES = [
    (2, 3, 8, 8, 2, None),
    (2, 3, 7, 6, 3, 1),
    (3, 2, 9, 8, (3, 2), 2),
    (2, 1, 10, 9, 2, 3),
    (1, 2, 13, 13, 2, None),
    (2, 4, 6, 7, (1, 3), (2, 1)),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(
    "layer_cls, torch_fn", [(MaxPool2d, F.max_pool2d), (AvgPool2d, F.avg_pool2d)]
)
def test_forward_backward_match_torch(torch_parity, case, layer_cls, torch_fn):
    n, c, h, w, k, s = case
    x = np.random.default_rng(0).standard_normal((n, c, h, w))
    torch_parity(layer_cls(k, s), x, lambda x, _: torch_fn(x, k, s))


@pytest.mark.parametrize("case", [CASES[0], CASES[1], CASES[5]])
def test_max_pool_ties_go_to_the_first_maximum_like_torch(torch_parity, case):
    n, c, h, w, k, s = case
    x = np.random.default_rng(1).integers(0, 3, (n, c, h, w)).astype(np.float64)
    torch_parity(MaxPool2d(k, s), x, lambda x, _: F.max_pool2d(x, k, s))


@pytest.mark.parametrize("case", [CASES[1], CASES[2], CASES[3]])
@pytest.mark.parametrize("layer_cls", [MaxPool2d, AvgPool2d])
def test_gradcheck(case, layer_cls):
    n, c, h, w, k, s = case
    errors = check_layer(layer_cls(k, s), np.random.default_rng(2).standard_normal((n, c, h, w)))
    assert set(errors) == {"x"} and errors["x"] <= 1e-7, errors


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 8, 7, 7)])
def test_global_avg_pool(torch_parity, shape):
    x = np.random.default_rng(3).standard_normal(shape)
    ref = lambda x, _: F.adaptive_avg_pool2d(x, 1).flatten(1)  # noqa: E731
    torch_parity(GlobalAvgPool2d(), x, ref)
    errors = check_layer(GlobalAvgPool2d(), x)
    assert errors["x"] <= 1e-7, errors


def test_channels_last_input_float32_and_errors():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32).transpose(0, 3, 1, 2)
    y = MaxPool2d(2)(x)
    assert y.dtype == np.float32 and y.shape == (2, 3, 3, 3)
    np.testing.assert_array_equal(y, F.max_pool2d(torch.from_numpy(np.ascontiguousarray(x)), 2))
    for layer in (MaxPool2d(2), AvgPool2d(2), GlobalAvgPool2d()):
        with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
            layer(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="smaller than the kernel"):
        MaxPool2d(3)(np.zeros((1, 1, 2, 2)))
