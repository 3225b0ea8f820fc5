"""Module 1's critical checkpoints, each proven by a number on synthetic data in about a second.

``dlf checkpoints`` runs the list ``CHECKPOINTS``; each check returns ``Evidence(passed, figure)``.
"""

from __future__ import annotations

import numpy as np

from dlf.path import Checkpoint, Evidence
from dlf.scratch.gradcheck import TOLERANCE, check_layer
from dlf.scratch.layers import Dropout, Linear
from dlf.scratch.losses import is_decayed, softmax_cross_entropy
from dlf.scratch.mlp import mlp
from dlf.scratch.optim import SGD, Adam, Momentum
from dlf.scratch.quadratic import Quadratic, optimizer_path
from dlf.scratch.trainer import evaluate, fit


def _random_biases(model, rng: np.random.Generator) -> None:
    """Non-zero biases, so that no ReLU input sits exactly on its kink during the check."""
    for p in model.params.values():
        if p.ndim == 1:
            p[...] = rng.uniform(-0.5, 0.5, p.shape)


def check_backprop() -> Evidence:
    """An MLP (Linear-BatchNorm-ReLU x2, then Linear) passes gradient check in float64."""
    rng = np.random.default_rng(0)
    model = mlp((6, 8, 8, 4), batch_norm=True, dtype=np.float64, rng=rng)
    _random_biases(model, rng)
    errors = check_layer(model, rng.standard_normal((10, 6)))
    worst = max(errors.values())
    return Evidence(
        worst <= TOLERANCE,
        f"6-8-8-4 MLP with BatchNorm: max rel. error {worst:.1e} over x and "
        f"{len(errors) - 1} parameters (tolerance {TOLERANCE:g})",
    )


class PlantedBugLinear(Linear):
    """A Linear layer whose backward forgets nothing but doubles ``dW``: a planted bug."""

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx = super().backward(dout)
        self.grads["W"] *= 2
        return dx


def check_gradcheck_catches_bug() -> Evidence:
    """Gradient checking tells a correct backward (tiny error) from a planted wrong one (large)."""
    x = np.random.default_rng(1).standard_normal((5, 4))
    good = max(check_layer(Linear(4, 3, rng=np.random.default_rng(2)), x).values())
    bad = max(check_layer(PlantedBugLinear(4, 3, rng=np.random.default_rng(2)), x).values())
    return Evidence(
        good <= TOLERANCE < 1e-3 < bad,
        f"planted bug (dW doubled): rel. error {bad:.2f}; correct Linear {good:.1e}",
    )


def check_optimizers() -> Evidence:
    """On f = 1/2 (0.5 w1^2 + 50 w2^2) (condition number 100), 100 steps from (-4, 1): momentum
    and Adam get below 1e-2, plain SGD at a stable learning rate (1.9 / 50) does not."""
    f = Quadratic((0.5, 50.0))
    target, steps, start = 1e-2, 100, (-4.0, 1.0)
    loss = {
        name: f(optimizer_path(f, opt, start, steps)[-1])
        for name, opt in (
            ("SGD", SGD(1.9 / 50)),
            ("momentum", Momentum(1 / 50, 0.9)),
            ("Adam", Adam(0.1)),
        )
    }
    return Evidence(
        loss["momentum"] < target and loss["Adam"] < target <= loss["SGD"],
        f"f after {steps} steps (condition number 100, f0 = {f(np.array(start)):g}): "
        + ", ".join(f"{k} {v:.1e}" for k, v in loss.items())
        + f"; target {target:g}",
    )


def _blobs(n: int, seed: int, spread: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Three overlapping Gaussian clouds in 10-D (fixed centres, ``spread`` their std):
    x (n, 10) float32, y (n,) in {0, 1, 2}; ``seed`` draws the samples."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centers = np.random.default_rng(123).standard_normal((3, 10))
    return (centers[y] + spread * rng.standard_normal((n, 10))).astype(np.float32), y


def _weight_norm(model) -> float:
    return float(np.sqrt(sum(np.sum(p**2) for k, p in model.params.items() if is_decayed(k, p))))


def check_l2_shrinks_weights() -> Evidence:
    """The same net, data and batches with and without L2 (lambda = 0.01): smaller ||W||."""
    x, y = _blobs(200, 0)
    norms = {}
    for lam in (0.0, 0.01):
        model = mlp((10, 32, 3), rng=np.random.default_rng(0))
        fit(
            model, softmax_cross_entropy, SGD(0.1), x, y, epochs=30, batch_size=20, weight_decay=lam
        )
        norms[lam] = _weight_norm(model)
    ratio = norms[0.01] / norms[0.0]
    return Evidence(
        ratio < 0.9,
        f"||W|| {norms[0.01]:.2f} with L2 (lambda 0.01) vs {norms[0.0]:.2f} without "
        f"(ratio {ratio:.2f})",
    )


def check_dropout_expectation() -> Evidence:
    """Inverted dropout: mean output / mean input ~ 1 in training; identity in evaluation."""
    x = np.random.default_rng(0).uniform(0.5, 1.5, (1000, 1000))
    ratios = {}
    for p in (0.2, 0.5, 0.8):
        drop = Dropout(p, rng=np.random.default_rng(1))
        ratios[p] = float(drop.forward(x).mean() / x.mean())
    drop.eval()
    identity = bool(np.array_equal(drop.forward(x), x))
    worst = max(abs(r - 1) for r in ratios.values())
    return Evidence(
        worst < 0.01 and identity,
        "mean ratio "
        + ", ".join(f"{r:.4f} (p={p})" for p, r in ratios.items())
        + f" over 1e6 units; eval is identity: {identity}",
    )


def check_early_stopping() -> Evidence:
    """A wide net on 60 overlapping points over-fits: the validation loss falls, then rises.
    Early stopping puts back the weights of the lowest-validation-loss epoch, equal to those of
    a run stopped by hand at that epoch."""
    data = (*_blobs(60, 0, spread=1.5), *_blobs(300, 1, spread=1.5))
    x_va, y_va = data[2], data[3]

    def train(epochs: int, patience: int | None):
        model = mlp((10, 128, 3), rng=np.random.default_rng(0))
        h = fit(
            model,
            softmax_cross_entropy,
            Adam(0.003),
            *data,
            epochs=epochs,
            batch_size=10,
            patience=patience,
        )
        return model, h

    model, h = train(100, patience=5)
    by_hand, _ = train(h.best_epoch, patience=None)
    same = all(np.array_equal(model.params[k], v) for k, v in by_hand.params.items())
    restored = evaluate(model, x_va, y_va)[0]
    return Evidence(
        h.stopped_early and same and restored == min(h.val_loss) < h.val_loss[-1],
        f"stopped after epoch {h.epochs_run}, best epoch {h.best_epoch}: restored val loss "
        f"{restored:.4f} (last epoch {h.val_loss[-1]:.4f}); weights equal the best epoch's: "
        f"{same}",
    )


CHECKPOINTS = [
    Checkpoint(1, "backprop", "an MLP passes gradient check", check_backprop),
    Checkpoint(
        1, "gradient checking", "it catches a planted wrong backward", check_gradcheck_catches_bug
    ),
    Checkpoint(
        1,
        "optimizers",
        "momentum and Adam beat SGD on an ill-conditioned quadratic",
        check_optimizers,
    ),
    Checkpoint(1, "L2", "weight decay shrinks the weights", check_l2_shrinks_weights),
    Checkpoint(
        1, "dropout", "inverted dropout keeps the expected activation", check_dropout_expectation
    ),
    Checkpoint(1, "early stopping", "it restores the best epoch's weights", check_early_stopping),
]
