"""``cnn-mnist``: a small CNN on MNIST, >= 99.3% test accuracy on a CPU.

Two conv stages (5x5, batch norm, ReLU, max-pool) and a hidden layer (``dlf.cnn.small_cnn``),
trained by ``dlf.cnn.fit``: SGD with momentum, weight decay, cosine schedule per iteration, and
random shifts of up to 2 pixels (no flips: a mirrored digit is another symbol).

``workspace=DIR`` trains the learner's own CNN instead: ``build_cnn(num_classes)`` from the
``cnn-pytorch`` exercise of a ``dlf learn`` workspace, which must pass first (the run stops
before anything is written if it does not). The training recipe stays dlf's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from dlf.cnn.data import image_tensors
from dlf.cnn.receptive_field import receptive_field
from dlf.cnn.recipes.classifier_report import report_classifier, show_accuracy
from dlf.cnn.small_nets import small_cnn
from dlf.cnn.train import TrainConfig, fit
from dlf.recipes import Recipe
from dlf.recipes.config import ConfigError, ConfigMap, ranged
from dlf.runs import RunDir


@dataclass
class CnnMnistConfig:
    channels: tuple[int, ...] = ranged((32, 64), ge=1)  # channels of each conv stage
    kernel: int = ranged(5, ge=1)  # odd: the conv keeps the map's side
    hidden: int = ranged(256, ge=1)
    dropout: float = ranged(0.25, ge=0, lt=1)
    epochs: int = ranged(5, ge=1)
    batch_size: int = ranged(128, ge=1)
    optimizer: Literal["sgd", "adamw"] = "sgd"
    lr: float = ranged(0.05, gt=0)
    momentum: float = ranged(0.9, ge=0, lt=1)
    weight_decay: float = ranged(5e-4, ge=0)
    schedule: Literal["cosine", "step", "constant"] = "cosine"
    crop_padding: int = ranged(2, ge=0, le=8)
    flip: bool = False
    val_fraction: float = ranged(0.0, ge=0, lt=1)  # 0: train on all 60,000, report the test set
    train_subset: int = ranged(0, ge=0)  # 0 = all
    test_subset: int = ranged(0, ge=0)  # 0 = all
    channels_last: bool = False
    seed: int = ranged(0, ge=0)
    workspace: str = ""  # a dlf learn workspace: train the learner's own CNN


CONFIG_MAP = ConfigMap(
    CnnMnistConfig,
    (TrainConfig,),
    own={
        "channels", "kernel", "hidden", "dropout", "val_fraction", "train_subset",
        "test_subset", "workspace",
    },
)  # fmt: skip


LEARNER_PIECES = {"build_cnn": "cnn-pytorch"}


def preflight(config: CnnMnistConfig) -> None:
    """The net fits 28x28 digits; with a workspace: the learner's cnn-pytorch exercise passes.

    Example: ``kernel=4`` or ``channels=8,8,8,8,8`` (28 -> 14 -> 7 -> 3 -> 1 -> 0) -> ConfigError.
    """
    if config.kernel % 2 == 0:
        raise ConfigError(f"kernel must be odd (keeps the map's side), got {config.kernel}")
    if not config.channels or 28 >> len(config.channels) < 1:
        raise ConfigError(
            f"channels must name 1 to 4 stages (each halves the 28x28 map), got {config.channels}"
        )
    if config.workspace:
        from dlf.learn.parts import require_passing

        require_passing(config.workspace, list(LEARNER_PIECES.values()))


def run(config: CnnMnistConfig, run_dir: RunDir) -> dict:
    data = image_tensors(
        "mnist", config.val_fraction, config.train_subset, config.test_subset, config.seed
    )
    run_dir.say(f"MNIST: {data.sizes}")
    torch.manual_seed(config.seed)
    if config.workspace:
        from dlf.learn.parts import load_parts, whose_code

        build_cnn = load_parts(config.workspace, LEARNER_PIECES)["build_cnn"]
        model = build_cnn(data.num_classes)
        run_dir.text(
            "Whose code ran",
            whose_code(config.workspace, LEARNER_PIECES)
            + " The data, augmentation, optimizer and schedule are dlf's; the settings channels,"
            " kernel, hidden and dropout describe dlf's own net and are not used.",
        )
    else:
        model = small_cnn(
            data.num_classes,
            data.image_shape[0],
            data.image_shape[-1],
            config.channels,
            config.kernel,
            config.hidden,
            config.dropout,
        )
    result = fit(model, data, CONFIG_MAP.build(TrainConfig, config), run_dir)
    figures = report_classifier(run_dir, model, data, result)
    field = receptive_field(model, data.image_shape[-1])[-1].receptive_field
    run_dir.text(
        "What this shows",
        f"{'Your CNN' if config.workspace else 'A two-stage CNN'} reaches "
        f"{figures['test_accuracy']:.2%} test accuracy "
        f"({figures['test_errors']} errors in {len(data.y_test)}) with "
        f"{figures['parameters']:,} parameters, after {config.epochs} epochs. Weight sharing and "
        "pooling build in what an MLP must learn: a stroke is the same stroke anywhere in the "
        "image. The first-layer filters are small edge and stroke detectors; a feature of the "
        f"last stage sees a {field}x{field} patch (receptive-field table). Most frequent "
        "confusions: "
        + "; ".join(figures["most_confused"])
        + ". Many of the misclassified digits shown are ambiguous to a person too.",
    )
    show_accuracy(run_dir, "digits", figures["test_accuracy"], data.num_classes, at_least=0.7)
    code = f"workspace {config.workspace}" if config.workspace else "dlf"
    return {**figures, "epochs_run": config.epochs, "code": code}


RECIPE = Recipe(
    name="cnn-mnist",
    module=2,
    description="a small CNN on MNIST: >= 99.3% test accuracy (batch norm, SGD, cosine, shifts)",
    config=CnnMnistConfig,
    run=run,
    quick={
        "epochs": 2,
        "train_subset": 2000,
        "test_subset": 500,
        "batch_size": 32,
        "channels": (8, 16),
        "hidden": 32,
    },
    datasets=lambda c: ("mnist",),
    preflight=preflight,
)
