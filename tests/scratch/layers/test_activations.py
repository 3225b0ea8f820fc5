import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlf.scratch import GELU, LeakyReLU, ReLU, Sigmoid, Tanh, check_layer, erf, sigmoid

CASES = {
    "ReLU": (ReLU, F.relu),
    "LeakyReLU": (LeakyReLU, lambda x: F.leaky_relu(x, 0.01)),
    "LeakyReLU(0.2)": (lambda: LeakyReLU(0.2), lambda x: F.leaky_relu(x, 0.2)),
    "Sigmoid": (Sigmoid, torch.sigmoid),
    "Tanh": (Tanh, torch.tanh),
    "GELU": (GELU, F.gelu),
    "GELU(tanh)": (lambda: GELU("tanh"), lambda x: F.gelu(x, approximate="tanh")),
}
SHAPES = [(1,), (3, 7), (2, 3, 4), (64, 33)]


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("shape", SHAPES)
def test_activation_matches_torch(torch_parity, name, shape):
    make, ref = CASES[name]
    x = 3 * np.random.default_rng(0).standard_normal(shape)
    torch_parity(make(), x, lambda x, p: ref(x))


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 2)])
def test_activation_gradcheck(name, shape):
    x = 2 * np.random.default_rng(1).standard_normal(shape)
    errors = check_layer(CASES[name][0](), x)
    assert errors["x"] <= 1e-7, errors


def test_erf_matches_math_erf_and_torch():
    x = np.concatenate([np.linspace(-9, 9, 20001), [0.0, -0.0, 1e-300, -1e-8, 5.9999, 6.0001]])
    y = erf(x)
    ref = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(y - ref)) <= 1e-12
    small = np.abs(ref) < 1e-3  # relative accuracy near 0, where erf(x) ~ 2x / sqrt(pi)
    assert np.max(np.abs(y[small] - ref[small]) / np.maximum(np.abs(ref[small]), 1e-300)) < 1e-12
    assert np.max(np.abs(y - torch.special.erf(torch.from_numpy(x)).numpy())) <= 1e-12
    assert erf(np.float32([0.5])).dtype == np.float32 and np.isnan(erf(np.array([np.nan])))[0]


def test_sigmoid_is_stable_for_large_inputs():
    with np.errstate(over="raise"):
        y = sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(y, [0.0, 0.5, 1.0])


@pytest.mark.parametrize("name", CASES)
def test_activation_keeps_float32(name):
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    layer = CASES[name][0]()
    assert layer(x).dtype == np.float32
    assert layer.backward(np.ones_like(x)).dtype == np.float32


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="'none' or 'tanh'"):
        GELU("sigmoid")
