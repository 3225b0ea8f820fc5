"""Recipe ``mnist-mlp``, the hands-on project of Module 1: an MLP on MNIST from scratch in NumPy.

    784 pixels -> Linear 512 -> ReLU -> Dropout -> Linear 256 -> ReLU -> Dropout -> Linear 10

trained with softmax cross-entropy by mini-batch SGD with Nesterov momentum, a linear warm-up
then a cosine decay of the learning rate (per iteration), and early stopping on a validation
split held out of the training set. The test set is scored once, at the end, with the weights
of the best validation epoch; the weights are saved as ``model.safetensors`` in the run folder,
also when the run is interrupted (Ctrl-C or SIGTERM) or diverges (a NaN or infinite loss): then
the last good ones. The full setting (20 epochs) aims at >= 98% test accuracy.

``workspace=DIR`` trains with the learner's own code from a ``dlf learn`` workspace: their
Linear, activation, Dropout and BatchNorm1d layers, softmax cross-entropy and SGD. Each of those
exercises must pass first; the run stops before anything is written if one does not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np

from dlf.recipes import ConfigError, Recipe
from dlf.recipes.config import ranged
from dlf.runs import RunDir
from dlf.scratch.losses import softmax_cross_entropy
from dlf.scratch.mlp import architecture_rows, mlp
from dlf.scratch.optim import SGD
from dlf.scratch.recipes.mnist_data import mnist_splits
from dlf.scratch.recipes.mnist_report import (
    plot_iterations,
    plot_learning_curves,
    report_misclassified,
    save_weights,
    warmup_then,
    weights_kept_on_stop,
)
from dlf.scratch.trainer import evaluate, fit, predict, steps_per_epoch


@dataclass
class MnistMLPConfig:
    """Defaults are the full setting; ``train_subset`` 0 means all 54,000 training images."""

    hidden: tuple[int, ...] = ranged((512, 256), ge=1)  # widths of the hidden layers
    activation: Literal["relu", "leaky_relu", "tanh", "sigmoid", "gelu"] = "relu"
    dropout: float = ranged(0.2, ge=0, lt=1)  # drop probability after each hidden layer
    batch_norm: bool = False
    epochs: int = ranged(20, ge=1)
    batch_size: int = ranged(128, ge=1)
    lr: float = ranged(0.05, gt=0)  # peak learning rate
    momentum: float = ranged(0.9, ge=0, lt=1)  # Nesterov momentum; 0: plain SGD
    schedule: Literal["cosine", "constant"] = "cosine"
    warmup_epochs: int = ranged(1, ge=0)  # linear warm-up from lr / 10
    weight_decay: float = ranged(0.0, ge=0)  # L2 lambda on the weight matrices
    patience: int | None = ranged(5, ge=1)  # epochs without a new lowest val loss; None: no stop
    val_fraction: float = ranged(0.1, gt=0, lt=1)  # of the 60,000 training images, held out
    train_subset: int = ranged(0, ge=0)  # training images kept; 0: all
    seed: int = ranged(0, ge=0)
    workspace: str = ""  # a dlf learn workspace: train with the learner's own code


def learner_pieces(config: MnistMLPConfig) -> dict[str, str]:
    """The pieces a workspace run takes from the learner: ``{attribute: exercise}``."""
    wanted = {
        "Linear": "linear-layer",
        {"relu": "ReLU", "sigmoid": "Sigmoid"}[config.activation]: "activations",
        "softmax_cross_entropy": "softmax-loss",
        "SGD": "sgd-momentum",
    }
    if config.dropout > 0:
        wanted["Dropout"] = "dropout"
    if config.batch_norm:
        wanted["BatchNorm1d"] = "batchnorm"
    return wanted


def preflight(config: MnistMLPConfig) -> None:
    """With a workspace: the activation is one the learner writes, and their pieces pass."""
    if not config.workspace:
        return
    if config.activation not in ("relu", "sigmoid"):
        raise ConfigError(
            f"workspace runs use your own activation: activation=relu or sigmoid, not "
            f"{config.activation!r}"
        )
    from dlf.learn.parts import require_passing

    require_passing(config.workspace, list(learner_pieces(config).values()))


def run(config: MnistMLPConfig, run_dir: RunDir) -> dict:
    rng = np.random.default_rng(config.seed)
    data = mnist_splits(config.val_fraction, config.train_subset, seed=config.seed)
    run_dir.say(f"MNIST: {data.sizes}")
    sizes = (784, *config.hidden, 10)
    loss_fn, sgd, parts = softmax_cross_entropy, SGD, {}
    if config.workspace:
        from dlf.learn.parts import load_parts, whose_code

        wanted = learner_pieces(config)
        parts = load_parts(config.workspace, wanted)
        loss_fn = parts.pop("softmax_cross_entropy")
        sgd = parts.pop("SGD")
        run_dir.text(
            "Whose code ran",
            whose_code(config.workspace, wanted)
            + " The data, the training loop and the schedule are dlf's.",
        )
    model = mlp(sizes, config.activation, config.dropout, config.batch_norm, rng=rng, parts=parts)
    run_dir.table(
        "Architecture",
        ["#", "layer", "output shape", "parameters"],
        [*architecture_rows(model, (784,)), ["", "total", "", model.num_parameters()]],
    )

    steps = steps_per_epoch(len(data.y_train), config.batch_size)
    schedule = warmup_then(
        config.lr, config.schedule, config.warmup_epochs * steps, config.epochs * steps
    )
    optimizer = sgd(config.lr, momentum=config.momentum, nesterov=config.momentum > 0)

    start = time.perf_counter()
    with weights_kept_on_stop(run_dir, model, config.epochs):
        history = fit(
            model,
            loss_fn,
            optimizer,
            data.x_train,
            data.y_train,
            data.x_val,
            data.y_val,
            epochs=config.epochs,
            batch_size=config.batch_size,
            schedule=schedule,
            weight_decay=config.weight_decay,
            patience=config.patience,
            rng=rng,
            run_dir=run_dir,
        )
        history.raise_if_diverged(advice="try a lower lr")
    train_seconds = time.perf_counter() - start
    weights, reload_ok = save_weights(
        run_dir,
        model,
        lambda: mlp(sizes, config.activation, config.dropout, config.batch_norm, parts=parts),
        data.x_test,
    )
    test_loss, test_acc = evaluate(model, data.x_test, data.y_test, loss_fn)
    val_loss, val_acc = evaluate(model, data.x_val, data.y_val, loss_fn)

    run_dir.figure(
        "learning_curves",
        plot_learning_curves(history, f"MLP {'-'.join(map(str, sizes))}"),
        caption="Loss and accuracy per epoch. Train figures are running means over the epoch's "
        "mini-batches (dropout on); validation is measured after each epoch (dropout off).",
    )
    run_dir.figure(
        "iterations",
        plot_iterations(history, schedule),
        caption="Every mini-batch's loss, and the schedule.",
    )
    pred = np.argmax(predict(model, data.x_test), axis=1)
    report_misclassified(run_dir, data.x_test.reshape(-1, 28, 28), data.y_test, pred)
    run_dir.text(
        "Result",
        f"Test accuracy {100 * test_acc:.2f}% ({len(data.y_test)} images, scored once with the "
        f"weights of epoch {history.best_epoch}, the lowest validation loss), after "
        f"{history.epochs_run} epochs in {train_seconds:.1f} s of training "
        f"({train_seconds / max(history.epochs_run, 1):.2f} s an epoch on {data.sizes}). "
        f"Weights: {weights} (safetensors; reloaded predictions identical: {reload_ok}).",
    )
    run_dir.effect(
        "the MLP learns the digits: test accuracy far above the 10% of guessing",
        test_acc >= 0.8,
        f"test accuracy {100 * test_acc:.1f}%",
    )
    first, best = history.val_loss[0], min(history.val_loss)
    run_dir.effect(
        "the validation loss falls as training goes on",
        history.epochs_run > 1 and best < first,
        f"validation loss {first:.3f} after epoch 1, {best:.3f} at epoch {history.best_epoch}",
    )
    return {
        "test_accuracy": test_acc,
        "test_loss": test_loss,
        "val_accuracy": val_acc,
        "val_loss": val_loss,
        "best_epoch": history.best_epoch,
        "epochs_run": history.epochs_run,
        "train_seconds": round(train_seconds, 2),
        "parameters": model.num_parameters(),
        "weights_file": weights,
        "weights_reload_identical": reload_ok,
        "code": f"workspace {config.workspace}" if config.workspace else "dlf",
    }


RECIPE = Recipe(
    name="mnist-mlp",
    module=1,
    description="the hands-on project: an MLP on MNIST from scratch (>= 98% test accuracy)",
    config=MnistMLPConfig,
    run=run,
    quick={"epochs": 2, "train_subset": 5000},
    datasets=lambda c: ("mnist",),
    preflight=preflight,
)
