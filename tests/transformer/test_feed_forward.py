import pytest
import torch
from torch import nn

from dlf.transformer import PositionwiseFeedForward


@pytest.mark.parametrize(("activation", "reference"), [("relu", nn.ReLU()), ("gelu", nn.GELU())])
@pytest.mark.parametrize("shape", [(3, 8), (2, 5, 8), (2, 3, 4, 8)])
def test_matches_linear_activation_linear(activation, reference, shape):
    torch.manual_seed(0)
    ffn = PositionwiseFeedForward(8, 32, activation=activation).double()
    ref = nn.Sequential(nn.Linear(8, 32), reference, nn.Linear(32, 8)).double()
    ref[0].load_state_dict(ffn.W_1.state_dict())
    ref[2].load_state_dict(ffn.W_2.state_dict())
    x = torch.randn(*shape, dtype=torch.float64)
    torch.testing.assert_close(ffn(x), ref(x), rtol=0, atol=1e-12)


def test_acts_on_each_position_separately():
    torch.manual_seed(1)
    ffn = PositionwiseFeedForward(6, 12).double()
    x = torch.randn(2, 5, 6, dtype=torch.float64)
    per_position = torch.stack([ffn(x[:, t]) for t in range(5)], dim=1)
    torch.testing.assert_close(ffn(x), per_position, rtol=0, atol=1e-12)


def test_unknown_activation_names_the_choices():
    with pytest.raises(ValueError, match="gelu"):
        PositionwiseFeedForward(4, 8, activation="swish")
