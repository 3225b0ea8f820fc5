"""The ill-conditioned quadratic and optimizer paths on it."""

import math

import numpy as np
import pytest

from dlf.scratch import SGD, Momentum, check_loss
from dlf.scratch.quadratic import Quadratic, optimizer_path


@pytest.mark.parametrize("angle", [0.0, 0.4, math.pi / 3])
def test_gradient_and_hessian(angle):
    f = Quadratic((0.5, 20.0), angle, minimum=(1.0, -2.0))
    w = np.array([0.3, 0.7])
    err = check_loss(lambda v: (f(v), f.grad(v)), w)
    assert err["x"] < 1e-9
    np.testing.assert_allclose(np.linalg.eigvalsh(f.hessian), [0.5, 20.0])
    assert f(np.array(f.minimum)) == 0.0 and f.condition_number == 40.0
    grid = np.stack([w, w + 1])
    np.testing.assert_allclose(f(grid), [f(w), f(w + 1)])


def test_sgd_path_is_the_gradient_descent_recursion():
    f = Quadratic((1.0, 10.0))
    path = optimizer_path(f, SGD(0.05), (2.0, 1.0), 5)
    assert path.shape == (6, 2)
    # along each axis: w_k = (1 - lr * curvature)^k w_0
    np.testing.assert_allclose(path[:, 0], 2.0 * 0.95 ** np.arange(6))
    np.testing.assert_allclose(path[:, 1], 1.0 * 0.5 ** np.arange(6))


def test_momentum_beats_sgd_on_an_ill_conditioned_bowl():
    f = Quadratic((0.5, 50.0))
    sgd = f(optimizer_path(f, SGD(1.9 / 50), (-4.0, 1.0), 100)[-1])
    mom = f(optimizer_path(f, Momentum(1 / 50, 0.9), (-4.0, 1.0), 100)[-1])
    assert mom < 1e-2 * sgd
