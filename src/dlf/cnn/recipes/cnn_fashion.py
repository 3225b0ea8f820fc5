"""``cnn-fashion``: a small ResNet on Fashion-MNIST, >= 93% test accuracy on a CPU.

``dlf.cnn.small_resnet``: a 3x3 stem and three stages of BasicBlocks (He et al., 2016) with
projection shortcuts, global average pooling and one fc layer; trained by ``dlf.cnn.fit`` with SGD
(momentum, weight decay), a cosine schedule per iteration, random crops (padding 2) and
horizontal flips (a mirrored coat is still a coat).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from dlf.cnn.data import image_tensors
from dlf.cnn.recipes.classifier_report import report_classifier, show_accuracy
from dlf.cnn.small_nets import small_resnet
from dlf.cnn.train import TrainConfig, fit
from dlf.recipes import Recipe
from dlf.recipes.config import ConfigError, ConfigMap, ranged
from dlf.runs import RunDir


@dataclass
class CnnFashionConfig:
    widths: tuple[int, ...] = ranged((32, 64, 128), ge=1)  # channels of each stage
    blocks: tuple[int, ...] = ranged((1, 1, 1), ge=1)  # BasicBlocks of each stage
    stem: int = ranged(24, ge=1)  # channels of the first conv
    epochs: int = ranged(20, ge=1)
    batch_size: int = ranged(128, ge=1)
    optimizer: Literal["sgd", "adamw"] = "sgd"
    lr: float = ranged(0.1, gt=0)
    momentum: float = ranged(0.9, ge=0, lt=1)
    weight_decay: float = ranged(5e-4, ge=0)
    schedule: Literal["cosine", "step", "constant"] = "cosine"
    warmup_epochs: float = ranged(0.0, ge=0)
    label_smoothing: float = ranged(0.0, ge=0, lt=1)
    crop_padding: int = ranged(2, ge=0, le=8)
    flip: bool = True
    val_fraction: float = ranged(0.0, ge=0, lt=1)  # 0: train on all 60,000, report the test set
    train_subset: int = ranged(0, ge=0)  # 0 = all
    test_subset: int = ranged(0, ge=0)  # 0 = all
    channels_last: bool = True
    seed: int = ranged(0, ge=0)


CONFIG_MAP = ConfigMap(
    CnnFashionConfig,
    (TrainConfig,),
    own={"widths", "blocks", "stem", "val_fraction", "train_subset", "test_subset"},
)


def preflight(config: CnnFashionConfig) -> None:
    """One entry of ``widths`` and ``blocks`` per stage, at most 5 stages (each halves the map).

    Example: ``widths=8,16 blocks=1,1,1`` -> ConfigError.
    """
    if len(config.widths) != len(config.blocks):
        raise ConfigError(
            f"widths {config.widths} and blocks {config.blocks} need one entry per stage each"
        )
    if not 1 <= len(config.widths) <= 5:
        raise ConfigError(f"widths must name 1 to 5 stages, got {config.widths}")
    if config.warmup_epochs > config.epochs:
        raise ConfigError(
            f"warmup_epochs ({config.warmup_epochs}) must not exceed epochs ({config.epochs})"
        )


def run(config: CnnFashionConfig, run_dir: RunDir) -> dict:
    data = image_tensors(
        "fashion-mnist", config.val_fraction, config.train_subset, config.test_subset, config.seed
    )
    run_dir.say(f"Fashion-MNIST: {data.sizes}")
    torch.manual_seed(config.seed)
    model = small_resnet(
        data.num_classes, data.image_shape[0], config.widths, config.blocks, config.stem
    )
    result = fit(model, data, CONFIG_MAP.build(TrainConfig, config), run_dir)
    figures = report_classifier(run_dir, model, data, result)
    run_dir.text(
        "What this shows",
        f"A residual net of {figures['parameters']:,} parameters reaches "
        f"{figures['test_accuracy']:.2%} test accuracy after {config.epochs} epochs. Clothes are "
        "harder than digits: classes of the same shape differ in texture and detail, and the "
        "errors concentrate on a few pairs. Most frequent confusions here: "
        + "; ".join(figures["most_confused"])
        + ". The per-class table shows which classes are nearly solved and which are not.",
    )
    show_accuracy(run_dir, "clothes", figures["test_accuracy"], data.num_classes, at_least=0.5)
    return {**figures, "epochs_run": config.epochs}


RECIPE = Recipe(
    name="cnn-fashion",
    module=2,
    description="a small ResNet on Fashion-MNIST: >= 93% test accuracy (crops, flips, cosine)",
    config=CnnFashionConfig,
    run=run,
    quick={
        "epochs": 2,
        "train_subset": 2000,
        "batch_size": 32,
        "test_subset": 500,
        "widths": (8, 16, 32),
        "stem": 8,
    },
    datasets=lambda c: ("fashion-mnist",),
    preflight=preflight,
)
