"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012, "ImageNet Classification with Deep
Convolutional Neural Networks"), in its one-column form (Krizhevsky, 2014, "One weird trick for
parallelizing convolutional neural networks"), which is the standard reference definition:

    3x224x224 -> conv 64@11x11/4 p2 -> ReLU -> maxpool 3/2 -> conv 192@5x5 p2 -> ReLU -> maxpool 3/2
    -> conv 384@3x3 p1 -> ReLU -> conv 256@3x3 p1 -> ReLU -> conv 256@3x3 p1 -> ReLU -> maxpool 3/2
    -> 256x6x6 -> dropout -> fc 4096 -> ReLU -> dropout -> fc 4096 -> ReLU -> fc num_classes

61,100,840 parameters for 1000 classes. The 2012 net split its layers over two GPUs (96, 256,
384, 384, 256 kernels, some layers connected only within a GPU) and used local response
normalisation; the one-column version has neither. Pooling is "overlapping" (3x3 windows, stride
2; Section 3.4); dropout 0.5 before the first two fully connected layers (Section 4.2). An adaptive
average pool to 6x6 (identity at 224x224) lets other input sizes reach the classifier.

Initialisation (``init``): ``"paper"`` is Section 5: every weight ~ N(0, 0.01^2), biases 1 in
conv layers 2, 4, 5 and the hidden fully connected layers, 0 elsewhere; it trains only with the
paper's long schedule. ``"he"`` (default) uses He et al. (2015) for the convolutions and
N(0, 0.01^2) for the fully connected layers, which trains from scratch at small scale too.

``alexnet_small`` is the same builder with a configuration for 28x28 / 32x32 images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from dlf.cnn.models.weight_init import he_normal_, normal_linear_
from dlf.cnn.receptive_field import conv_output_size


@dataclass(frozen=True)
class ConvSpec:
    """One conv layer (followed by ReLU), with an optional overlapping 3x3/2 max-pool after it."""

    out_channels: int
    kernel: int
    stride: int = 1
    padding: int = 0
    pool: bool = False


ALEXNET_CONVS = (
    ConvSpec(64, 11, stride=4, padding=2, pool=True),
    ConvSpec(192, 5, padding=2, pool=True),
    ConvSpec(384, 3, padding=1),
    ConvSpec(256, 3, padding=1),
    ConvSpec(256, 3, padding=1, pool=True),
)
SMALL_CONVS = (
    ConvSpec(48, 5, padding=2, pool=True),
    ConvSpec(128, 5, padding=2, pool=True),
    ConvSpec(192, 3, padding=1),
    ConvSpec(192, 3, padding=1),
    ConvSpec(128, 3, padding=1, pool=True),
)
PAPER_BIAS_ONE = (1, 3, 4)  # conv layers 2, 4 and 5 (0-based) start with bias 1 (Section 5)


@dataclass(frozen=True)
class AlexNetConfig:
    """Shape of an AlexNet-style net; the defaults are the ImageNet network."""

    convs: tuple[ConvSpec, ...] = ALEXNET_CONVS
    in_channels: int = 3
    num_classes: int = 1000
    pool_size: int = 6  # side of the feature map handed to the classifier
    hidden: int = 4096
    dropout: float = 0.5
    init: Literal["he", "paper"] = "he"


class AlexNet(nn.Module):
    """``(N, in_channels, H, W)`` -> logits ``(N, num_classes)``; ``features`` then ``classifier``.

    Module names follow the reference definition (``features.0`` ... ``classifier.6``).
    """

    def __init__(self, config: AlexNetConfig = AlexNetConfig()):
        super().__init__()
        if config.init not in ("he", "paper"):
            raise ValueError(f"init must be 'he' or 'paper'; got {config.init!r}")
        self.config = config
        layers: list[nn.Module] = []
        channels = config.in_channels
        for spec in config.convs:
            layers += [
                nn.Conv2d(channels, spec.out_channels, spec.kernel, spec.stride, spec.padding),
                nn.ReLU(inplace=True),
            ]
            if spec.pool:
                layers.append(nn.MaxPool2d(3, stride=2))
            channels = spec.out_channels
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(config.pool_size)
        self.classifier = nn.Sequential(
            nn.Dropout(config.dropout),
            nn.Linear(channels * config.pool_size**2, config.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.hidden),
            nn.ReLU(inplace=True),
            nn.Linear(config.hidden, config.num_classes),
        )
        self._init_weights()

    def _init_weights(self) -> None:
        normal_linear_(self)
        if self.config.init == "he":
            he_normal_(self)
            return
        convs = [m for m in self.features if isinstance(m, nn.Conv2d)]
        hidden = [m for m in self.classifier if isinstance(m, nn.Linear)][:-1]
        for i, conv in enumerate(convs):
            nn.init.normal_(conv.weight, 0.0, 0.01)
            nn.init.constant_(conv.bias, 1.0 if i in PAPER_BIAS_ONE else 0.0)
        for linear in hidden:
            nn.init.constant_(linear.bias, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def alexnet(num_classes: int = 1000, in_channels: int = 3, init: str = "he") -> AlexNet:
    """The ImageNet AlexNet (one-column form) for ``(N, in_channels, 224, 224)`` inputs."""
    return AlexNet(AlexNetConfig(in_channels=in_channels, num_classes=num_classes, init=init))


def alexnet_small(
    num_classes: int = 10,
    in_channels: int = 1,
    image_size: int = 28,
    convs: tuple[ConvSpec, ...] = SMALL_CONVS,
    hidden: int = 512,
    dropout: float = 0.5,
    init: str = "he",
) -> AlexNet:
    """An AlexNet-style net for small images (28x28 MNIST-like or 32x32 CIFAR-like).

    Same five conv layers, three overlapping max-pools and three fully connected layers as
    AlexNet, with 5x5 stride-1 first kernels and fewer channels. The classifier reads the whole
    final feature map (2x2 at 28x28, 3x3 at 32x32).
    """
    size = image_size
    for spec in convs:
        size = conv_output_size(size, spec.kernel, spec.stride, spec.padding)
        if spec.pool:
            size = conv_output_size(size, 3, 2)
    config = AlexNetConfig(convs, in_channels, num_classes, size, hidden, dropout, init)
    return AlexNet(config)
