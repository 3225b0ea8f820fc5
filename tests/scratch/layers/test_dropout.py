import numpy as np
import pytest

from dlf.scratch import Dropout, check_layer


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_train_mask_values_rate_and_expected_value(p):
    drop = Dropout(p, rng=np.random.default_rng(0))
    x = np.full((400, 500), 2.0, dtype=np.float32)
    y = drop(x)
    assert y.dtype == np.float32 and y.shape == x.shape
    kept = y != 0
    np.testing.assert_allclose(y[kept], 2.0 / (1 - p), rtol=1e-6)  # survivors scaled by 1/(1-p)
    assert abs((~kept).mean() - p) < 0.005  # 200k draws: std of the rate <= 0.0012
    assert abs(y.mean() - 2.0) < 0.03 * 2.0  # inverted dropout keeps E[y] = x


def test_backward_uses_the_forward_mask():
    drop = Dropout(0.5, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((8, 9))
    y = drop(x)
    dx = drop.backward(np.ones_like(x))
    np.testing.assert_array_equal(dx == 0, y == 0)
    np.testing.assert_allclose(dx[dx != 0], 2.0)
    np.testing.assert_allclose(y, x * dx)


def test_eval_and_p0_are_identity_p1_drops_all():
    x = np.random.default_rng(0).standard_normal((5, 6))
    drop = Dropout(0.7).eval()
    assert not drop.training
    np.testing.assert_array_equal(drop(x), x)
    np.testing.assert_array_equal(drop.backward(x), x)
    np.testing.assert_array_equal(Dropout(0.0)(x), x)
    full = Dropout(1.0)
    np.testing.assert_array_equal(full(x), 0)
    np.testing.assert_array_equal(full.backward(x), 0)
    assert drop.train() is drop and drop.training


def test_seeded_masks_repeat_and_differ_between_calls():
    x = np.ones((20, 20))
    a = Dropout(0.5, rng=np.random.default_rng(3))
    b = Dropout(0.5, rng=np.random.default_rng(3))
    first = a(x)
    np.testing.assert_array_equal(first, b(x))
    assert not np.array_equal(first, a(x))


def test_gradcheck_with_fixed_mask():
    drop = Dropout(0.4)

    def reseed():
        drop.rng = np.random.default_rng(7)

    errors = check_layer(
        drop, np.random.default_rng(0).standard_normal((6, 5)), before_forward=reseed
    )
    assert errors["x"] <= 1e-7


def test_rejects_bad_probability():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Dropout(1.5)
