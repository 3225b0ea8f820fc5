"""A 2-D ill-conditioned quadratic bowl, the classic test bed for optimizers.

    f(w) = 1/2 (w - w*)^T H (w - w*),   grad f(w) = H (w - w*),
    H = R(angle) diag(curvatures) R(angle)^T

The condition number ``kappa = max(curvatures) / min(curvatures)`` measures how stretched the
bowl is: plain gradient descent must keep ``lr < 2 / max curvature`` to stay stable along the
steep axis, and then crawls along the flat one, shrinking that error only by
``(1 - lr * min curvature)`` a step. Momentum and adaptive methods cut through the valley.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dlf.scratch.optim import Optimizer


@dataclass(frozen=True)
class Quadratic:
    """``f(w) = 1/2 (w - w*)^T H (w - w*)`` on R^2, minimum 0 at ``w* = minimum``.

    ``curvatures`` are the eigenvalues of H; ``angle`` (radians) rotates its eigenvectors away
    from the axes (a rotated bowl is harder for per-coordinate methods such as Adam).
    Example: ``Quadratic((1.0, 10.0))(np.array([1.0, 1.0]))`` -> 0.5 * (1 + 10) = 5.5.
    """

    curvatures: tuple[float, float] = (1.0, 50.0)
    angle: float = 0.0
    minimum: tuple[float, float] = (0.0, 0.0)

    @property
    def hessian(self) -> np.ndarray:
        """H = R diag(curvatures) R^T, shape (2, 2)."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        rot = np.array([[c, -s], [s, c]])
        return rot @ np.diag(self.curvatures) @ rot.T

    @property
    def condition_number(self) -> float:
        return max(self.curvatures) / min(self.curvatures)

    def __call__(self, w: np.ndarray) -> np.ndarray | float:
        """f at ``w`` of shape (2,) -> float, or at a grid of points (..., 2) -> (...)."""
        d = np.asarray(w, dtype=np.float64) - np.asarray(self.minimum)
        value = 0.5 * np.einsum("...i,ij,...j->...", d, self.hessian, d)
        return float(value) if np.ndim(value) == 0 else value

    def grad(self, w: np.ndarray) -> np.ndarray:
        """``H (w - w*)``, shape (2,)."""
        return self.hessian @ (np.asarray(w, dtype=np.float64) - np.asarray(self.minimum))


def optimizer_path(
    f: Quadratic, optimizer: Optimizer, start: tuple[float, float], steps: int
) -> np.ndarray:
    """The points ``w_0 = start, w_1, ..., w_steps`` an optimizer visits on ``f``: (steps + 1, 2).

    Each step is ``optimizer.step({"w": w}, {"w": f.grad(w)})`` (in place, in float64), the same
    call a network's training loop makes. Example: ``optimizer_path(Quadratic(), SGD(0.01),
    (-4, 1), 100)[-1]`` is where plain SGD stands after 100 steps.
    """
    w = np.array(start, dtype=np.float64)
    path = [w.copy()]
    for _ in range(steps):
        optimizer.step({"w": w}, {"w": f.grad(w)})
        path.append(w.copy())
    return np.stack(path)
