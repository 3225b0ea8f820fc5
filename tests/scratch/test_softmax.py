"""The stable, maskable softmax of dlf.scratch against torch.softmax (float64)."""

import numpy as np
import pytest
import torch

from dlf.scratch import numerical_gradient, relative_error, softmax, softmax_backward


@pytest.mark.parametrize("shape, axis", [((5,), -1), ((3, 7), -1), ((2, 3, 4), 1), ((4, 6), 0)])
def test_softmax_equals_torch(shape, axis):
    z = np.random.default_rng(0).standard_normal(shape) * 5
    want = torch.softmax(torch.from_numpy(z), dim=axis).numpy()
    np.testing.assert_allclose(softmax(z, axis=axis), want, rtol=0, atol=1e-14)


def test_softmax_is_stable_for_huge_logits():
    p = softmax(np.array([1000.0, 1000.0, -1000.0]))
    np.testing.assert_allclose(p, [0.5, 0.5, 0.0], atol=1e-300)


def test_masked_softmax_zeroes_masked_entries_and_empty_rows():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((6, 5)) * 3
    mask = rng.random((6, 5)) < 0.6
    mask[2] = False  # a row with nothing allowed
    mask[3] = True
    p = softmax(z, mask=mask)
    assert np.all(p[~mask] == 0) and np.all(np.isfinite(p))
    rows = mask.any(axis=1)
    np.testing.assert_allclose(p[rows].sum(axis=1), 1.0, atol=1e-14)
    want = torch.softmax(torch.from_numpy(z).masked_fill(torch.from_numpy(~mask), -np.inf), -1)
    np.testing.assert_allclose(p[rows], want.numpy()[rows], atol=1e-14)
    assert softmax(z.astype(np.float32), mask=mask).dtype == np.float32


@pytest.mark.parametrize("masked", [False, True])
def test_softmax_backward_gradcheck(masked):
    rng = np.random.default_rng(2)
    z = rng.standard_normal((4, 6))
    mask = rng.random((4, 6)) < 0.7 if masked else None
    if masked:
        mask[1] = False
    r = rng.standard_normal((4, 6))
    p = softmax(z, mask=mask)
    analytic = softmax_backward(p, r)
    numeric = numerical_gradient(lambda v: float(np.sum(softmax(v, mask=mask) * r)), z)
    assert relative_error(analytic, numeric) <= 1e-7
