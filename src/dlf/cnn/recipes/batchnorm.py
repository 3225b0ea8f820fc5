"""``batchnorm``: the same deep plain conv net trained with and without batch normalisation.

A VGG-style stack (``dlf.cnn.vgg_small``: three stages of ``convs_per_stage`` 3x3 convs, then two
hidden fully connected layers; 3 * 3 + 3 = 12 weighted layers by default) is built twice from the
same seed, once with ``BatchNorm2d`` after every convolution (Ioffe & Szegedy, 2015):

    y = gamma * (x - mu_B) / sqrt(var_B + eps) + beta      (per channel, over the batch and pixels)

and trained by ``dlf.cnn.fit`` with the same optimizer, learning rate, schedule, data and number
of steps. The curves are overlaid; the table gives the final figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from dlf.cnn.data import ImageTensors, image_tensors
from dlf.cnn.models.vgg import vgg_small
from dlf.cnn.recipes.classifier_report import model_size
from dlf.cnn.train import FitResult, TrainConfig, fit
from dlf.recipes import Recipe
from dlf.recipes.config import ConfigError, ConfigMap, ranged
from dlf.runs import Diverged, RunDir, line_plot


@dataclass
class BatchNormConfig:
    dataset: Literal["fashion-mnist", "mnist", "cifar10"] = "fashion-mnist"
    widths: tuple[int, ...] = ranged((16, 32, 64), ge=1)  # channels of each stage
    convs_per_stage: int = ranged(3, ge=1)
    hidden: int = ranged(128, ge=1)  # units of each of the two hidden fully connected layers
    epochs: int = ranged(6, ge=1)
    batch_size: int = ranged(128, ge=1)
    lr: float = ranged(0.05, gt=0)
    momentum: float = ranged(0.9, ge=0, lt=1)
    weight_decay: float = ranged(5e-4, ge=0)
    schedule: Literal["cosine", "step", "constant"] = "cosine"
    train_subset: int = ranged(10000, ge=0)  # the same budget for both nets; 0 = all
    test_subset: int = ranged(0, ge=0)  # 0 = all
    stop_on_divergence: bool = True  # a net whose loss blows up stops and is marked diverged
    seed: int = ranged(0, ge=0)


CONFIG_MAP = ConfigMap(
    BatchNormConfig,
    (TrainConfig,),
    own={"dataset", "widths", "convs_per_stage", "hidden", "train_subset", "test_subset"},
)


def preflight(config: BatchNormConfig) -> None:
    """1 to 4 stages: each halves the map (28 -> 14 -> 7 -> 3 -> 1).

    Example: ``widths=8,8,8,8,8`` -> ConfigError.
    """
    if not 1 <= len(config.widths) <= 4:
        raise ConfigError(f"widths must name 1 to 4 stages, got {config.widths}")


def build_net(config: BatchNormConfig, data: ImageTensors, batch_norm: bool) -> nn.Module:
    """``vgg_small`` with or without batch norm; its fully connected layers keep PyTorch's
    initialisation (``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``), the same for both nets.

    VGG's ``N(0, 0.01^2)`` for them shrinks the signal through three narrow layers so much that
    neither net would move in a short run, whatever its convolutions do.
    """
    stages = tuple((w,) * config.convs_per_stage for w in config.widths)
    model = vgg_small(
        data.num_classes,
        data.image_shape[0],
        data.image_shape[-1],
        stages,
        batch_norm,
        config.hidden,
        dropout=0.0,
    )
    for layer in model.classifier:
        if isinstance(layer, nn.Linear):
            layer.reset_parameters()
    return model


def final_train_loss(result: FitResult) -> float:
    """The last epoch's training loss; ``inf`` when training diverged or ran no epoch."""
    return result.history[-1]["train_loss"] if result.history and not result.diverged else math.inf


def notes(results: dict[str, FitResult], layers: int) -> str:
    """The report's reading of the run, from its own numbers."""
    first = {
        k: r.history[0]["train_loss"] if r.history else float("inf") for k, r in results.items()
    }
    last = {k: final_train_loss(r) for k, r in results.items()}
    acc = {k: r.final["test"].accuracy for k, r in results.items()}
    diverged = [k for k, r in results.items() if r.diverged]
    lines = [
        "Batch norm re-centres and re-scales every channel over the batch, so each layer's input "
        "has mean 0 and variance 1 (then a learned gamma, beta), whatever the layers below do; "
        "without it the scale of the activations and gradients drifts from layer to layer through "
        f"the {layers} layers, and one learning rate has to suit all of them.",
        f"Measured here, training loss after the first epoch: {first['with BN']:.3f} with batch "
        f"norm, {first['without BN']:.3f} without; after the last: {last['with BN']:.3f} and "
        f"{last['without BN']:.3f}. Test accuracy: {acc['with BN']:.2%} and "
        f"{acc['without BN']:.2%}.",
    ]
    if diverged:
        lines.append(f"Diverged (non-finite loss, stopped): {', '.join(diverged)}.")
    lines.append(
        "Try a larger lr (e.g. lr=0.2) or more layers (convs_per_stage=4) to widen the gap."
    )
    return " ".join(lines)


def run(config: BatchNormConfig, run_dir: RunDir) -> dict:
    data = image_tensors(config.dataset, 0.0, config.train_subset, config.test_subset, config.seed)
    run_dir.say(f"{config.dataset}: {data.sizes}")
    layers = len(config.widths) * config.convs_per_stage + 3
    train = CONFIG_MAP.build(TrainConfig, config)
    rows, results = [], {}
    for label, batch_norm in (("with BN", True), ("without BN", False)):
        torch.manual_seed(config.seed)
        model = build_net(config, data, batch_norm)
        result = fit(model, data, train, run_dir, tags={"net": label}, desc=label)
        results[label] = result
        params, _ = model_size(model, data.image_shape)
        last = result.history[-1] if result.history else {}
        rows.append(
            [
                label + (" (diverged)" if result.diverged else ""),
                f"{params:,}",
                f"{last.get('train_loss', float('nan')):.4f}",
                f"{last.get('train_acc', float('nan')):.4f}",
                f"{result.final['test'].accuracy:.4f}",
                f"{result.seconds_per_epoch:.1f}",
            ]
        )
    if results["with BN"].diverged:
        raise Diverged(
            f"the net with batch norm diverged at iteration {results['with BN'].diverged_at}; "
            f"try a lower lr (now {config.lr})"
        )
    for key, label in (("train_loss", "training loss"), ("test_acc", "test accuracy")):
        series = {net: run_dir.series(key, where={"net": net}) for net in results}
        run_dir.figure(
            key,
            line_plot(series, "epoch", label, logy=key == "train_loss"),
            caption=f"{label}: a {layers}-layer plain net with and without batch norm",
        )
    run_dir.table(
        f"{layers} weighted layers, {config.epochs} epochs, lr {config.lr}, same seed",
        ["net", "parameters", "train loss", "train acc", "test acc", "s / epoch"],
        rows,
    )
    with_bn, without = results["with BN"].final["test"], results["without BN"].final["test"]
    loss_bn, loss_plain = (final_train_loss(results[k]) for k in ("with BN", "without BN"))
    run_dir.effect(
        "with batch norm the training loss ends lower than without, at the same lr",
        loss_bn < loss_plain,
        f"training loss {loss_bn:.3f} with, {loss_plain:.3f} without"
        + (" (diverged)" if results["without BN"].diverged else ""),
    )
    run_dir.effect(
        "with batch norm the test accuracy is higher than without",
        with_bn.accuracy > without.accuracy,
        f"test accuracy {with_bn.accuracy:.1%} with, {without.accuracy:.1%} without",
    )
    run_dir.text("What this shows", notes(results, layers))
    return {
        "test_accuracy_bn": with_bn.accuracy,
        "test_accuracy_no_bn": without.accuracy,
        "train_loss_bn": loss_bn,
        "train_loss_no_bn": loss_plain,
        "diverged_no_bn": results["without BN"].diverged,
        "layers": layers,
    }


RECIPE = Recipe(
    name="batchnorm",
    module=2,
    description="the same 12-layer plain conv net with and without batch norm, same budget",
    config=BatchNormConfig,
    run=run,
    quick={
        "epochs": 1,
        "train_subset": 3000,
        "test_subset": 500,
        "batch_size": 32,
        "widths": (8, 16, 16),
        "hidden": 32,
    },
    datasets=lambda c: (c.dataset,),
    preflight=preflight,
)
