"""``architectures``: LeNet-5, AlexNet-, VGG- and ResNet-style nets on one data set, same budget.

Each net is trained by ``dlf.cnn.fit`` with the same optimizer, schedule, epochs, batch size,
augmentation and data (Fashion-MNIST by default); one table gives test accuracy, parameters,
multiply-adds per image (from ``dlf.cnn.summary``; FLOPs ~ 2 x MACs) and training time per epoch.

    lenet5        LeNet-5 (1998): 2 conv + 3 fc, scaled tanh, average pooling
    alexnet_small AlexNet (2012) plan: 5 conv + 3 fc, ReLU, overlapping max-pool, dropout
    vgg_small     VGG (2015) plan: stages of 3x3 convs, batch norm, 2x2 max-pool
    small_resnet  ResNet (2016) plan: BasicBlocks with shortcuts, global average pooling

The quick setting trains on digits with AdamW: the paper initialisations of LeNet-5 (weights
``U(-2.4 / fan_in, 2.4 / fan_in)``) and of the AlexNet and VGG classifiers (``N(0, 0.01^2)``) start
from a signal so small that SGD first sits on a plateau for a few hundred steps; Adam's
per-weight step size leaves it at once, so every net learns within the quick budget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from dlf.cnn.data import image_tensors
from dlf.cnn.models.alexnet import alexnet_small
from dlf.cnn.models.lenet import lenet5
from dlf.cnn.models.vgg import vgg_small
from dlf.cnn.recipes.classifier_report import model_size
from dlf.cnn.small_nets import small_resnet
from dlf.cnn.train import TrainConfig, fit
from dlf.recipes import Recipe
from dlf.recipes.config import ConfigError, ConfigMap, ranged
from dlf.runs import Diverged, RunDir, line_plot

BUILDERS: dict[str, Callable[[int, int, int], nn.Module]] = {
    "lenet5": lambda k, c, size: lenet5(k, c, input_size=size),
    "alexnet_small": lambda k, c, size: alexnet_small(k, c, image_size=size),
    "vgg_small": lambda k, c, size: vgg_small(k, c, image_size=size),
    "small_resnet": lambda k, c, size: small_resnet(k, c),
}


@dataclass
class ArchitecturesConfig:
    dataset: Literal["fashion-mnist", "mnist", "cifar10"] = "fashion-mnist"
    models: str = "lenet5,alexnet_small,vgg_small,small_resnet"  # comma-separated
    epochs: int = ranged(3, ge=1)
    batch_size: int = ranged(128, ge=1)
    optimizer: Literal["sgd", "adamw"] = "sgd"
    lr: float = ranged(0.05, gt=0)
    momentum: float = ranged(0.9, ge=0, lt=1)
    weight_decay: float = ranged(5e-4, ge=0)
    schedule: Literal["cosine", "step", "constant"] = "cosine"
    crop_padding: int = ranged(2, ge=0, le=8)
    flip: bool = True
    train_subset: int = ranged(20000, ge=0)  # the same images for every net; 0 = all
    test_subset: int = ranged(0, ge=0)  # 0 = all
    stop_on_divergence: bool = True
    seed: int = ranged(0, ge=0)


CONFIG_MAP = ConfigMap(
    ArchitecturesConfig, (TrainConfig,), own={"dataset", "models", "train_subset", "test_subset"}
)


LEARNS = 3  # a net learns when its test accuracy is at least this many times guessing's


def model_names(config: ArchitecturesConfig) -> list[str]:
    """The ``models`` field split at commas; an unknown name is a ConfigError listing the valid.

    Example: ``"lenet5, vgg_small"`` -> ``["lenet5", "vgg_small"]``.
    """
    names = [n.strip() for n in config.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in BUILDERS]
    if unknown or not names:
        raise ConfigError(f"models: unknown {unknown}; choose from {', '.join(BUILDERS)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"models: each net once, got {config.models!r}")
    return names


def run(config: ArchitecturesConfig, run_dir: RunDir) -> dict:
    names = model_names(config)
    data = image_tensors(config.dataset, 0.0, config.train_subset, config.test_subset, config.seed)
    run_dir.say(f"{config.dataset}: {data.sizes}")
    channels, size = data.image_shape[0], data.image_shape[-1]
    train = CONFIG_MAP.build(TrainConfig, config)
    rows, summary = [], {}
    for name in names:
        torch.manual_seed(config.seed)
        model = BUILDERS[name](data.num_classes, channels, size)
        params, macs = model_size(model, data.image_shape)
        result = fit(model, data, train, run_dir, tags={"model": name}, desc=name)
        accuracy = result.final["test"].accuracy
        rows.append(
            [
                name + (" (diverged)" if result.diverged else ""),
                f"{accuracy:.4f}",
                f"{params:,}",
                f"{macs / 1e6:.2f}",
                f"{2 * macs / 1e6:.2f}",
                f"{result.seconds_per_epoch:.1f}",
            ]
        )
        summary[f"test_accuracy_{name}"] = accuracy
        summary[f"diverged_{name}"] = result.diverged
        summary[f"parameters_{name}"] = params
        summary[f"mult_adds_{name}"] = macs
        summary[f"seconds_per_epoch_{name}"] = result.seconds_per_epoch
    if all(summary[f"diverged_{name}"] for name in names):
        raise Diverged(f"every net diverged; try a lower lr (now {config.lr})")
    chance = 1 / data.num_classes
    for name in names:
        accuracy, diverged = summary[f"test_accuracy_{name}"], summary[f"diverged_{name}"]
        run_dir.effect(
            f"{name} learns in this budget: test accuracy at least {LEARNS}x guessing's "
            f"({chance:.0%})",
            accuracy >= LEARNS * chance and not diverged,
            f"test accuracy {accuracy:.1%}" + (" (diverged)" if diverged else ""),
        )
    run_dir.table(
        f"{config.dataset}, {len(data.y_train)} training images, {config.epochs} epochs each",
        ["model", "test acc", "parameters", "M mult-adds / image", "M FLOPs / image", "s / epoch"],
        rows,
    )
    for key, label in (("test_acc", "test accuracy"), ("train_loss", "training loss")):
        series = {name: run_dir.series(key, where={"model": name}) for name in names}
        run_dir.figure(key, line_plot(series, "epoch", label), caption=f"{label} per epoch")
    best = max(names, key=lambda n: summary[f"test_accuracy_{n}"])
    smallest = min(names, key=lambda n: summary[f"parameters_{n}"])
    run_dir.text(
        "What this shows",
        "Four generations of architectures under one budget (same data, optimizer, schedule, "
        "epochs). LeNet-5 (1998): scaled-tanh units and average pooling, tiny and cheap. "
        "AlexNet plan (2012): ReLU, overlapping max-pooling, dropout; most parameters in the "
        "fully connected layers. VGG plan (2015): stacks of 3x3 convolutions with batch norm, "
        "accuracy bought with compute. ResNet plan (2016): shortcuts and global average pooling "
        "instead of large fully connected layers. Time per epoch follows the multiply-adds only "
        "roughly (small layers run below the CPU's peak, and element-wise layers cost time but no "
        f"multiply-adds). In this run the most accurate net was {best} "
        f"({summary[f'test_accuracy_{best}']:.2%}); the smallest was {smallest} "
        f"({summary[f'parameters_{smallest}']:,} parameters). A short budget favours nets that "
        "learn fast (batch norm, ReLU); run more epochs to see the ranking settle.",
    )
    return summary


RECIPE = Recipe(
    name="architectures",
    module=2,
    description="LeNet-5, AlexNet-, VGG- and ResNet-style nets on one data set, same budget",
    config=ArchitecturesConfig,
    run=run,
    quick={
        "dataset": "mnist",
        "flip": False,
        "optimizer": "adamw",
        "lr": 1e-3,
        "epochs": 1,
        "batch_size": 16,
        "train_subset": 2000,
        "test_subset": 500,
    },
    datasets=lambda c: (c.dataset,),
    preflight=model_names,
)
