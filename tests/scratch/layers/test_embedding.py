import numpy as np
import pytest
import torch.nn.functional as F

from dlf.scratch import Embedding, check_layer


@pytest.mark.parametrize("ids_shape", [(1,), (5,), (3, 4), (2, 3, 2)])
@pytest.mark.parametrize("num, dim", [(4, 3), (50, 8)])
def test_matches_torch_including_repeated_ids(torch_parity, ids_shape, num, dim):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, min(num, 3), ids_shape)  # few distinct ids: repeats must accumulate
    torch_parity(Embedding(num, dim, rng=rng), ids, lambda x, p: F.embedding(x, p["W"]))


def test_gradcheck_and_no_input_gradient():
    rng = np.random.default_rng(1)
    layer = Embedding(6, 4, rng=rng)
    errors = check_layer(layer, rng.integers(0, 6, (3, 5)))
    assert set(errors) == {"W"} and errors["W"] <= 1e-7
    assert layer.backward(np.ones((3, 5, 4))) is None


def test_rejects_bad_ids():
    layer = Embedding(5, 2)
    with pytest.raises(IndexError, match=r"\[0, 5\)"):
        layer(np.array([0, 5]))
    with pytest.raises(TypeError, match="integer"):
        layer(np.array([0.0, 1.0]))
