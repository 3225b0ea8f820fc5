"""``resnet-depth``: the degradation experiment of He et al. (2016), Fig. 1 and Fig. 6, on a CPU.

Plain nets and residual nets of a shallow and a deep depth (``6n + 2``: 20 and 56 by default,
``dlf.cnn.resnet_cifar``, the paper's CIFAR plan with option-A shortcuts, so each residual net has
exactly the parameters of its plain twin) are trained by ``dlf.cnn.fit`` with the same data,
optimizer, schedule and number of steps. The paper's finding: the deeper PLAIN net has the HIGHER
training error (degradation: an optimisation problem, not overfitting), while the deeper RESIDUAL
net has the lower one. The report shows

- training error per epoch and training loss per ``log_every`` iterations, plain vs residual;
- each weighted layer's gradient norm at initialisation, ``||dL/dW_l||_F`` for ``l = 1..depth``,
  on one batch of training images (training mode: batch statistics), plain vs residual.

The full setting (the defaults) trains each of the four nets for 6 epochs on all 60,000
Fashion-MNIST training images at batch 128: the deeper plain net ends with the higher training
error, the deeper residual net with the lower one. ``dataset=cifar10`` runs the paper's data set
when it is in ``$DLF_DATA`` (add ``crop_padding=4 flip=True`` for the paper's augmentation).

The quick setting compares depths 8 and 32 over one short epoch, by the training loss at the end
of training (the mean of the last quarter of the iterations): the plain 32-layer net is still
behind the plain 8-layer one, and its residual twin is not.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from dlf.cnn.data import image_tensors
from dlf.cnn.models.resnet_cifar import resnet_cifar
from dlf.cnn.train import FitResult, StepInfo, TrainConfig, fit
from dlf.recipes import Recipe
from dlf.recipes.config import ConfigError, ConfigMap, ranged
from dlf.runs import Diverged, RunDir, line_plot


@dataclass
class ResNetDepthConfig:
    dataset: Literal["fashion-mnist", "mnist", "cifar10"] = "fashion-mnist"
    depths: tuple[int, ...] = ranged((20, 56), ge=8)  # each 6n + 2
    epochs: int = ranged(6, ge=1)
    batch_size: int = ranged(128, ge=1)
    lr: float = ranged(0.1, gt=0)  # the paper's
    momentum: float = ranged(0.9, ge=0, lt=1)
    weight_decay: float = ranged(1e-4, ge=0)  # the paper's
    schedule: Literal["cosine", "step", "constant"] = "cosine"
    warmup_epochs: float = ranged(0.1, ge=0)  # linear warm-up over this many epochs, every net
    crop_padding: int = ranged(0, ge=0, le=8)
    flip: bool = False
    train_subset: int = ranged(0, ge=0)  # 0 = all training images
    test_subset: int = ranged(0, ge=0)  # 0 = all
    log_every: int = ranged(25, ge=1)  # iterations per point of the training-loss curve
    grad_batch: int = ranged(128, ge=1)  # images whose gradients are measured at initialisation
    stop_on_divergence: bool = True
    seed: int = ranged(0, ge=0)


CONFIG_MAP = ConfigMap(
    ResNetDepthConfig,
    (TrainConfig,),
    own={"dataset", "depths", "train_subset", "test_subset", "log_every", "grad_batch"},
)


def preflight(config: ResNetDepthConfig) -> None:
    """Every depth is ``6n + 2``, each once; warm-up fits in the run.

    Example: ``depths=20,21`` -> ConfigError naming the valid depths.
    """
    for depth in config.depths:
        if (depth - 2) % 6:
            raise ConfigError(
                f"every depth must be 6n + 2 (8, 14, 20, 26, 32, 44, 56, ...); got {depth}"
            )
    if len(set(config.depths)) != len(config.depths) or not config.depths:
        raise ConfigError(f"depths: each depth once, got {config.depths}")
    if config.warmup_epochs > config.epochs:
        raise ConfigError(
            f"warmup_epochs ({config.warmup_epochs}) must not exceed epochs ({config.epochs})"
        )


def net_name(depth: int, plain: bool) -> str:
    """``net_name(56, True)`` -> ``"plain-56"``; ``net_name(20, False)`` -> ``"ResNet-20"``."""
    return f"{'plain' if plain else 'ResNet'}-{depth}"


def weighted_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The convolutions and fully connected layers of ``model`` in registration (= forward) order.

    For ``resnet_cifar(depth)`` these are the ``depth`` weighted layers the paper counts: stem
    conv, two convs per block, fc (option-A shortcuts have no weights).
    """
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def layer_gradient_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """``||dL/dW_l||_F`` for every weighted layer ``l`` of ``model``, input side first.

    ``L`` is the mean cross-entropy of one batch ``x`` (N, C, H, W), ``y`` (N,), computed in
    training mode on a deep copy, so ``model`` (its weights, gradients and batch-norm running
    statistics) is left as it was. Returns ``len(weighted_layers(model))`` floats.
    """
    probe = copy.deepcopy(model).train()
    probe.zero_grad(set_to_none=True)
    F.cross_entropy(probe(x), y).backward()
    return [m.weight.grad.norm().item() for _, m in weighted_layers(probe)]


class WindowedLoss:
    """An ``on_step`` hook for ``fit``: the mean training loss of every ``every`` iterations.

    ``points`` holds ``(iteration, mean loss)`` with ``iteration`` the number of steps done
    at the end of the window. Example: ``every=2`` and losses 4, 2, 1, 1 ->
    ``[(2, 3.0), (4, 1.0)]``.
    """

    def __init__(self, every: int):
        self.every = max(every, 1)
        self.window: list[float] = []
        self.points: list[tuple[int, float]] = []

    def __call__(self, step: StepInfo) -> None:
        self.window.append(step.loss)
        if len(self.window) == self.every:
            self.points.append((step.iteration + 1, sum(self.window) / self.every))
            self.window = []


def end_loss(curve: WindowedLoss, result: FitResult) -> float:
    """The training loss at the end of training: the mean of the last quarter of the windows.

    ``inf`` when the net diverged; the last epoch's loss when no window was filled.
    Example: windows with means 4, 3, 2, 1 -> 1.0; 8 windows ending 2, 1 -> 1.5.
    """
    if result.diverged:
        return math.inf
    losses = [loss for _, loss in curve.points]
    if not losses:
        return result.history[-1]["train_loss"] if result.history else math.inf
    tail = losses[-max(len(losses) // 4, 1) :]
    return sum(tail) / len(tail)


def show_effects(run_dir: RunDir, ends: dict[str, float], depths: tuple[int, ...]) -> None:
    """The two findings of the paper, as effects of this run, judged by ``end_loss``.

    A residual net that diverged (``inf``) does not train "at least as well" as a plain net that
    diverged too. Example: ends ``{"ResNet-32": 0.4, "plain-32": 0.9, ...}`` -> the first ✓.
    """
    shallow, deep = min(depths), max(depths)
    p_s, p_d, r_d = net_name(shallow, True), net_name(deep, True), net_name(deep, False)
    run_dir.effect(
        f"the residual net trains at least as well as the plain net of the same depth ({deep})",
        math.isfinite(ends[r_d]) and ends[r_d] <= ends[p_d],
        f"training loss at the end {ends[r_d]:.3f} {r_d}, {ends[p_d]:.3f} {p_d}",
    )
    if shallow != deep:
        run_dir.effect(
            "the deeper plain net trains worse than the shallower one (degradation)",
            ends[p_d] > ends[p_s],
            f"training loss at the end {ends[p_d]:.3f} {p_d}, {ends[p_s]:.3f} {p_s}",
        )


def error_series(series: tuple[list, list]) -> tuple[list, list]:
    """``(steps, accuracies)`` -> ``(steps, 1 - accuracies)``.

    Example: ``([1], [0.9])`` -> ``([1], [0.1])`` (up to rounding).
    """
    steps, acc = series
    return steps, [1.0 - a for a in acc]


def final_train_error(result: FitResult) -> float:
    """The last epoch's training error (running, over the epoch); 1.0 when no epoch ran."""
    return result.history[-1]["train_error"] if result.history else 1.0


def notes(errors: dict[str, float], first: dict[str, float], depths: tuple[int, ...]) -> str:
    """The report's reading of the run, from its own numbers."""
    shallow, deep = min(depths), max(depths)
    p_s, p_d = net_name(shallow, True), net_name(deep, True)
    r_s, r_d = net_name(shallow, False), net_name(deep, False)
    degraded = errors[p_d] > errors[p_s]
    improved = errors[r_d] < errors[r_s]
    lines = [
        f"Final-epoch training error: {p_s} {errors[p_s]:.2%}, {p_d} {errors[p_d]:.2%}; "
        f"{r_s} {errors[r_s]:.2%}, {r_d} {errors[r_d]:.2%}.",
        (
            f"The deeper plain net trains WORSE than the shallower one, by "
            f"{100 * (errors[p_d] - errors[p_s]):.2f} points (degradation), although it "
            f"could copy the {shallow}-layer net and set its extra layers to the identity: the "
            "solver does not find that solution."
            if degraded
            else "In this run the deeper plain net did NOT train worse than the shallower one "
            "(no degradation seen at this budget)."
        ),
        (
            f"The deeper residual net trains BETTER than the shallower one, by "
            f"{100 * (errors[r_s] - errors[r_d]):.2f} points: with identity "
            "shortcuts the extra blocks only have to learn a residual F(x) = H(x) - x, and "
            "near-zero residuals are easy to reach."
            if improved
            else "In this run the deeper residual net did NOT train better than the shallower one "
            "at this budget."
        ),
        f"Gradients at initialisation (first layer / last conv layer): {p_d} "
        f"{first[p_d]:.3g}, {r_d} {first[r_d]:.3g}. With batch norm the deep plain net's "
        "gradient does not vanish; it GROWS toward the input by orders of magnitude (each "
        "normalised layer amplifies it a little; Yang et al., 2019), so one learning rate is too "
        "large for its first layers and too small for its last. The shortcuts carry the "
        "gradient to every block unchanged, and the residual net's layers receive gradients "
        "of similar size.",
    ]
    return " ".join(lines)


def run(config: ResNetDepthConfig, run_dir: RunDir) -> dict:
    data = image_tensors(config.dataset, 0.0, config.train_subset, config.test_subset, config.seed)
    run_dir.say(f"{config.dataset}: {data.sizes}")
    channels = data.image_shape[0]
    x_grad = data.x_train[: config.grad_batch]
    y_grad = data.y_train[: config.grad_batch]
    train = CONFIG_MAP.build(TrainConfig, config)
    results: dict[str, FitResult] = {}
    grad_norms: dict[str, list[float]] = {}
    curves: dict[str, WindowedLoss] = {}
    rows = []
    for depth in sorted(config.depths):
        for plain in (True, False):
            name = net_name(depth, plain)
            torch.manual_seed(config.seed)
            model = resnet_cifar(depth, plain, data.num_classes, channels)
            grad_norms[name] = layer_gradient_norms(model, x_grad, y_grad)
            curves[name] = WindowedLoss(config.log_every)
            result = fit(model, data, train, run_dir, curves[name], {"net": name}, name)
            results[name] = result
            for iteration, loss in curves[name].points:
                run_dir.log(iteration, window_train_loss=loss, net=name)
            rows.append(
                [
                    name + (" (diverged)" if result.diverged else ""),
                    f"{sum(p.numel() for p in model.parameters()):,}",
                    f"{final_train_error(result):.4f}",
                    f"{result.history[-1]['train_loss'] if result.history else float('nan'):.4f}",
                    f"{1 - result.final['test'].accuracy:.4f}",
                    f"{grad_norms[name][0]:.3g}",
                    f"{grad_norms[name][-2]:.3g}",
                    f"{result.seconds_per_epoch:.0f}",
                ]
            )
    names = list(results)
    run_dir.figure(
        "train_error",
        line_plot(
            {n: run_dir.series("train_error", where={"net": n}) for n in names},
            "epoch",
            "training error (running, over the epoch)",
            logy=True,
        ),
        caption="training error per epoch: plain vs residual, shallow vs deep (paper, Fig. 6)",
    )
    run_dir.figure(
        "train_loss_iterations",
        line_plot(
            {n: tuple(zip(*curves[n].points, strict=True)) or ([], []) for n in names},
            "iteration",
            f"training loss (mean of {config.log_every} iterations)",
            logy=True,
        ),
        caption=f"training loss, mean over every {config.log_every} iterations",
    )
    run_dir.figure(
        "test_error",
        line_plot(
            {n: error_series(run_dir.series("test_acc", where={"net": n})) for n in names},
            "epoch",
            "test error",
            logy=True,
        ),
        caption="test error per epoch",
    )
    run_dir.figure(
        "grad_norms",
        line_plot(
            {n: (list(range(1, len(g) + 1)), g) for n, g in grad_norms.items()},
            "layer index (1 = first conv, last = fc)",
            "||dL/dW|| at initialisation",
            logy=True,
        ),
        caption=f"gradient norm of every weighted layer at initialisation, one batch of "
        f"{len(y_grad)} training images",
    )
    run_dir.table(
        f"{config.dataset}, {config.epochs} epochs of {len(data.y_train)} images, batch "
        f"{config.batch_size}, lr {config.lr}, same seed",
        [
            "net",
            "parameters",
            "train error",
            "train loss",
            "test error",
            "|grad| layer 1",
            "|grad| last conv",
            "s / epoch",
        ],
        rows,
    )
    if all(r.diverged for r in results.values()):
        raise Diverged(f"every net diverged; try a lower lr (now {config.lr})")
    ends = {n: end_loss(curves[n], r) for n, r in results.items()}
    show_effects(run_dir, ends, config.depths)
    errors = {n: final_train_error(r) for n, r in results.items()}
    first = {n: g[0] / g[-2] for n, g in grad_norms.items()}
    run_dir.text("What this shows", notes(errors, first, config.depths))
    summary: dict[str, object] = {}
    for n in names:
        key = n.lower().replace("-", "")
        summary[f"train_error_{key}"] = errors[n]
        summary[f"end_loss_{key}"] = ends[n]
        summary[f"test_error_{key}"] = 1 - results[n].final["test"].accuracy
        summary[f"grad_first_{key}"] = grad_norms[n][0]
        summary[f"layers_{key}"] = len(grad_norms[n])
        summary[f"diverged_{key}"] = results[n].diverged
    return summary


RECIPE = Recipe(
    name="resnet-depth",
    module=2,
    description="plain vs residual nets at 20 and 56 layers: degradation and gradients at init",
    config=ResNetDepthConfig,
    run=run,
    quick={
        "depths": (8, 32),
        "epochs": 1,
        "batch_size": 32,
        "lr": 0.05,
        "warmup_epochs": 0.5,
        "train_subset": 2000,
        "test_subset": 500,
        "log_every": 2,
        "grad_batch": 32,
    },
    datasets=lambda c: (c.dataset,),
    preflight=preflight,
)
