import numpy as np
import pytest
import torch

from dlf.scratch import Flatten, check_layer


@pytest.mark.parametrize(
    "shape, start_dim", [((2, 3), 1), ((4, 1, 28, 28), 1), ((2, 3, 4, 5), 1), ((2, 3, 4, 5), 2)]
)
def test_matches_torch(torch_parity, shape, start_dim):
    x = np.random.default_rng(0).standard_normal(shape)
    torch_parity(Flatten(start_dim), x, lambda x, p: torch.flatten(x, start_dim))


def test_gradcheck():
    errors = check_layer(Flatten(), np.random.default_rng(0).standard_normal((2, 3, 4)))
    assert errors["x"] <= 1e-7
