"""Learning-rate schedules: step decay, cosine annealing and linear warm-up.

A schedule is a callable ``schedule(t) -> lr`` of the step count ``t = 0, 1, 2, ...`` (an epoch
or an iteration: the caller decides which); a training loop sets ``opt.lr = schedule(t)`` before
each step. They are small frozen dataclasses, so a run's config can record them. Each equals a
``torch.optim.lr_scheduler`` counterpart, named in its docstring (and tested against it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

Schedule = Callable[[int], float]


@dataclass(frozen=True)
class Constant:
    """``lr(t) = lr``: no schedule. Example: ``Constant(0.1)(99)`` -> 0.1."""

    lr: float

    def __call__(self, t: int) -> float:
        return self.lr


@dataclass(frozen=True)
class StepDecay:
    """Step decay: ``lr(t) = lr * gamma ** floor(t / step_size)`` (torch ``StepLR``).

    Example: ``StepDecay(0.1, step_size=10, gamma=0.5)`` gives 0.1 for t = 0..9, 0.05 for
    t = 10..19, 0.025 from t = 20.
    """

    lr: float
    step_size: int
    gamma: float = 0.1

    def __post_init__(self):
        if self.step_size < 1:
            raise ValueError(f"step_size must be >= 1, got {self.step_size}")

    def __call__(self, t: int) -> float:
        return self.lr * self.gamma ** (t // self.step_size)


@dataclass(frozen=True)
class CosineAnnealing:
    """Cosine annealing (Loshchilov & Hutter, 2017) from ``lr`` down to ``min_lr`` over ``total``:

        lr(t) = min_lr + (lr - min_lr) * (1 + cos(pi * min(t, total) / total)) / 2

    Equal to torch ``CosineAnnealingLR(T_max=total, eta_min=min_lr)`` for ``t <= total``; past
    ``total`` it stays at ``min_lr`` (torch's would rise again). Example:
    ``CosineAnnealing(1.0, total=4)`` gives 1.0, 0.854, 0.5, 0.146, 0.0 for t = 0..4.
    """

    lr: float
    total: int
    min_lr: float = 0.0

    def __post_init__(self):
        if self.total < 1:
            raise ValueError(f"total must be >= 1 step, got {self.total}")

    def __call__(self, t: int) -> float:
        frac = min(t, self.total) / self.total
        return self.min_lr + (self.lr - self.min_lr) * (1 + math.cos(math.pi * frac)) / 2


@dataclass(frozen=True)
class LinearWarmup:
    """Linear warm-up (Goyal et al., 2017) for ``warmup`` steps, then the schedule ``after``:

        lr(t) = after(0) * (start_factor + (1 - start_factor) * t / warmup)    for t < warmup
        lr(t) = after(t - warmup)                                               for t >= warmup

    ``after`` starts its own count when the warm-up ends, so ``LinearWarmup(CosineAnnealing(lr,
    total - warmup), warmup)`` is warm-up then cosine over ``total`` steps in all. Equal to torch
    ``SequentialLR([LinearLR(start_factor, 1.0, total_iters=warmup), <after>],
    milestones=[warmup])``. Example: ``LinearWarmup(Constant(1.0), warmup=4, start_factor=0.0)``
    gives 0, 0.25, 0.5, 0.75, 1.0, 1.0, ...
    """

    after: Schedule
    warmup: int
    start_factor: float = 0.0

    def __post_init__(self):
        if self.warmup < 1:
            raise ValueError(f"warmup must be >= 1 step, got {self.warmup}")
        if not 0.0 <= self.start_factor <= 1.0:
            raise ValueError(f"start_factor must be in [0, 1], got {self.start_factor}")

    def __call__(self, t: int) -> float:
        if t >= self.warmup:
            return self.after(t - self.warmup)
        return self.after(0) * (self.start_factor + (1 - self.start_factor) * t / self.warmup)
