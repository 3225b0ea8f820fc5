import math

import pytest
import torch
import torch.nn.functional as F

from dlf.cnn import lenet5
from dlf.cnn.models.lenet import ScaledTanh

# Hand count, (fan_in + 1) * units: C1 (1*5*5+1)*6, C3 (6*5*5+1)*16, C5 (16*5*5+1)*120,
# F6 (120+1)*84, output (84+1)*10.
LENET5_PARAMS = 156 + 2416 + 48120 + 10164 + 850


@pytest.mark.parametrize("input_size", [32, 28])
def test_parameter_count_and_output_shape(input_size):
    model = lenet5(input_size=input_size)
    assert sum(p.numel() for p in model.parameters()) == LENET5_PARAMS == 61706
    assert model(torch.randn(2, 1, input_size, input_size)).shape == (2, 10)


def test_28x28_input_is_the_32x32_net_on_a_zero_padded_image():
    torch.manual_seed(0)
    net28, net32 = lenet5(input_size=28), lenet5(input_size=32)
    net32.load_state_dict(net28.state_dict())
    x = torch.randn(3, 1, 28, 28)
    torch.testing.assert_close(net28(x), net32(F.pad(x, (2, 2, 2, 2))))


def test_in_channels_and_num_classes():
    assert lenet5(num_classes=7, in_channels=3)(torch.randn(1, 3, 32, 32)).shape == (1, 7)


def test_paper_initialisation_bounds():
    torch.manual_seed(0)
    model = lenet5()
    for layer in (model.c1, model.c3, model.c5, model.f6, model.output):
        bound = 2.4 / layer.weight[0].numel()
        assert layer.weight.abs().max() <= bound
        assert layer.weight.abs().max() > 0.9 * bound  # uniform over the whole interval
        assert torch.all(layer.bias == 0)


def test_scaled_tanh_maps_plus_minus_one_to_about_plus_minus_one():
    a = torch.tensor([-1.0, 0.0, 1.0, 3.0])
    torch.testing.assert_close(ScaledTanh()(a), 1.7159 * torch.tanh(2 / 3 * a))
    assert math.isclose(float(ScaledTanh()(torch.tensor(1.0))), 1.0, abs_tol=2e-4)


def test_other_input_sizes_are_refused():
    with pytest.raises(ValueError, match="32x32"):
        lenet5(input_size=30)
