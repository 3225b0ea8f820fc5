"""Recipe ``optimizers``: SGD, momentum, Nesterov, RMSProp, Adam and AdamW side by side.

Two experiments, the same update rules (``dlf.scratch.optim``), listed once in ``OPTIMIZERS``:

1. An MLP on an MNIST subset, trained from the SAME initial weights with the SAME mini-batches
   (one seed) by each optimizer, so the loss curves differ only by the update rule.
2. Their paths on a 2-D ill-conditioned quadratic (``dlf.scratch.quadratic``): plain gradient
   descent zig-zags across the steep valley walls and crawls along the floor; momentum builds up
   speed along the floor; RMSProp and Adam rescale each coordinate by its gradient's size.

Adding an optimizer: its update rule in ``dlf/scratch/optim.py`` and one line in ``OPTIMIZERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dlf.recipes import ConfigError, Recipe
from dlf.recipes.config import ranged
from dlf.runs import RunDir, new_figure
from dlf.scratch.losses import is_decayed, softmax_cross_entropy
from dlf.scratch.mlp import mlp
from dlf.scratch.optim import SGD, Adam, AdamW, Momentum, Nesterov, Optimizer, RMSProp
from dlf.scratch.quadratic import Quadratic, optimizer_path
from dlf.scratch.recipes.mnist_data import mnist_splits
from dlf.scratch.trainer import History, evaluate, fit


@dataclass(frozen=True)
class Contender:
    """One optimizer of the comparison: its name, its key in metrics and summary, how to build it
    from ``(lr, momentum, weight_decay)``, and its default learning rates on MNIST and on the
    quadratic (each a usual good value for its rule)."""

    name: str
    key: str
    make: Callable[[float, float, float], Optimizer]
    lr: float
    quad_lr: float


OPTIMIZERS = (
    Contender("SGD", "sgd", lambda lr, mu, wd: SGD(lr), 0.1, 0.038),
    Contender("momentum", "momentum", lambda lr, mu, wd: Momentum(lr, mu), 0.05, 0.02),
    Contender("Nesterov", "nesterov", lambda lr, mu, wd: Nesterov(lr, mu), 0.05, 0.02),
    Contender("RMSProp", "rmsprop", lambda lr, mu, wd: RMSProp(lr), 1e-3, 0.03),
    Contender("Adam", "adam", lambda lr, mu, wd: Adam(lr), 1e-3, 0.1),
    Contender(
        "AdamW", "adamw", lambda lr, mu, wd: AdamW(lr, weight_decay=wd, decay=is_decayed), 1e-3, 0.1
    ),
)
NAMES = tuple(c.name for c in OPTIMIZERS)


def make_optimizer(
    name: str, lr: float, momentum: float = 0.9, weight_decay: float = 1e-2
) -> Optimizer:
    """The optimizer called ``name`` (one of NAMES) with learning rate ``lr``, torch defaults.

    Example: ``make_optimizer("Nesterov", 0.05)`` -> ``Nesterov(0.05, momentum=0.9)``.
    """
    for c in OPTIMIZERS:
        if c.name == name:
            return c.make(lr, momentum, weight_decay)
    raise ValueError(f"unknown optimizer {name!r}: use one of {', '.join(NAMES)}")


@dataclass
class OptimizersConfig:
    """Defaults are the full setting. ``lrs`` and ``quad_lrs`` follow the order of NAMES:
    SGD, momentum, Nesterov, RMSProp, Adam, AdamW."""

    hidden: tuple[int, ...] = ranged((256, 128), ge=1)  # widths of the MLP's hidden layers
    train_subset: int = ranged(10000, ge=0)  # training images; 0: all 54,000
    val_subset: int = ranged(0, ge=0)  # 0: all 6,000 held-out images
    test_subset: int = ranged(0, ge=0)  # 0: all 10,000
    epochs: int = ranged(8, ge=1)
    batch_size: int = ranged(128, ge=1)
    lrs: tuple[float, ...] = ranged(tuple(c.lr for c in OPTIMIZERS), ge=0)  # one per optimizer
    momentum: float = ranged(0.9, ge=0, lt=1)  # of momentum and Nesterov
    weight_decay: float = ranged(1e-2, ge=0)  # AdamW's decoupled decay of the weight matrices
    seed: int = ranged(0, ge=0)
    curvatures: tuple[float, ...] = ranged((0.5, 50.0), gt=0)  # condition number 100
    angle_degrees: float = ranged(0.0, ge=-360, le=360)  # rotation of the quadratic's axes
    start: tuple[float, ...] = ranged((-4.0, 1.0), ge=-100, le=100)  # (x, y); the minimum: (0, 0)
    quad_steps: int = ranged(100, ge=1)
    quad_lrs: tuple[float, ...] = ranged(tuple(c.quad_lr for c in OPTIMIZERS), ge=0)


def preflight(config: OptimizersConfig) -> None:
    """One learning rate per optimizer; a 2-D quadratic."""
    if len(config.lrs) != len(NAMES) or len(config.quad_lrs) != len(NAMES):
        raise ConfigError(
            f"lrs and quad_lrs need {len(NAMES)} values each, one per {', '.join(NAMES)}"
        )
    if len(config.curvatures) != 2 or len(config.start) != 2:
        raise ConfigError("curvatures and start need 2 values each (a 2-D quadratic)")


def smooth(values: list[float], window: int) -> np.ndarray:
    """Moving average over the last ``window`` values (fewer at the start).

    Example: ``smooth([1, 3, 5], 2)`` -> ``[1, 2, 4]``.
    """
    v = np.asarray(values, dtype=np.float64)
    c = np.cumsum(np.insert(v, 0, 0.0))
    i = np.arange(1, len(v) + 1)
    lo = np.maximum(i - window, 0)
    return (c[i] - c[lo]) / (i - lo)


def run_mnist(config: OptimizersConfig, run_dir: RunDir) -> dict[str, History]:
    """Train the same MLP (same init, same batches) with each optimizer; returns the histories."""
    data = mnist_splits(
        0.1, config.train_subset, config.val_subset, config.test_subset, seed=config.seed
    )
    run_dir.say(f"MNIST: {data.sizes}")
    sizes = (784, *config.hidden, 10)
    histories, rows = {}, []
    for c, lr in zip(OPTIMIZERS, config.lrs, strict=True):
        name = c.name
        model = mlp(sizes, rng=np.random.default_rng(config.seed))
        histories[name] = fit(
            model,
            softmax_cross_entropy,
            c.make(lr, config.momentum, config.weight_decay),
            data.x_train,
            data.y_train,
            data.x_val,
            data.y_val,
            epochs=config.epochs,
            batch_size=config.batch_size,
            rng=np.random.default_rng(config.seed),
            run_dir=run_dir,
            tags={"optimizer": c.key},
        )
        h = histories[name]
        h.raise_if_diverged(advice=f"try a lower learning rate for {name} (lrs)")
        test_acc = evaluate(model, data.x_test, data.y_test)[1]
        rows.append(
            [
                name,
                lr,
                f"{h.train_loss[-1]:.4f}",
                f"{h.val_loss[-1]:.4f}",
                f"{100 * h.val_acc[-1]:.2f}",
                f"{100 * test_acc:.2f}",
                f"{h.total_seconds / h.epochs_run:.2f}",
            ]
        )
    run_dir.table(
        f"MNIST MLP {'-'.join(map(str, sizes))}, {data.sizes}, {config.epochs} epochs",
        ["optimizer", "lr", "train loss", "val loss", "val acc %", "test acc %", "s / epoch"],
        rows,
    )
    return histories


def plot_mnist(histories: dict[str, History], window: int):
    fig, axes = new_figure(2, 1, size=(5.2, 3.8))
    for name, h in histories.items():
        steps = np.arange(1, len(h.batch_loss) + 1)
        axes[0, 0].plot(steps, smooth(h.batch_loss, window), label=name, linewidth=1.2)
        axes[0, 1].plot(h.epoch, h.val_loss, marker="o", markersize=3, label=name)
    axes[0, 0].set(
        xlabel="iteration", ylabel=f"training loss (mean of {window} batches)", yscale="log"
    )
    axes[0, 1].set(xlabel="epoch", ylabel="validation loss", yscale="log")
    for ax in axes.flat:
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def run_quadratic(config: OptimizersConfig, run_dir: RunDir) -> dict[str, np.ndarray]:
    """Each optimizer's path on the quadratic; figures: contour with paths, loss per step."""
    f = Quadratic(tuple(config.curvatures), np.deg2rad(config.angle_degrees))
    paths = {
        c.name: optimizer_path(
            f, c.make(lr, config.momentum, config.weight_decay), config.start, config.quad_steps
        )
        for c, lr in zip(OPTIMIZERS, config.quad_lrs, strict=True)
    }
    every = np.concatenate(list(paths.values()))
    lo = np.minimum(every.min(axis=0), -1.0) - 0.5
    hi = np.maximum(every.max(axis=0), 1.0) + 0.5
    lo[0], hi[0] = min(lo[0], -abs(config.start[0]) - 0.5), max(hi[0], abs(config.start[0]) + 0.5)
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 200))
    values = f(np.stack([gx, gy], axis=-1))

    fig, axes = new_figure(1, 1, size=(9.0, 4.6))
    ax = axes[0, 0]
    levels = np.geomspace(0.01 * values.max(), values.max(), 16)
    ax.contour(gx, gy, values, levels=levels, colors="0.75", linewidths=0.7)
    for name, p in paths.items():
        ax.plot(p[:, 0], p[:, 1], marker=".", markersize=3, linewidth=1.0, label=name)
    ax.plot(*config.start, "ks", label="start")
    ax.plot(*f.minimum, "k*", markersize=12, label="minimum")
    ax.set(
        xlabel="$w_1$",
        ylabel="$w_2$",
        title=f"f(w) = ½ wᵀHw, curvatures {tuple(config.curvatures)} "
        f"(condition number {f.condition_number:g}), {config.quad_steps} steps",
    )
    ax.legend(fontsize="small", loc="upper right")
    fig.tight_layout()
    run_dir.figure(
        "quadratic_paths",
        fig,
        caption="Each optimizer's path from the same start. Plain SGD must keep its learning rate "
        "below 2 / (largest curvature) and then crawls along the flat direction.",
    )

    fig, axes = new_figure(1, 1, size=(6.4, 4.0))
    for name, p in paths.items():
        axes[0, 0].plot(np.maximum(f(p), 1e-20), label=name)
    axes[0, 0].set(xlabel="step", ylabel="f(w)", yscale="log")
    axes[0, 0].grid(alpha=0.3)
    axes[0, 0].legend(fontsize="small")
    fig.tight_layout()
    run_dir.figure("quadratic_loss", fig, caption="f(w) per step on the quadratic (log scale).")
    run_dir.table(
        "Quadratic: f after the last step",
        ["optimizer", "lr", f"f(w_{config.quad_steps})"],
        [[n, lr, f"{f(paths[n][-1]):.3e}"] for n, lr in zip(NAMES, config.quad_lrs, strict=True)],
    )
    return {name: float(f(p[-1])) for name, p in paths.items()}


def run(config: OptimizersConfig, run_dir: RunDir) -> dict:
    histories = run_mnist(config, run_dir)
    steps_per_epoch = max(len(h.batch_loss) for h in histories.values()) // config.epochs
    run_dir.figure(
        "mnist_loss",
        plot_mnist(histories, max(steps_per_epoch // 4, 1)),
        caption="The same MLP, initial weights and mini-batches; only the update rule differs.",
    )
    quad = run_quadratic(config, run_dir)
    final = {name: h.train_loss[-1] for name, h in histories.items()}
    momentum = max(final["momentum"], final["Nesterov"])
    run_dir.effect(
        "on MNIST, momentum and Nesterov reach a lower training loss than plain SGD in as many "
        "steps",
        momentum < 0.8 * final["SGD"],
        f"last epoch's training loss: SGD {final['SGD']:.3f}, momentum {final['momentum']:.3f}, "
        f"Nesterov {final['Nesterov']:.3f}",
    )
    val_acc = {name: h.val_acc[-1] for name, h in histories.items()}
    worst = min(val_acc, key=val_acc.get)
    run_dir.effect(
        "every update rule learns: validation accuracy far above the 10% of guessing",
        val_acc[worst] >= 0.5,
        f"lowest: {worst} {100 * val_acc[worst]:.1f}%",
    )
    run_dir.effect(
        "on the ill-conditioned quadratic, momentum and Adam end at least 10x lower than plain SGD",
        max(quad["momentum"], quad["Adam"]) < 0.1 * quad["SGD"],
        f"f after {config.quad_steps} steps: SGD {quad['SGD']:.2e}, momentum "
        f"{quad['momentum']:.2e}, Adam {quad['Adam']:.2e}",
    )
    summary: dict = {}
    for c in OPTIMIZERS:
        summary[f"{c.key}_train_loss"] = final[c.name]
        summary[f"{c.key}_val_accuracy"] = histories[c.name].val_acc[-1]
    for c in OPTIMIZERS:
        summary[f"{c.key}_quadratic_loss"] = quad[c.name]
    return summary


RECIPE = Recipe(
    name="optimizers",
    module=1,
    description="SGD, momentum, Nesterov, RMSProp, Adam, AdamW: MNIST loss curves, quadratic paths",
    config=OptimizersConfig,
    run=run,
    quick={
        "train_subset": 2000,
        "val_subset": 1000,
        "test_subset": 1000,
        "epochs": 2,
        "hidden": (64,),
    },
    datasets=lambda c: ("mnist",),
    preflight=preflight,
)
