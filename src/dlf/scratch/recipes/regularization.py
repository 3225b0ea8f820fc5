"""Recipe ``regularization``: none vs L2 vs dropout vs early stopping, where over-fitting shows.

A wide MLP trained on only ``train_subset`` MNIST images (1,000 by default) memorises them: the
training loss goes to zero while the validation loss turns round and climbs. Four runs from the
same initial weights and mini-batches:

    none            plain training for every epoch
    L2              + lambda/2 sum ||W||^2 in the loss (weight decay; biases not decayed)
    dropout         + inverted dropout after each hidden layer
    early stopping  plain training, stopped ``patience`` epochs after the lowest validation loss,
                    with that epoch's weights put back

Reported: train and validation curves per run, the final train / validation / test accuracy,
and the generalisation gap: validation minus training loss, both measured in evaluation mode
(dropout off) on the final weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlf.recipes import Recipe
from dlf.recipes.config import ranged
from dlf.runs import RunDir, line_plot, new_figure
from dlf.scratch.losses import is_decayed, softmax_cross_entropy
from dlf.scratch.mlp import mlp
from dlf.scratch.optim import Momentum
from dlf.scratch.recipes.mnist_data import mnist_splits
from dlf.scratch.trainer import History, evaluate, fit

VARIANTS = ("none", "L2", "dropout", "early stopping")
KEYS = {"none": "none", "L2": "l2", "dropout": "dropout", "early stopping": "early_stopping"}


@dataclass
class RegularizationConfig:
    """Defaults are the full setting (0 for a subset size: the whole part)."""

    train_subset: int = ranged(1000, ge=0)  # training images
    val_subset: int = ranged(0, ge=0)
    test_subset: int = ranged(0, ge=0)
    hidden: tuple[int, ...] = ranged((512, 512), ge=1)  # widths of the hidden layers
    epochs: int = ranged(100, ge=1)
    batch_size: int = ranged(50, ge=1)
    lr: float = ranged(0.02, gt=0)
    momentum: float = ranged(0.9, ge=0, lt=1)
    weight_decay: float = ranged(3e-3, gt=0)  # lambda of the L2 run
    dropout: float = ranged(0.5, gt=0, lt=1)  # drop probability of the dropout run
    patience: int = ranged(10, ge=1)  # of the early-stopping run
    seed: int = ranged(0, ge=0)


def weight_norm(params: dict[str, np.ndarray]) -> float:
    """``sqrt(sum_W ||W||_F^2)`` over the decayed (weight-matrix) parameters."""
    return float(
        np.sqrt(
            sum(np.sum(p.astype(np.float64) ** 2) for k, p in params.items() if is_decayed(k, p))
        )
    )


def plot_curves(histories: dict[str, History], epochs: int):
    """One panel per run: training loss and validation loss against epoch (shared x range)."""
    fig, axes = new_figure(2, 2, size=(4.6, 3.3))
    for ax, (name, h) in zip(axes.flat, histories.items(), strict=True):
        ax.plot(h.epoch, h.train_loss, label="train")
        ax.plot(h.epoch, h.val_loss, label="validation")
        ax.axvline(h.best_epoch, color="gray", linestyle=":", label="lowest val loss")
        ax.set(title=name, xlabel="epoch", ylabel="loss", yscale="log", xlim=(0, epochs + 1))
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def run(config: RegularizationConfig, run_dir: RunDir) -> dict:
    data = mnist_splits(
        0.1, config.train_subset, config.val_subset, config.test_subset, seed=config.seed
    )
    run_dir.say(f"MNIST: {data.sizes}")
    sizes = (784, *config.hidden, 10)
    settings = {
        "none": {},
        "L2": {"weight_decay": config.weight_decay},
        "dropout": {"dropout": config.dropout},
        "early stopping": {"patience": config.patience},
    }
    histories, rows, summary, gaps = {}, [], {}, {}
    for name in VARIANTS:
        s = settings[name]
        model = mlp(sizes, dropout=s.get("dropout", 0.0), rng=np.random.default_rng(config.seed))
        histories[name] = h = fit(
            model,
            softmax_cross_entropy,
            Momentum(config.lr, config.momentum),
            data.x_train,
            data.y_train,
            data.x_val,
            data.y_val,
            epochs=config.epochs,
            batch_size=config.batch_size,
            weight_decay=s.get("weight_decay", 0.0),
            patience=s.get("patience"),
            rng=np.random.default_rng(config.seed),
            run_dir=run_dir,
            tags={"run": KEYS[name]},
        )
        h.raise_if_diverged(advice="try a lower lr")
        train_loss, train_acc = evaluate(model, data.x_train, data.y_train)
        val_loss, val_acc = evaluate(model, data.x_val, data.y_val)
        test_acc = evaluate(model, data.x_test, data.y_test)[1]
        gaps[name] = gap = val_loss - train_loss
        rows.append(
            [
                name,
                h.epochs_run,
                f"{100 * train_acc:.1f}",
                f"{100 * val_acc:.2f}",
                f"{100 * test_acc:.2f}",
                f"{train_loss:.3f}",
                f"{val_loss:.3f}",
                f"{gap:.3f}",
                f"{weight_norm(model.params):.1f}",
            ]
        )
        key = KEYS[name]
        summary |= {f"{key}_test_accuracy": test_acc, f"{key}_gap": gap}
        summary[f"{key}_val_loss"] = val_loss
        summary[f"{key}_train_loss"] = train_loss

    run_dir.table(
        f"Final models ({data.sizes}; accuracies in %, measured in evaluation mode)",
        [
            "run",
            "epochs",
            "train acc",
            "val acc",
            "test acc",
            "train loss",
            "val loss",
            "gap (val - train loss)",
            "||W||",
        ],
        rows,
    )
    run_dir.figure(
        "curves",
        plot_curves(histories, config.epochs),
        caption="Training loss (running mean over the epoch's mini-batches, dropout on) and "
        "validation loss per epoch. Without regularisation the validation loss climbs again "
        "while the training loss keeps falling: over-fitting.",
    )
    run_dir.figure(
        "val_accuracy",
        line_plot(
            {n: (h.epoch, h.val_acc) for n, h in histories.items()}, "epoch", "validation accuracy"
        ),
        caption="Validation accuracy per epoch of the four runs.",
    )
    none = histories["none"]
    rise = none.val_loss[-1] / min(none.val_loss)
    run_dir.text(
        "What this shows",
        f"Without regularisation the validation loss ends {rise:.2f}x above its lowest value "
        f"(epoch {none.best_epoch}): the network memorises {len(data.y_train)} images. "
        "L2 and dropout hold the validation loss down; early stopping keeps the weights of the "
        "epoch with the lowest validation loss.",
    )
    for name in ("L2", "dropout"):
        run_dir.effect(
            f"{name} narrows the gap between validation and training loss",
            gaps[name] < 0.9 * gaps["none"],
            f"gap {gaps[name]:.3f} with {name}, {gaps['none']:.3f} without",
        )
    stopped = summary["early_stopping_val_loss"]
    run_dir.effect(
        "early stopping ends at a lower validation loss than training to the end",
        stopped < summary["none_val_loss"],
        f"{stopped:.3f} with early stopping, {summary['none_val_loss']:.3f} without; the "
        f"unregularised validation loss ends {rise:.2f}x above its lowest",
    )
    summary["none_val_loss_rise"] = rise
    summary["early_stopping_epochs"] = histories["early stopping"].epochs_run
    return summary


RECIPE = Recipe(
    name="regularization",
    module=1,
    description="none vs L2 vs dropout vs early stopping on 1,000 MNIST images",
    config=RegularizationConfig,
    run=run,
    quick={
        "val_subset": 500,
        "test_subset": 500,
        "hidden": (256, 256),
        "epochs": 15,
        "patience": 5,
        "weight_decay": 1e-2,
    },
    datasets=lambda c: ("mnist",),
)
