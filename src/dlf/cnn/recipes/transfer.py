"""``transfer``: when does pretraining pay? A sweep over the number of labels per class.

Source task: every training image of ``source_classes`` (Fashion-MNIST's T-shirt, trouser,
pullover, dress, coat by default). Target task: ``target_classes`` (sandal, shirt, sneaker, bag,
ankle boot), tested on every test image of those classes. A small residual net
(``dlf.cnn.small_resnet``: a stem, stages of BasicBlocks, global average pooling, one linear
layer ``fc``) is pretrained on the source once. Then, for each number of labelled target images
per class in ``labels_per_class`` (0 = every training image of the target classes), the three
methods of ``dlf.cnn.transfer`` learn the target from the same seeded images:

- scratch:      a fresh net (the same initial weights at every budget), every weight trained;
- linear probe: the pretrained layers frozen, a new ``fc`` trained (logistic regression on the
                pretrained features);
- fine-tune:    every weight trained, starting from the pretrained ones.

Each (method, budget) is one ``dlf.cnn.fit`` of ``epochs`` epochs. A target set smaller than
``min_epoch_images`` is repeated up to that size (every copy gets its own random shifts), so a
tiny budget still gets enough optimiser steps to fit its few images.

The figure plots test accuracy against labels per class (log x). Training from scratch has
caught up with a transfer method where it comes within ``catch_up`` of it and stays there for
every larger budget (``transfer_report.crossover``); the report states that point for both
transfer methods.

``weights=PATH`` replaces the pretraining by a local file of torchvision's ResNet-18 format (a
state_dict saved with ``torch.save`` or as ``.safetensors``): it is loaded with a strict key check
into ``dlf.cnn.resnet18``, grey images are repeated to 3 channels and resized to
``image_size`` pixels on the fly, and the scratch baseline is a fresh ResNet-18.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn

from dlf.cnn.data import ImageTensors, image_tensors
from dlf.cnn.models.resnet import resnet18
from dlf.cnn.recipes.transfer_report import crossover, report
from dlf.cnn.small_nets import small_resnet
from dlf.cnn.train import FitResult, TrainConfig, fit
from dlf.cnn.transfer import METHODS, GreyToRGB, load_resnet18, trainable, transfer_models
from dlf.data import DataError, load_images
from dlf.recipes import Recipe
from dlf.recipes.config import ConfigError, ConfigMap, ranged
from dlf.runs import Diverged, RunDir


@dataclass
class TransferConfig:
    dataset: Literal["fashion-mnist", "mnist", "cifar10"] = "fashion-mnist"  # classes 0-9 of it
    source_classes: tuple[int, ...] = ranged((0, 1, 2, 3, 4), ge=0, le=9)  # pretraining classes
    target_classes: tuple[int, ...] = ranged((5, 6, 7, 8, 9), ge=0, le=9)  # classes to learn
    labels_per_class: tuple[int, ...] = ranged(
        (1, 5, 20, 100, 1000, 0),
        ge=0,
        help="labelled target training images per class, one point of the sweep each; 0 = all",
    )
    widths: tuple[int, ...] = ranged((16, 32, 64), ge=1)  # channels of each stage
    blocks: tuple[int, ...] = ranged((1, 1, 1), ge=1)  # BasicBlocks of each stage
    stem: int = ranged(16, ge=1)  # channels of the first conv
    pretrain_epochs: int = ranged(2, ge=1)  # epochs on the source task
    pretrain_subset: int = ranged(0, ge=0)  # source training images used; 0 = all
    batch_size: int = ranged(128, ge=1)  # pretraining
    lr: float = ranged(0.05, gt=0)  # pretraining and scratch
    probe_lr: float = ranged(0.1, gt=0)  # linear probe
    finetune_lr: float = ranged(0.05, gt=0)  # fine-tuning
    epochs: int = ranged(3, ge=1)  # on the target set, for each method and budget
    min_epoch_images: int = ranged(4000, ge=1)  # smaller target sets are repeated up to this
    target_batch_size: int = ranged(64, ge=1)  # every method on the target set
    momentum: float = ranged(0.9, ge=0, lt=1)
    weight_decay: float = ranged(5e-4, ge=0)
    crop_padding: int = ranged(2, ge=0, le=8)  # random shifts, for every training run
    test_subset: int = ranged(0, ge=0)  # target (and source) test images; 0 = all of the classes
    catch_up: float = ranged(0.01, ge=0, lt=1)  # scratch has caught up when this close in accuracy
    weights: str = ""  # a torchvision ResNet-18 state_dict file: used instead of pretraining
    image_size: int = ranged(64, ge=32)  # input side for the ResNet-18 of ``weights``
    seed: int = ranged(0, ge=0)  # data subsets, initial weights, batch order, shifts


CONFIG_MAP = ConfigMap(
    TransferConfig,
    (TrainConfig,),
    own={
        "dataset", "source_classes", "target_classes", "labels_per_class", "widths", "blocks",
        "stem", "pretrain_epochs", "pretrain_subset", "probe_lr", "finetune_lr",
        "min_epoch_images", "target_batch_size", "test_subset", "catch_up", "weights",
        "image_size",
    },
)  # fmt: skip


def budgets(config: TransferConfig) -> list[int]:
    """``labels_per_class`` in increasing order, 0 (all) last. Example: (0, 5, 1) -> [1, 5, 0]."""
    return sorted(config.labels_per_class, key=lambda b: math.inf if b == 0 else b)


def preflight(config: TransferConfig) -> None:
    """The rules between fields (ConfigError) and the weights file (DataError).

    One width and one block count per stage; classes distinct and the source apart from the
    target (unless ``weights`` replaces the source); budgets distinct, each within the images of
    every target class, and none equal to 0 (all) in images per class: the sweep needs increasing
    points. Example: ``source_classes=4,5`` (5 is a target class) -> ConfigError; Fashion-MNIST's
    ``labels_per_class=100,6000,0`` (6,000 is every image of each class) -> ConfigError.
    """
    for name in ("source_classes", "target_classes", "labels_per_class"):
        values = getattr(config, name)
        if len(set(values)) != len(values) or not values:
            raise ConfigError(f"{name} must be distinct values, at least one; got {values}")
    if len(config.widths) != len(config.blocks):
        raise ConfigError(
            f"widths {config.widths} and blocks {config.blocks} need one entry per stage each"
        )
    if len(config.target_classes) < 2:
        raise ConfigError(f"target_classes needs 2 classes or more, got {config.target_classes}")
    if config.weights:
        if not Path(config.weights).is_file():
            raise DataError(f"weights file {config.weights} not found; pass weights=PATH to a file")
    else:
        if overlap := sorted(set(config.source_classes) & set(config.target_classes)):
            raise ConfigError(f"source and target classes overlap: {overlap}")
        if len(config.source_classes) < 2:
            raise ConfigError(f"source_classes needs 2 classes or more: {config.source_classes}")
    counts = np.bincount(load_images(config.dataset).y_train, minlength=10)
    fewest = int(min(counts[c] for c in config.target_classes))
    if max(config.labels_per_class) > fewest:
        raise ConfigError(
            f"labels_per_class {max(config.labels_per_class)} is more than the {fewest} training "
            f"images of the smallest target class of {config.dataset} (0 takes them all)"
        )
    largest, every = max(config.labels_per_class), sum(counts[c] for c in config.target_classes)
    if 0 in config.labels_per_class and largest * len(config.target_classes) == every:
        raise ConfigError(
            f"labels_per_class {largest} is every training image of each target class, the same "
            f"budget as 0 (all): keep one of them"
        )


def class_subset(
    data: ImageTensors, classes: tuple[int, ...], per_class: int = 0, seed: int = 0
) -> ImageTensors:
    """The images of ``classes`` only, relabelled ``0 .. len(classes) - 1`` in that order.

    ``per_class`` > 0 keeps that many seeded random training images of each class (the test part
    keeps all its images of the classes; the validation part is dropped). Example: classes
    ``(5, 7)`` of Fashion-MNIST -> labels 0 (sandal) and 1 (sneaker), ``classes=("Sandal",
    "Sneaker")``; ``per_class=10`` -> 20 training images.
    """
    rng = np.random.default_rng(seed)
    lookup = torch.full((len(data.classes),), -1, dtype=torch.int64)
    lookup[list(classes)] = torch.arange(len(classes))

    def pick(y: torch.Tensor, limit: int) -> torch.Tensor:
        chosen = []
        for c in classes:
            index = torch.nonzero(y == c).flatten().numpy()
            if limit > 0:
                if len(index) < limit:
                    raise ValueError(f"class {c} has {len(index)} images; asked for {limit}")
                index = np.sort(rng.choice(index, size=limit, replace=False))
            chosen.append(index)
        return torch.from_numpy(np.sort(np.concatenate(chosen)))

    train, test = pick(data.y_train, per_class), pick(data.y_test, 0)
    return dataclasses.replace(
        data,
        x_train=data.x_train[train],
        y_train=lookup[data.y_train[train]],
        x_val=None,
        y_val=None,
        x_test=data.x_test[test],
        y_test=lookup[data.y_test[test]],
        classes=tuple(data.classes[c] for c in classes),
    )


def repeat_to(data: ImageTensors, images: int) -> ImageTensors:
    """The training part repeated ``ceil(images / N)`` times when it has ``N < images`` images.

    Example: 5 images, ``images=12`` -> 15 (three copies); 20 images -> unchanged.
    """
    copies = -(-images // len(data.y_train))
    if copies <= 1:
        return data
    return dataclasses.replace(
        data, x_train=data.x_train.repeat(copies, 1, 1, 1), y_train=data.y_train.repeat(copies)
    )


def keep_test_images(data: ImageTensors, keep: int) -> ImageTensors:
    """A seeded random ``keep`` of the test images (all when 0 or more than there are)."""
    if not keep or keep >= len(data.y_test):
        return data
    chosen = torch.randperm(len(data.y_test), generator=torch.Generator().manual_seed(0))
    chosen = chosen[:keep].sort().values
    return dataclasses.replace(data, x_test=data.x_test[chosen], y_test=data.y_test[chosen])


def train_on_target(
    models: dict[str, nn.Module],
    target: ImageTensors,
    configs: dict[str, TrainConfig],
    run_dir: RunDir | None = None,
    tags: dict | None = None,
) -> dict[str, FitResult]:
    """``fit`` each method's model on the target set with its own TrainConfig.

    A loss that becomes non-finite raises Diverged naming the method and the ``tags``.
    """
    results = {}
    for method, model in models.items():
        torch.manual_seed(configs[method].seed)
        where = {"method": method, **(tags or {})}
        try:
            results[method] = fit(model, target, configs[method], run_dir, tags=where,
                                  desc=method)  # fmt: skip
        except Diverged as err:
            raise Diverged(f"{', '.join(f'{k} {v}' for k, v in where.items())}: {err}") from err
    return results


def pretrain(config: TransferConfig, data: ImageTensors, run_dir: RunDir) -> tuple:
    """``(pretrained, fresh, source line, summary items)``: the net trained on the source task
    (or loaded from ``weights``) and an untrained twin for the scratch baseline."""
    if config.weights:
        run_dir.say(f"loading ResNet-18 weights from {config.weights}")
        pretrained = nn.Sequential(GreyToRGB(config.image_size), load_resnet18(config.weights))
        torch.manual_seed(config.seed)
        fresh = nn.Sequential(GreyToRGB(config.image_size), resnet18())
        return pretrained, fresh, f"ResNet-18 weights from {config.weights} (no pretraining)", {}
    source = class_subset(data, config.source_classes, 0, config.seed)
    source = keep_test_images(source, config.test_subset)
    if config.pretrain_subset:
        keep = slice(0, config.pretrain_subset)
        source = dataclasses.replace(source, x_train=source.x_train[keep],
                                     y_train=source.y_train[keep])  # fmt: skip

    def net() -> nn.Module:
        channels = data.image_shape[0]
        classes = len(config.source_classes)
        return small_resnet(classes, channels, config.widths, config.blocks, config.stem)

    torch.manual_seed(config.seed)
    pretrained = net()
    settings = CONFIG_MAP.build(TrainConfig, config, epochs=config.pretrain_epochs)
    run_dir.say(f"source {', '.join(source.classes)}: {source.sizes}")
    result = train_on_target({"pretrain": pretrained}, source, {"pretrain": settings}, run_dir)
    accuracy = result["pretrain"].final["test"].accuracy
    torch.manual_seed(config.seed + 1)
    line = (
        f"pretrained on {len(source.y_train)} images of {', '.join(source.classes)} for "
        f"{config.pretrain_epochs} epochs: source test accuracy {accuracy:.2%}"
    )
    return pretrained, net(), line, {"source_test_accuracy": accuracy}


def run(config: TransferConfig, run_dir: RunDir) -> dict:
    data = image_tensors(config.dataset, 0.0, 0, 0, config.seed)
    pretrained, fresh, source_line, summary = pretrain(config, data, run_dir)
    target_base = CONFIG_MAP.build(TrainConfig, config, batch_size=config.target_batch_size)
    configs = {
        "scratch": target_base,
        "linear probe": dataclasses.replace(target_base, lr=config.probe_lr),
        "fine-tune": dataclasses.replace(target_base, lr=config.finetune_lr),
    }
    classes = len(config.target_classes)
    labels: list[float] = []
    accuracy: dict[str, list[float]] = {m: [] for m in METHODS}
    for budget in budgets(config):
        target = class_subset(data, config.target_classes, budget, config.seed)
        target = keep_test_images(target, config.test_subset)
        labels.append(len(target.y_train) / classes)
        run_dir.say(f"target {', '.join(target.classes)}: {target.sizes}")
        models = transfer_models(pretrained, fresh, classes)
        results = train_on_target(models, repeat_to(target, config.min_epoch_images), configs,
                                  run_dir, tags={"labels_per_class": budget})  # fmt: skip
        for m in METHODS:
            accuracy[m].append(results[m].final["test"].accuracy)
        run_dir.say(", ".join(f"{m} {accuracy[m][-1]:.4f}" for m in METHODS))
    probe_parameters = trainable(transfer_models(pretrained, fresh, classes)["linear probe"])
    whole = 0 in config.labels_per_class
    crossings = {
        m: crossover(labels, accuracy["scratch"], accuracy[m], config.catch_up)
        for m in ("linear probe", "fine-tune")
    }
    report(run_dir, config, labels, accuracy, crossings, source_line, probe_parameters, whole)
    summary.update(
        labels_per_class=labels,
        test_accuracy={m.replace(" ", "_").replace("-", ""): a for m, a in accuracy.items()},
        crossover_linear_probe=crossings["linear probe"],
        crossover_finetune=crossings["fine-tune"],
        target_test_images=len(target.y_test),
    )
    return summary


RECIPE = Recipe(
    name="transfer",
    module=2,
    description="when pretraining pays: scratch vs linear probe vs fine-tune over labels per class",
    config=TransferConfig,
    run=run,
    quick={
        "widths": (8, 16, 32),
        "stem": 8,
        "pretrain_subset": 10000,
        "labels_per_class": (1, 10, 100),
        "min_epoch_images": 1500,
        "test_subset": 1000,
    },
    datasets=lambda c: (c.dataset,),
    preflight=preflight,
)
