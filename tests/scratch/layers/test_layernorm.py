import numpy as np
import pytest
import torch.nn.functional as F

from dlf.scratch import LayerNorm, check_layer

CASES = [((4, 8), (8,)), ((2, 3, 5), (5,)), ((2, 3, 5), (3, 5)), ((1, 1), (1,)), ((16, 64), (64,))]


def _random_affine(layer, rng):
    layer.params["gamma"][...] = rng.uniform(0.5, 1.5, layer.params["gamma"].shape)
    layer.params["beta"][...] = rng.standard_normal(layer.params["beta"].shape)
    return layer


@pytest.mark.parametrize("shape, normalized", CASES)
def test_matches_torch(torch_parity, shape, normalized):
    rng = np.random.default_rng(0)
    layer = _random_affine(LayerNorm(normalized), rng)
    x = 3 * rng.standard_normal(shape) + 1

    def ref(x, p):
        return F.layer_norm(x, normalized, p["gamma"], p["beta"], eps=1e-5)

    torch_parity(layer, x, ref)


@pytest.mark.parametrize("shape, normalized", CASES[:3])
def test_gradcheck(shape, normalized):
    rng = np.random.default_rng(1)
    errors = check_layer(_random_affine(LayerNorm(normalized), rng), rng.standard_normal(shape))
    assert max(errors.values()) <= 1e-7, errors


def test_without_affine_and_bad_shape():
    x = np.random.default_rng(0).standard_normal((3, 6))
    layer = LayerNorm(6, elementwise_affine=False)
    assert layer.params == {}
    np.testing.assert_allclose(layer.astype(np.float64)(x).mean(-1), 0, atol=1e-12)
    with pytest.raises(ValueError, match="ending in"):
        LayerNorm(5)(x)
