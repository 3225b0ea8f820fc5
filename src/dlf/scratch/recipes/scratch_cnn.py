"""Recipe ``scratch-cnn`` of Module 2: a small convolutional network on MNIST in NumPy only.

    1x28x28 -> Conv 3x3 16 (pad 1) -> ReLU -> MaxPool 2 -> Conv 3x3 32 (pad 1) -> ReLU
            -> MaxPool 2 -> Flatten (32*7*7) -> Linear 10

built from the ``dlf.scratch`` layers (im2col convolution, max-pooling) and trained by the same
loop as Module 1's ``mnist-mlp`` (:func:`dlf.scratch.trainer.fit`): softmax cross-entropy,
mini-batch SGD with Nesterov momentum, linear warm-up then cosine decay per iteration, and the
weights of the lowest validation loss kept (a validation split held out of the training set).
The test set is scored once, at the end. The weights are saved as ``model.safetensors``, also
when the run is interrupted (Ctrl-C or SIGTERM) or diverges: then the last good ones. NumPy's
BLAS runs on ``blas_threads`` threads (``threadpoolctl``): the small matrices of this network
gain little from more threads, and a thread that waits for a busy core stalls every step. The
full setting (8 epochs) aims at >= 98.5% test accuracy.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from dlf.recipes import ConfigError, Recipe
from dlf.recipes.config import ranged
from dlf.runs import RunDir, image_grid
from dlf.scratch.layers import (
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Layer,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
)
from dlf.scratch.losses import softmax_cross_entropy
from dlf.scratch.mlp import architecture_rows
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
class ScratchCNNConfig:
    """Defaults are the full setting; a subset of 0 keeps a whole part (54,000/6,000/10,000)."""

    channels: tuple[int, ...] = ranged((16, 32), ge=1)  # output channels of each conv stage
    kernel_size: int = ranged(3, ge=1)  # odd, so that padding k // 2 keeps the size
    batch_norm: bool = False
    hidden: int = ranged(0, ge=0)  # width of a hidden Linear layer before the classifier; 0: none
    dropout: float = ranged(0.0, ge=0, lt=1)  # after the hidden layer
    epochs: int = ranged(8, ge=1)
    batch_size: int = ranged(64, ge=1)
    lr: float = ranged(0.05, gt=0)  # peak learning rate
    momentum: float = ranged(0.9, ge=0, lt=1)  # Nesterov momentum; 0: plain SGD
    schedule: Literal["cosine", "constant"] = "cosine"
    warmup_epochs: int = ranged(1, ge=0)
    weight_decay: float = ranged(0.0, ge=0)
    patience: int | None = ranged(3, ge=1)  # epochs without a new lowest val loss; None: no stop
    val_fraction: float = ranged(0.1, gt=0, lt=1)
    train_subset: int = ranged(0, ge=0)
    val_subset: int = ranged(0, ge=0)
    test_subset: int = ranged(0, ge=0)
    blas_threads: int = ranged(1, ge=0)  # NumPy BLAS threads while training; 0: NumPy's default
    seed: int = ranged(0, ge=0)


def preflight(config: ScratchCNNConfig) -> None:
    """The network fits the 28x28 images: an odd kernel, and at least 1 pixel after pooling."""
    if config.kernel_size % 2 == 0:
        raise ConfigError(f"kernel_size must be odd, got {config.kernel_size}")
    if 28 // 2 ** len(config.channels) < 1:
        raise ConfigError(
            f"{len(config.channels)} conv stages halve 28x28 images to nothing: give at most 4 "
            "channels"
        )


def small_cnn(
    channels: tuple[int, ...] = (16, 32),
    kernel_size: int = 3,
    batch_norm: bool = False,
    hidden: int = 0,
    dropout: float = 0.0,
    num_classes: int = 10,
    image_size: int = 28,
    *,
    rng: np.random.Generator | None = None,
) -> Sequential:
    """Conv stages ``Conv(k x k, pad k//2) -> [BatchNorm2d] -> ReLU -> MaxPool 2``, one per
    entry of ``channels``, then ``Flatten -> [Linear hidden -> ReLU -> Dropout] -> Linear``.

    The padding keeps the size through each conv and each pool halves it (floor), so the
    flattened features number ``channels[-1] * (image_size // 2**len(channels))**2``. With batch
    norm the convs have no bias (BatchNorm's ``beta`` replaces it). Shapes: x (N, 1, S, S) ->
    logits (N, num_classes). Example: ``small_cnn((16, 32))`` has 160 + 4,640 + 15,690 = 20,490
    parameters.
    """
    rng = rng if rng is not None else np.random.default_rng()
    if not channels or min(channels) < 1 or kernel_size % 2 == 0:
        raise ValueError(
            f"need positive channels and an odd kernel_size, got {channels} and {kernel_size}"
        )
    size = image_size // 2 ** len(channels)
    if size < 1:
        raise ValueError(f"{len(channels)} pooling stages shrink {image_size}px images to nothing")
    layers: list[Layer] = []
    c_in = 1
    for c_out in channels:
        layers.append(
            Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2, bias=not batch_norm, rng=rng)
        )
        if batch_norm:
            layers.append(BatchNorm2d(c_out))
        layers += [ReLU(), MaxPool2d(2)]
        c_in = c_out
    layers.append(Flatten())
    features = c_in * size * size
    if hidden > 0:
        layers += [Linear(features, hidden, rng=rng), ReLU()]
        if dropout > 0:
            layers.append(Dropout(dropout, rng=rng))
        features = hidden
    layers.append(Linear(features, num_classes, rng=rng))
    return Sequential(*layers)


def blas_limit(threads: int):
    """A context running NumPy's BLAS on ``threads`` threads (no change when 0)."""
    if threads <= 0:
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def run(config: ScratchCNNConfig, run_dir: RunDir) -> dict:
    rng = np.random.default_rng(config.seed)
    data = mnist_splits(
        config.val_fraction, config.train_subset, config.val_subset, config.test_subset, config.seed
    )
    images = {k: getattr(data, k).reshape(-1, 1, 28, 28) for k in ("x_train", "x_val", "x_test")}
    run_dir.say(f"MNIST: {data.sizes}")

    def build() -> Sequential:
        return small_cnn(
            config.channels,
            config.kernel_size,
            config.batch_norm,
            config.hidden,
            config.dropout,
            rng=rng,
        )

    model = build()
    run_dir.table(
        "Architecture",
        ["#", "layer", "output shape", "parameters"],
        [*architecture_rows(model, (1, 28, 28)), ["", "total", "", model.num_parameters()]],
    )
    steps = steps_per_epoch(len(data.y_train), config.batch_size)
    schedule = warmup_then(
        config.lr, config.schedule, config.warmup_epochs * steps, config.epochs * steps
    )
    optimizer = SGD(config.lr, momentum=config.momentum, nesterov=config.momentum > 0)

    with blas_limit(config.blas_threads):
        blas = ", ".join(
            f"{i['internal_api']} {i['num_threads']} thread(s)"
            for i in threadpool_info()
            if i["user_api"] == "blas"
        )
        run_dir.say(f"NumPy BLAS: {blas}")
        start = time.perf_counter()
        with weights_kept_on_stop(run_dir, model, config.epochs):
            history = fit(
                model,
                softmax_cross_entropy,
                optimizer,
                images["x_train"],
                data.y_train,
                images["x_val"],
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
        test_loss, test_acc = evaluate(model, images["x_test"], data.y_test)
        val_loss, val_acc = evaluate(model, images["x_val"], data.y_val)
        pred = np.argmax(predict(model, images["x_test"]), axis=1)
        weights, reload_ok = save_weights(run_dir, model, build, images["x_test"][:500])

    title = f"CNN {'-'.join(map(str, config.channels))} on MNIST (NumPy)"
    run_dir.figure(
        "learning_curves",
        plot_learning_curves(history, title),
        caption="Loss and accuracy per epoch. Train figures are running means over the epoch's "
        "mini-batches; validation is measured after each epoch in evaluation mode.",
    )
    run_dir.figure(
        "iterations",
        plot_iterations(history, schedule),
        caption="Every mini-batch's loss, and the schedule.",
    )
    filters = model.layers[0].params["W"][:, 0]  # (C_out, kh, kw): the first conv sees 1 channel
    run_dir.figure(
        "filters",
        image_grid(filters, [str(i) for i in range(len(filters))], ncols=8),
        caption=f"The {len(filters)} first-layer filters ({config.kernel_size}x"
        f"{config.kernel_size}), each scaled to its own range: dark = most negative weight.",
    )
    n_wrong = report_misclassified(run_dir, images["x_test"][:, 0], data.y_test, pred)
    run_dir.text(
        "Result",
        f"Test accuracy {100 * test_acc:.2f}% ({n_wrong} of {len(data.y_test)} images wrong, "
        f"scored once with the weights of epoch {history.best_epoch}, the lowest validation "
        f"loss), after {history.epochs_run} epochs in {train_seconds:.1f} s of training "
        f"({train_seconds / max(history.epochs_run, 1):.1f} s an epoch on {data.sizes}; "
        f"NumPy BLAS: {blas}). Weights: {weights} (safetensors; reloaded predictions identical: "
        f"{reload_ok}).",
    )
    run_dir.effect(
        "the CNN learns the digits: test accuracy far above the 10% of guessing",
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
        "seconds_per_epoch": round(train_seconds / max(history.epochs_run, 1), 2),
        "parameters": model.num_parameters(),
        "blas": blas,
        "weights_file": weights,
        "weights_reload_identical": reload_ok,
    }


RECIPE = Recipe(
    name="scratch-cnn",
    module=2,
    description="a small CNN on MNIST from scratch in NumPy (>= 98.5% test accuracy)",
    config=ScratchCNNConfig,
    run=run,
    quick={
        "epochs": 2,
        "warmup_epochs": 0,
        "train_subset": 2000,
        "val_subset": 500,
        "test_subset": 1000,
    },
    datasets=lambda c: ("mnist",),
    preflight=preflight,
)
