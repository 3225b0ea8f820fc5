"""Recipe ``init-and-lr``: initialisation, a learning-rate range test and the debugging checks.

Three parts, each a habit of the path (CS231n "Neural Networks 2/3"; Karpathy, "A recipe for
training neural networks"):

1. Activations and gradients of a deep net (``hidden_layers`` tanh or ReLU layers) under each
   initialisation, on one batch of MNIST. With ``Var(h_l) ~ fan_in * Var(W) * Var(h_{l-1})``
   (times 1/2 after a ReLU) the scale of the signal is multiplied by the same factor at every
   layer: below 1 it collapses to zero (small normal), above 1 it explodes (N(0, 1), "large")
   or saturates tanh; Xavier (Var(W) = 2/(fan_in+fan_out)) keeps tanh near 1, He (2/fan_in)
   keeps ReLU there. The same factor multiplies the gradients on the way back.
2. A learning-rate range test (Smith, 2017): one pass of SGD with momentum whose rate grows
   exponentially, ``lr_t = lr_min * (lr_max / lr_min)^(t / (T-1))``, records the loss against
   lr; the loss falls, flattens and then blows up. The suggested rate is a tenth of the rate at
   the lowest (smoothed) loss; short runs at suggestion/10, suggestion and 10 x suggestion check it.
3. Checks before any long run, each printing a verdict:
   - the loss at initialisation is about ln(classes) (a uniform guess over C classes);
   - a tiny batch can be over-fitted to near-zero loss (the model and its backward can learn);
   - one update changes each hidden weight matrix by about 1e-3 of its norm (||dW|| / ||W||);
     the output layer, started ``last_layer_scale`` times smaller on purpose, is shown apart.

All training goes through :func:`dlf.scratch.trainer.fit`. This module computes;
:mod:`dlf.scratch.recipes.init_and_lr_report` draws the figures and writes the report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from dlf.recipes import ConfigError, Recipe
from dlf.recipes.config import ranged
from dlf.runs import RunDir
from dlf.scratch.init import small_normal
from dlf.scratch.layers import Linear, Sequential
from dlf.scratch.losses import softmax_cross_entropy
from dlf.scratch.mlp import ACTIVATIONS, mlp
from dlf.scratch.optim import Adam, Momentum
from dlf.scratch.recipes import init_and_lr_report as report
from dlf.scratch.recipes.mnist_data import mnist_splits
from dlf.scratch.trainer import History, evaluate, fit

Activation = Literal["relu", "leaky_relu", "tanh", "sigmoid", "gelu"]
Init = Literal["small", "xavier", "he", "large"]


@dataclass
class InitAndLRConfig:
    # part 1: activation and gradient statistics of a deep net
    hidden_layers: int = ranged(10, ge=1)  # depth of the net whose statistics are shown
    width: int = ranged(256, ge=1)  # units per hidden layer
    activations: tuple[Activation, ...] = ("tanh", "relu")  # one row of figures each
    inits: tuple[Init, ...] = ("small", "xavier", "he", "large")  # "large" = N(0, large_std^2)
    large_std: float = ranged(1.0, gt=0)  # std of the "large" init
    hist_batch: int = ranged(1000, ge=1)  # images for the statistics
    # part 2: learning-rate range test on an MLP
    sizes: tuple[int, ...] = ranged((784, 256, 128, 10), ge=1)  # from 784 pixels to 10 classes
    lr_min: float = ranged(1e-4, gt=0)  # the range test's first learning rate
    lr_max: float = ranged(10.0, gt=0)  # and its last
    range_steps: int = ranged(300, ge=2)  # steps of the range test
    batch_size: int = ranged(128, ge=1)
    momentum: float = ranged(0.9, ge=0, lt=1)
    last_layer_scale: float = ranged(0.1, gt=0)  # the output layer's He weights times this
    verify_epochs: int = ranged(1, ge=1)  # epochs of each short run at a chosen rate
    train_subset: int = ranged(0, ge=0)  # 0 = all 54,000 training images for the short runs
    val_subset: int = ranged(0, ge=0)  # 0 = all 6,000 validation images
    # part 3: checks
    init_loss_tolerance: float = ranged(0.1, gt=0)  # |L0 - ln C| <= tolerance * ln C
    overfit_samples: int = ranged(20, ge=1)  # images of the tiny batch
    overfit_epochs: int = ranged(200, ge=1)  # full-batch Adam steps on it
    overfit_lr: float = ranged(1e-3, gt=0)
    overfit_target: float = ranged(0.01, gt=0)  # the loss it must end below
    ratio_low: float = ranged(1e-4, gt=0)  # the 1e-3 rule of thumb, a factor of 10 either way
    ratio_high: float = ranged(1e-2, gt=0)
    seed: int = ranged(0, ge=0)


def preflight(config: InitAndLRConfig) -> None:
    """Bounds in order (``lr_min < lr_max``, ``ratio_low < ratio_high``), MNIST's sizes."""
    if not config.lr_min < config.lr_max:
        raise ConfigError(f"lr_min must be below lr_max, got {config.lr_min} and {config.lr_max}")
    if not config.ratio_low < config.ratio_high:
        raise ConfigError(
            f"ratio_low must be below ratio_high, got {config.ratio_low} and {config.ratio_high}"
        )
    if len(config.sizes) < 3 or config.sizes[0] != 784 or config.sizes[-1] != 10:
        raise ConfigError(
            f"sizes must run from 784 (pixels) through a hidden layer to 10 (classes), got "
            f"{config.sizes}"
        )


@dataclass
class InitStats:
    """Part 1 for one (activation, init): per-layer outputs and gradients, their stds, the loss.

    ``acts[l]`` and ``grads[l]`` are (N, width) arrays, input side first; ``last_layer`` says
    how the deepest layer looks (saturated tanh units, or inactive ReLUs).
    """

    activation: str
    init: str
    acts: list[np.ndarray]
    grads: list[np.ndarray]
    loss: float
    last_layer: str
    act_std: list[float] = field(init=False)
    grad_std: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self.act_std = [float(a.std()) for a in self.acts]
        self.grad_std = [float(g.std()) for g in self.grads]

    @property
    def layers(self) -> list[int]:
        return list(range(1, len(self.acts) + 1))


@dataclass
class RangeTest:
    """Part 2: the learning rate and loss of every step, smoothed, and the rates read off."""

    lrs: np.ndarray
    losses: list[float]
    smoothed: np.ndarray
    pick: dict[str, float]
    diverged: bool


@dataclass
class LRRun:
    """A short run at one learning rate: its history, validation accuracy, smoothed batch
    losses, and ``||dW|| / ||W||`` of one more step for each weight matrix (NaN if diverged)."""

    lr: float
    history: History
    val_acc: float
    smoothed: np.ndarray
    ratios: dict[str, float]


@dataclass
class Check:
    """One debugging check: its name, what was measured, and whether it passed."""

    name: str
    measured: str
    ok: bool


@dataclass(frozen=True)
class ExponentialRange:
    """The range test's schedule: ``lr(t) = lr_min * (lr_max / lr_min) ** (t / (steps - 1))``.

    Grows by the same factor each step, from ``lr_min`` at t = 0 to ``lr_max`` at t = steps - 1
    (held there after). Example: ``ExponentialRange(1e-3, 1.0, 4)`` gives 1e-3, 1e-2, 1e-1, 1.0.
    """

    lr_min: float
    lr_max: float
    steps: int

    def __call__(self, t: int) -> float:
        frac = min(t, self.steps - 1) / max(self.steps - 1, 1)
        return self.lr_min * (self.lr_max / self.lr_min) ** frac


def smooth(values: list[float], beta: float = 0.98) -> np.ndarray:
    """Exponential moving average with bias correction: ``m_t = beta m_{t-1} + (1-beta) v_t``,
    returned as ``m_t / (1 - beta^(t+1))`` (so the first value is ``v_0`` itself).

    Example: ``smooth([1.0, 1.0, 4.0], beta=0.5)`` -> ``[1.0, 1.0, 2.714]``.
    """
    out, m = np.empty(len(values)), 0.0
    for t, v in enumerate(values):
        m = beta * m + (1 - beta) * v
        out[t] = m / (1 - beta ** (t + 1))
    return out


def suggest_lr(lrs: np.ndarray, smoothed: np.ndarray, blowup: float = 4.0) -> dict[str, float]:
    """Read a range test: ``lr_at_min`` (lowest smoothed loss), ``suggested = lr_at_min / 10``,
    and ``steepest``, the lr where the smoothed loss falls fastest per unit of ``log lr``.

    Only the part before the loss first exceeds ``blowup`` times its minimum so far counts.
    Shapes: ``lrs`` (T,), ``smoothed`` (T,). Example: for a loss falling until lr = 0.5 and
    rising after, ``lr_at_min`` = 0.5 and ``suggested`` = 0.05.
    """
    best = np.minimum.accumulate(smoothed)
    over = np.nonzero(~np.isfinite(smoothed) | (smoothed > blowup * best))[0]
    end = int(over[0]) if len(over) else len(smoothed)
    lrs, smoothed = lrs[:end], smoothed[:end]
    i_min = int(np.argmin(smoothed))
    skip = len(smoothed) // 10  # the first smoothed values are still mostly single batches
    if i_min - skip > 1:
        slope = np.gradient(smoothed[skip : i_min + 1], np.log(lrs[skip : i_min + 1]))
        steepest = float(lrs[skip + int(np.argmin(slope))])
    else:
        steepest = float(lrs[i_min])
    lr_at_min = float(lrs[i_min])
    return {"lr_at_min": lr_at_min, "suggested": lr_at_min / 10, "steepest": steepest}


def deep_net(config: InitAndLRConfig, activation: str, init: str, rng) -> Sequential:
    """``hidden_layers`` layers of ``width`` units, 784 -> ... -> 10, weights by scheme ``init``.

    ``init`` is a name of :func:`dlf.scratch.init.init_weight`, or ``"large"``: N(0, large_std^2).
    """
    sizes = (784, *([config.width] * config.hidden_layers), 10)
    if init != "large":
        return mlp(sizes, activation, init=init, rng=rng)
    model = mlp(sizes, activation, init="small", rng=rng)
    for layer in model.layers:
        if isinstance(layer, Linear):
            W = layer.params["W"]
            W[...] = small_normal(W.shape, std=config.large_std, rng=rng)
    return model


def classifier(config: InitAndLRConfig, last_layer_scale: float | None = None) -> Sequential:
    """The MLP of parts 2 and 3: ``mlp(config.sizes)``, ReLU, He init, the last layer's weights
    multiplied by ``last_layer_scale`` (default ``config.last_layer_scale``).

    He init gives logits of std about 1 at random, a loss well above ln(classes); scaling the
    last layer down makes the first prediction nearly uniform, as it should be.
    """
    model = mlp(config.sizes, "relu", init="he", rng=np.random.default_rng(config.seed))
    scale = config.last_layer_scale if last_layer_scale is None else last_layer_scale
    model.layers[-1].params["W"] *= scale
    return model


def update_ratio(before: np.ndarray, after: np.ndarray) -> float:
    """``||after - before|| / ||before||`` (Frobenius norms): the relative size of an update.

    Example: ``update_ratio(np.ones(4), np.ones(4) * 1.001)`` -> 0.001.
    """
    return float(np.linalg.norm(after - before) / np.linalg.norm(before))


def layer_statistics(
    model: Sequential, x: np.ndarray, y: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    """Outputs ``h_l`` of every activation layer, the gradients ``dL/dh_l``, and the loss.

    One forward pass layer by layer (keeping each activation's output) and one backward pass of
    the softmax cross-entropy (keeping the gradient that arrives at each activation's output).
    Shapes: ``x`` (N, 784), ``y`` (N,) -> two lists of (N, width) arrays, input side first.
    """
    is_act = [isinstance(layer, tuple(ACTIVATIONS.values())) for layer in model.layers]
    acts, grads = [], []
    h = x
    for layer, act in zip(model.layers, is_act, strict=True):
        h = layer.forward(h)
        if act:
            acts.append(h)
    loss, dout = softmax_cross_entropy(h, y)
    for layer, act in zip(reversed(model.layers), reversed(is_act), strict=True):
        if act:
            grads.append(dout)
        dout = layer.backward(dout)
    return acts, grads[::-1], loss


def init_statistics(config: InitAndLRConfig, x: np.ndarray, y: np.ndarray) -> list[InitStats]:
    """Part 1: :func:`layer_statistics` of :func:`deep_net` for every activation and init."""
    stats = []
    for activation in config.activations:
        for init in config.inits:
            model = deep_net(config, activation, init, np.random.default_rng(config.seed))
            acts, grads, loss = layer_statistics(model, x, y)
            if activation == "tanh":
                last = f"{np.mean(np.abs(acts[-1]) > 0.99):.0%} saturated (|h|>0.99)"
            else:
                last = f"{np.mean(acts[-1] <= 0):.0%} zero (inactive)"
            stats.append(InitStats(activation, init, acts, grads, loss, last))
    return stats


def range_test(config: InitAndLRConfig, x: np.ndarray, y: np.ndarray, rng) -> RangeTest:
    """Part 2: one pass of SGD with momentum at an exponentially growing rate; the rates."""
    n = config.range_steps * config.batch_size
    pick = rng.choice(len(x), size=n, replace=n > len(x))
    schedule = ExponentialRange(config.lr_min, config.lr_max, config.range_steps)
    hist = fit(
        classifier(config),
        softmax_cross_entropy,
        Momentum(config.lr_min, config.momentum),
        x[pick],
        y[pick],
        epochs=1,
        batch_size=config.batch_size,
        schedule=schedule,
        rng=np.random.default_rng(config.seed),
    )
    lrs = np.array([schedule(t) for t in range(len(hist.batch_loss))])
    smoothed = smooth(hist.batch_loss)
    return RangeTest(lrs, hist.batch_loss, smoothed, suggest_lr(lrs, smoothed), hist.diverged)


def lr_runs(
    config: InitAndLRConfig, data: tuple, probe: np.ndarray, suggested: float, run_dir: RunDir
) -> dict[str, LRRun]:
    """Short runs at suggested / 10, suggested and 10 x suggested; after each, one more step
    (momentum state kept) on the ``probe`` rows measures ``||dW|| / ||W||`` per weight matrix.

    ``data`` is ``(x_train, y_train, x_val, y_val)``. The 10 x run may diverge: that is the point.
    """
    x_tr, y_tr, x_va, y_va = data
    runs = {}
    for label, lr in (
        ("suggested / 10", suggested / 10),
        ("suggested", suggested),
        ("10 x suggested", suggested * 10),
    ):
        run_dir.say(f"lr {lr:.3g} ({label}): {config.verify_epochs} epoch(s)")
        model, opt = classifier(config), Momentum(lr, config.momentum)
        h = fit(
            model,
            softmax_cross_entropy,
            opt,
            x_tr,
            y_tr,
            x_va,
            y_va,
            epochs=config.verify_epochs,
            batch_size=config.batch_size,
            rng=np.random.default_rng(config.seed),
            run_dir=run_dir,
            tags={"lr_run": label},
        )
        before = {k: p.copy() for k, p in model.params.items() if p.ndim == 2}
        if not h.diverged:
            fit(
                model,
                softmax_cross_entropy,
                opt,
                x_tr[probe],
                y_tr[probe],
                epochs=1,
                batch_size=config.batch_size,
            )
        ratios = {
            k: math.nan if h.diverged else update_ratio(before[k], model.params[k]) for k in before
        }
        val_acc = h.val_acc[-1] if h.val_acc else math.nan
        runs[label] = LRRun(lr, h, val_acc, smooth(h.batch_loss, 0.9), ratios)
    return runs


def overfit_tiny_batch(config: InitAndLRConfig, x: np.ndarray, y: np.ndarray, n_classes: int):
    """Train :func:`classifier` on ``overfit_samples`` images (as many of each class as can be)
    with Adam; returns ``(history, final loss, final accuracy, images)``."""
    per_class = -(-config.overfit_samples // n_classes)
    few = np.concatenate([np.nonzero(y == c)[0][:per_class] for c in range(n_classes)])[
        : config.overfit_samples
    ]
    tiny = classifier(config)
    h = fit(
        tiny,
        softmax_cross_entropy,
        Adam(config.overfit_lr),
        x[few],
        y[few],
        epochs=config.overfit_epochs,
        batch_size=len(few),
        rng=np.random.default_rng(config.seed),
    )
    h.raise_if_diverged("loss of the tiny-batch check", advice="try a lower overfit_lr")
    loss, acc = evaluate(tiny, x[few], y[few])
    return h, loss, acc, len(few)


def check_loss_at_init(config: InitAndLRConfig, x: np.ndarray, y: np.ndarray, summary) -> Check:
    """The loss of the untrained :func:`classifier` on ``(x, y)`` is about ln(classes)."""
    n_classes = config.sizes[-1]
    ln_c = math.log(n_classes)
    loss0, _ = evaluate(classifier(config), x, y)
    loss0_he, _ = evaluate(classifier(config, last_layer_scale=1.0), x, y)
    ok = abs(loss0 - ln_c) <= config.init_loss_tolerance * ln_c
    summary |= {
        "loss_at_init": loss0,
        "loss_at_init_unscaled": loss0_he,
        "ln_classes": ln_c,
        "check_loss_at_init": ok,
    }
    return Check(
        "the loss at initialisation is ln(classes), a uniform guess",
        f"{loss0:.4f} vs ln {n_classes} = {ln_c:.4f} (within {config.init_loss_tolerance:.0%}?); "
        f"with the last layer not scaled down (He throughout): {loss0_he:.4f}",
        ok,
    )


def check_overfit(
    config: InitAndLRConfig, x: np.ndarray, y: np.ndarray, summary: dict, run_dir: RunDir
) -> Check:
    """A tiny batch can be over-fitted to a loss below ``overfit_target``."""
    h, loss, acc, n_few = overfit_tiny_batch(config, x, y, config.sizes[-1])
    ok = loss < config.overfit_target
    summary |= {"overfit_loss": loss, "overfit_accuracy": acc, "check_overfit": ok}
    for t, batch_loss in enumerate(h.batch_loss):
        run_dir.log(t, overfit_loss=batch_loss)
    report.report_overfit(run_dir, h.batch_loss, n_few)
    return Check(
        f"a tiny batch ({n_few} images) can be over-fitted to a loss near 0",
        f"loss {loss:.2e} after {config.overfit_epochs} Adam steps (target < "
        f"{config.overfit_target:g}), accuracy {acc:.0%}",
        ok,
    )


def check_update_ratio(config: InitAndLRConfig, at: LRRun, summary: dict) -> Check:
    """Each hidden weight matrix's ``||dW|| / ||W||`` in ``[ratio_low, ratio_high]`` after the
    run ``at``. The output layer is shown apart: scaled down at init, its ||W|| starts small."""
    output = list(at.ratios)[-1]
    hidden = {k: r for k, r in at.ratios.items() if k != output}
    ok = all(config.ratio_low <= r <= config.ratio_high for r in hidden.values())
    summary |= {
        "update_ratio_min": min(hidden.values()),
        "update_ratio_max": max(hidden.values()),
        "update_ratio_output": at.ratios[output],
        "check_update_ratio": ok,
    }
    measured = ", ".join(f"{k} {r:.1e}" for k, r in hidden.items())
    return Check(
        "one update moves each hidden weight matrix by about 1e-3 of its norm",
        f"{measured} (all in [{config.ratio_low:g}, {config.ratio_high:g}]?) at lr {at.lr:.3g} "
        f"after {config.verify_epochs} epoch(s); the output layer {output}, started "
        f"{config.last_layer_scale:g}x smaller: {at.ratios[output]:.1e}",
        ok,
    )


def run(config: InitAndLRConfig, run_dir: RunDir) -> dict:
    rng = np.random.default_rng(config.seed)
    data = mnist_splits(0.1, config.train_subset, config.val_subset, seed=config.seed)
    mean, std = float(data.x_train.mean()), float(data.x_train.std())
    x_tr, y_tr = (data.x_train - mean) / std, data.y_train  # standardised pixels
    x_va, y_va = (data.x_val - mean) / std, data.y_val
    summary: dict = {}

    # ---- 1. activations and gradients under each initialisation ----
    xb, yb = x_tr[: config.hist_batch], y_tr[: config.hist_batch]
    stats = init_statistics(config, xb, yb)
    for s in stats:
        key = f"{s.activation}_{s.init}"
        summary[f"act_ratio_{key}"] = s.act_std[-1] / s.act_std[0]
        summary[f"grad_ratio_{key}"] = s.grad_std[0] / s.grad_std[-1]
        run_dir.log(0, activation=s.activation, init=s.init, act_std=s.act_std, grad_std=s.grad_std)
    report.report_inits(run_dir, config, stats, len(xb))

    # ---- 2. learning-rate range test, then short runs at three rates ----
    run_dir.say(
        f"lr range test: {config.range_steps} steps, lr {config.lr_min:g} -> {config.lr_max:g}"
    )
    test = range_test(config, x_tr, y_tr, rng)
    for t, (lr, loss, sm) in enumerate(zip(test.lrs, test.losses, test.smoothed, strict=True)):
        run_dir.log(t, range_lr=float(lr), range_loss=loss, range_smoothed=float(sm))
    report.report_range_test(run_dir, config, test)
    suggested = test.pick["suggested"]
    summary.update(
        {
            "lr_suggested": suggested,
            "lr_at_min_loss": test.pick["lr_at_min"],
            "lr_steepest": test.pick["steepest"],
            "range_diverged": test.diverged,
        }
    )
    probe = rng.choice(len(x_tr), size=min(config.batch_size, len(x_tr)), replace=False)
    runs = lr_runs(config, (x_tr, y_tr, x_va, y_va), probe, suggested, run_dir)
    runs["suggested"].history.raise_if_diverged(
        "loss at the suggested learning rate", advice="try a lower lr_max"
    )
    for label, r in runs.items():
        summary[f"val_acc_lr_{label.replace(' ', '').replace('/', '_div_')}"] = r.val_acc
    report.report_lr_runs(run_dir, test, runs)

    # ---- 3. the checks ----
    checks = [
        check_loss_at_init(config, x_va, y_va, summary),
        check_overfit(config, x_tr, y_tr, summary, run_dir),
        check_update_ratio(config, runs["suggested"], summary),
    ]
    report.report_checks(run_dir, checks)
    report.report_effects(run_dir, stats, runs)
    run_dir.text("What this shows", report.WHAT_THIS_SHOWS)
    summary["checks_passed"] = sum(c.ok for c in checks)
    summary["checks_total"] = len(checks)
    return summary


RECIPE = Recipe(
    name="init-and-lr",
    module=1,
    description="activations under each init, a learning-rate range test, the debugging checks",
    config=InitAndLRConfig,
    run=run,
    quick={
        "width": 64,
        "hist_batch": 200,
        "range_steps": 80,
        "batch_size": 64,
        "train_subset": 2000,
        "val_subset": 1000,
        "overfit_epochs": 100,
        "overfit_lr": 3e-3,
    },
    datasets=lambda c: ("mnist",),
    preflight=preflight,
)
