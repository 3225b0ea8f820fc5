"""``transfer``: pretrain on a source task, then learn a small labelled target task three ways.

Source task: the images of ``source_classes`` (Fashion-MNIST's T-shirt, trouser, pullover, dress,
coat by default), all of them. Target task: ``target_classes`` (sandal, shirt, sneaker, bag, ankle
boot) with only ``labels_per_class`` labelled training images each; tested on every test image of
those classes. A small residual net (``dlf.cnn.small_resnet``: three stages of BasicBlocks, global
average pooling, one linear layer ``fc``) is pretrained on the source, then ``fc`` is replaced by
a new one ``W in R^{K x d}`` for the target's ``K`` classes and

- scratch:      a fresh net of the same architecture, every weight trained on the target set;
- linear probe: the pretrained layers frozen (no gradient, batch norm on its running statistics),
                only the new ``fc`` trained: logistic regression on the pretrained features;
- fine-tune:    every weight trained, starting from the pretrained ones, at a smaller lr.

All three use ``dlf.cnn.fit`` with the same target set, epochs, batch size and seed.

``weights=PATH`` replaces the pretraining by a local file of torchvision's ResNet-18 format (a
state_dict saved with ``torch.save`` or as ``.safetensors``): it is loaded with a strict key check
into ``dlf.cnn.resnet18``, grey images are repeated to 3 channels and resized to
``image_size`` pixels on the fly, and the scratch baseline is a fresh ResNet-18.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dlf.cnn.data import ImageTensors, image_tensors
from dlf.cnn.models.resnet import ResNet, resnet18
from dlf.cnn.small_nets import small_resnet
from dlf.cnn.train import FitResult, TrainConfig, fit
from dlf.recipes import Recipe
from dlf.runs import RunDir, line_plot

METHODS = ("scratch", "linear probe", "fine-tune")


@dataclass
class TransferConfig:
    dataset: Literal["fashion-mnist", "mnist", "cifar10"] = "fashion-mnist"
    source_classes: tuple[int, ...] = (0, 1, 2, 3, 4)
    target_classes: tuple[int, ...] = (5, 6, 7, 8, 9)
    labels_per_class: int = 20  # labelled target training images per class
    widths: tuple[int, ...] = (32, 64, 128)
    blocks: tuple[int, ...] = (1, 1, 1)
    stem: int = 24
    pretrain_epochs: int = 3
    pretrain_subset: int = 0  # source training images used; 0 = all
    batch_size: int = 128  # pretraining
    lr: float = 0.05  # pretraining and scratch
    probe_lr: float = 0.1
    finetune_lr: float = 0.05
    epochs: int = 20  # on the target set, for each method
    target_batch_size: int = 25
    momentum: float = 0.9
    weight_decay: float = 5e-4
    crop_padding: int = 2  # random shifts, for every training run
    test_subset: int = 0  # 0 = every test image of the classes
    weights: str = ""  # a torchvision ResNet-18 state_dict file: used instead of pretraining
    image_size: int = 64  # input side for the ResNet-18 of ``weights``
    seed: int = 0


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


def replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Swap the LAST ``nn.Linear`` of ``model`` for a fresh ``Linear(d, num_classes)``, in place.

    Works for any model whose classifier is its last registered Linear (``small_cnn``'s ``fc2``,
    ResNet's ``fc``). Returns ``model``. Example: a ResNet-18 with ``fc`` 512 -> 1000 becomes
    512 -> 5.
    """
    name, old = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    parent = model.get_submodule(name.rpartition(".")[0])
    setattr(parent, name.rpartition(".")[2], nn.Linear(old.in_features, num_classes))
    return model


def head(model: nn.Module) -> nn.Linear:
    """The last ``nn.Linear`` of ``model`` (its classifier)."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)][-1]


def freeze_features(model: nn.Module) -> nn.Module:
    """Linear probing: every parameter but the classifier's frozen, and the frozen layers kept in
    eval mode (batch norm on its running statistics, dropout off) even when ``model.train()`` is
    called. Returns ``model``; only ``head(model)`` has ``requires_grad``.
    """
    classifier = head(model)
    for p in model.parameters():
        p.requires_grad_(False)
    for p in classifier.parameters():
        p.requires_grad_(True)
    frozen = [m for m in model.modules() if not list(m.children()) and m is not classifier]

    def keep_frozen_in_eval(module: nn.Module, _inputs: tuple) -> None:
        if module.training:
            module.eval()

    for m in frozen:
        m.register_forward_pre_hook(keep_frozen_in_eval)
    return model


class GreyToRGB(nn.Module):
    """``(N, 1 or 3, H, W)`` -> ``(N, 3, size, size)``: repeat a grey channel, resize bilinearly.

    Lets a net pretrained on colour images of another size read small grey images.
    """

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)


def load_resnet18(path: str | Path) -> ResNet:
    """Our ``resnet18`` with the weights of a torchvision-format ResNet-18 state_dict file.

    ``.safetensors`` files are read with safetensors, anything else with
    ``torch.load(path, weights_only=True)``. The key check is strict; the number of classes is
    read from ``fc.weight``. Raises ValueError naming the missing and unexpected keys.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} not found; pass weights=PATH to a file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or "fc.weight" not in state:
        raise ValueError(
            f"{path} is not a ResNet-18 state_dict (no 'fc.weight'); save one with "
            "torch.save(torchvision.models.resnet18(weights=...).state_dict(), PATH)"
        )
    model = resnet18(num_classes=state["fc.weight"].shape[0])
    expected = set(model.state_dict())
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise ValueError(
            f"{path} is not in torchvision's ResNet-18 format: missing keys {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''}, unexpected keys {unexpected[:5]}"
            f"{' ...' if len(unexpected) > 5 else ''}"
        )
    model.load_state_dict(state, strict=True)
    return model


def transfer_models(pretrained: nn.Module, fresh: nn.Module, num_classes: int) -> dict:
    """``{method: model}`` for the three methods, each with a new ``num_classes``-way head.

    ``fresh`` (an untrained net of the same architecture) becomes the scratch model; the
    linear probe and the fine-tuned model are copies of ``pretrained``.
    """
    probe = freeze_features(replace_head(copy.deepcopy(pretrained), num_classes))
    return {
        "scratch": replace_head(fresh, num_classes),
        "linear probe": probe,
        "fine-tune": replace_head(copy.deepcopy(pretrained), num_classes),
    }


def train_on_target(
    models: dict[str, nn.Module],
    target: ImageTensors,
    configs: dict[str, TrainConfig],
    run_dir: RunDir | None = None,
) -> dict[str, FitResult]:
    """``fit`` each method's model on the target set with its own TrainConfig."""
    results = {}
    for method, model in models.items():
        torch.manual_seed(configs[method].seed)
        results[method] = fit(model, target, configs[method], run_dir, tags={"method": method},
                              desc=method)  # fmt: skip
    return results


def trainable(model: nn.Module) -> int:
    """Number of parameters with ``requires_grad``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def notes(acc: dict[str, float], source_line: str, config: TransferConfig, probe: int) -> str:
    """The report's reading of the run, from its own numbers."""
    best = max(acc, key=acc.get)
    lines = [
        f"Source: {source_line}. With {config.labels_per_class} labelled images per target "
        f"class, test accuracy after {config.epochs} epochs: scratch {acc['scratch']:.2%}, "
        f"linear probe {acc['linear probe']:.2%} ({probe:,} trainable parameters), fine-tune "
        f"{acc['fine-tune']:.2%}; best here: {best}.",
    ]
    if acc["fine-tune"] > acc["scratch"]:
        lines.append(
            "Starting from weights learnt on a related task beats random weights when labels "
            "are few: the pretrained layers already detect edges, textures and shapes, and "
            "fine-tuning only has to adapt them."
        )
    else:
        lines.append(
            "Here pretraining did NOT beat training from scratch: the target classes are easy "
            "to tell apart with this many labels, and features tuned to the source classes "
            "start no better than random ones. Try fewer labels (labels_per_class=5)."
        )
    if acc["linear probe"] < acc["fine-tune"]:
        lines.append(
            "The linear probe trails fine-tuning: the last layers' features are specialised "
            "to the source classes, and a linear classifier on them cannot undo that."
        )
    return " ".join(lines)


def run(config: TransferConfig, run_dir: RunDir) -> dict:
    overlap = set(config.source_classes) & set(config.target_classes)
    if overlap and not config.weights:
        raise ValueError(f"source and target classes overlap: {sorted(overlap)}")
    data = image_tensors(config.dataset, 0.0, 0, 0, config.seed)
    target = class_subset(data, config.target_classes, config.labels_per_class, config.seed)
    if config.test_subset:
        keep = torch.randperm(len(target.y_test), generator=torch.Generator().manual_seed(0))
        keep = keep[: config.test_subset].sort().values
        target = dataclasses.replace(target, x_test=target.x_test[keep], y_test=target.y_test[keep])
    channels = data.image_shape[0]
    base = TrainConfig(
        momentum=config.momentum,
        weight_decay=config.weight_decay,
        crop_padding=config.crop_padding,
        seed=config.seed,
    )
    summary: dict[str, object] = {}
    if config.weights:
        run_dir.say(f"loading ResNet-18 weights from {config.weights}")
        pretrained: nn.Module = nn.Sequential(
            GreyToRGB(config.image_size), load_resnet18(config.weights)
        )
        torch.manual_seed(config.seed)
        fresh: nn.Module = nn.Sequential(GreyToRGB(config.image_size), resnet18())
        source_line = f"ResNet-18 weights from {config.weights} (no pretraining here)"
    else:
        source = class_subset(data, config.source_classes, 0, config.seed)
        if config.pretrain_subset:
            source = dataclasses.replace(
                source,
                x_train=source.x_train[: config.pretrain_subset],
                y_train=source.y_train[: config.pretrain_subset],
            )
        if config.test_subset:
            source = dataclasses.replace(
                source,
                x_test=source.x_test[: config.test_subset],
                y_test=source.y_test[: config.test_subset],
            )

        def net(num_classes: int) -> nn.Module:
            return small_resnet(num_classes, channels, config.widths, config.blocks, config.stem)

        torch.manual_seed(config.seed)
        pretrained = net(len(config.source_classes))
        pre = dataclasses.replace(
            base, epochs=config.pretrain_epochs, batch_size=config.batch_size, lr=config.lr
        )
        run_dir.say(f"source {', '.join(source.classes)}: {source.sizes}")
        result = fit(pretrained, source, pre, run_dir, tags={"method": "pretrain"}, desc="pretrain")
        summary["source_test_accuracy"] = result.final["test"].accuracy
        torch.manual_seed(config.seed + 1)
        fresh = net(len(config.source_classes))
        source_line = (
            f"pretrained on {len(source.y_train)} images of {', '.join(source.classes)} for "
            f"{config.pretrain_epochs} epochs: source test accuracy "
            f"{result.final['test'].accuracy:.2%}"
        )
    run_dir.say(f"target {', '.join(target.classes)}: {target.sizes}")
    models = transfer_models(pretrained, fresh, len(config.target_classes))
    target_base = dataclasses.replace(
        base, epochs=config.epochs, batch_size=config.target_batch_size, lr=config.lr
    )
    configs = {
        "scratch": target_base,
        "linear probe": dataclasses.replace(target_base, lr=config.probe_lr),
        "fine-tune": dataclasses.replace(target_base, lr=config.finetune_lr),
    }
    results = train_on_target(models, target, configs, run_dir)
    series = {m: run_dir.series("test_acc", where={"method": m}) for m in METHODS}
    run_dir.figure(
        "test_accuracy",
        line_plot(series, "epoch on the target set", "target test accuracy"),
        caption=f"target test accuracy per epoch, {config.labels_per_class} labels per class",
    )
    train_series = {m: run_dir.series("train_loss", where={"method": m}) for m in METHODS}
    run_dir.figure(
        "train_loss",
        line_plot(train_series, "epoch on the target set", "training loss", logy=True),
        caption="training loss on the small target set",
    )
    rows = [
        [
            m,
            f"{trainable(models[m]):,}",
            f"{configs[m].lr:g}",
            f"{results[m].history[-1]['train_acc']:.4f}",
            f"{results[m].final['test'].accuracy:.4f}",
            f"{max(r['test_acc'] for r in results[m].history):.4f}",
        ]
        for m in METHODS
    ]
    run_dir.table(
        f"Target: {', '.join(target.classes)}; {target.sizes}; {config.epochs} epochs",
        ["method", "trainable parameters", "lr", "train acc", "test acc (last)", "best epoch"],
        rows,
    )
    acc = {m: results[m].final["test"].accuracy for m in METHODS}
    run_dir.text(
        "What this shows", notes(acc, source_line, config, trainable(models["linear probe"]))
    )
    for m in METHODS:
        key = m.replace(" ", "_").replace("-", "")
        summary[f"test_accuracy_{key}"] = acc[m]
    summary["target_train_images"] = len(target.y_train)
    return summary


RECIPE = Recipe(
    name="transfer",
    module=2,
    description="pretrain, then scratch vs linear probe vs fine-tune on 20 labels per class",
    config=TransferConfig,
    run=run,
    quick={
        "widths": (8, 16, 16),
        "stem": 8,
        "pretrain_epochs": 1,
        "pretrain_subset": 2000,
        "epochs": 3,
        "labels_per_class": 10,
        "test_subset": 500,
    },
    datasets=lambda c: (c.dataset,),
    durations={"quick": 1.8, "full": 828.0},  # measured with the machine loaded (load ~10)
)
