"""The CNNs of Module 2, written from their papers, and a registry of them by name.

``MODELS[name](num_classes=..., in_channels=...)`` builds a model; ``INPUT_SHAPES[name]`` is the
``(channels, height, width)`` of one input it was designed for. ``get_model`` does both lookups
with an error that lists the names.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from torch import nn

from dlf.cnn.models.alexnet import AlexNet, AlexNetConfig, ConvSpec, alexnet, alexnet_small
from dlf.cnn.models.lenet import LeNet5, lenet5
from dlf.cnn.models.resnet import (
    BasicBlock,
    Bottleneck,
    ResNet,
    ResNetConfig,
    ZeroPadShortcut,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
)
from dlf.cnn.models.resnet_cifar import CIFAR_DEPTHS, ResNetCIFAR, resnet_cifar
from dlf.cnn.models.vgg import VGG, VGGConfig, vgg11, vgg13, vgg16, vgg19, vgg_small

IMAGENET = (3, 224, 224)
MNIST = (1, 28, 28)

MODELS: dict[str, Callable[..., nn.Module]] = {
    "lenet5": lenet5,
    "alexnet": alexnet,
    "alexnet_small": alexnet_small,
    "vgg_small": vgg_small,
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "resnet101": resnet101,
    "resnet152": resnet152,
}
INPUT_SHAPES: dict[str, tuple[int, int, int]] = {
    "lenet5": (1, 32, 32),
    "alexnet": IMAGENET,
    "alexnet_small": MNIST,
    "vgg_small": MNIST,
}
for _name, _vgg in (("vgg11", vgg11), ("vgg13", vgg13), ("vgg16", vgg16), ("vgg19", vgg19)):
    MODELS[_name] = _vgg
    MODELS[f"{_name}_bn"] = partial(_vgg, batch_norm=True)
    INPUT_SHAPES[_name] = INPUT_SHAPES[f"{_name}_bn"] = IMAGENET
for _depth in (18, 34, 50, 101, 152):
    INPUT_SHAPES[f"resnet{_depth}"] = IMAGENET
for _depth in CIFAR_DEPTHS:
    MODELS[f"resnet{_depth}"] = partial(resnet_cifar, _depth)
    MODELS[f"plain{_depth}"] = partial(resnet_cifar, _depth, plain=True)
    INPUT_SHAPES[f"resnet{_depth}"] = INPUT_SHAPES[f"plain{_depth}"] = (3, 32, 32)


def get_model(name: str, **kwargs: object) -> nn.Module:
    """Build the registered model ``name`` (``num_classes=``, ``in_channels=`` ... passed on).

    Example: ``get_model("resnet20", num_classes=10)`` -> a 20-layer CIFAR ResNet.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}")
    return MODELS[name](**kwargs)


__all__ = [
    "INPUT_SHAPES",
    "MODELS",
    "AlexNet",
    "AlexNetConfig",
    "BasicBlock",
    "Bottleneck",
    "ConvSpec",
    "LeNet5",
    "ResNet",
    "ResNetCIFAR",
    "ResNetConfig",
    "VGG",
    "VGGConfig",
    "ZeroPadShortcut",
    "alexnet",
    "alexnet_small",
    "get_model",
    "lenet5",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnet_cifar",
    "vgg11",
    "vgg13",
    "vgg16",
    "vgg19",
    "vgg_small",
]
