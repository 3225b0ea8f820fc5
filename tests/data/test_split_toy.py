import numpy as np
import pytest

from dlf.data import circles, regression_1d, spirals, train_val_split


@pytest.mark.parametrize("n,frac", [(10, 0.2), (1000, 0.1), (7, 0.0)])
def test_split_is_deterministic_disjoint_and_complete(n, frac):
    tr, va = train_val_split(n, frac, seed=3)
    tr2, va2 = train_val_split(n, frac, seed=3)
    assert np.array_equal(tr, tr2) and np.array_equal(va, va2)
    assert len(va) == round(frac * n) and not set(tr) & set(va)
    assert sorted([*tr, *va]) == list(range(n))
    assert not np.array_equal(train_val_split(n, 0.5, seed=4)[1], train_val_split(n, 0.5, 5)[1])


def test_toy_sets_are_seeded_and_shaped():
    x, y = spirals(50, 3, seed=1)
    assert x.shape == (150, 2) and np.bincount(y).tolist() == [50, 50, 50]
    assert np.array_equal(spirals(50, 3, seed=1)[0], x)
    x, y = circles(100, seed=0)
    r = np.linalg.norm(x, axis=1)
    assert r[y == 1].mean() < r[y == 0].mean()
    x, y = regression_1d(40, noise=0.0)
    assert np.allclose(y, np.sin(2 * np.pi * x))
