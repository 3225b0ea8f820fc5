"""VGG (Simonyan & Zisserman, 2015, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", Table 1, configurations A, B, D, E = VGG-11, 13, 16, 19).

Five stages of 3x3 convolutions (stride 1, padding 1, each followed by ReLU), each stage closed
by a 2x2 max-pool of stride 2; then fc 4096 -> ReLU -> dropout -> fc 4096 -> ReLU -> dropout ->
fc num_classes (dropout 0.5 on the first two, Section 3.1). A stack of two 3x3 convs sees 5x5,
three see 7x7, with fewer parameters and more non-linearities than one large kernel (Section 2.3).
``batch_norm=True`` adds batch normalisation (Ioffe & Szegedy, 2015) after every convolution, as
in the reference ``vgg*_bn`` definitions (the conv keeps its bias there, so that the parameter
counts match them). An adaptive average pool to 7x7 (identity at 224x224) sits before the
classifier so that other input sizes work.

Initialisation: the paper drew every weight from N(0, 0.01^2) and had to initialise the deeper
nets from the trained VGG-11; it notes that Glorot-style initialisation removes the need.
We use He et al. (2015), which was derived for exactly these deep 3x3 ReLU stacks, for the
convolutions and the paper's N(0, 0.01^2) for the fully connected layers; biases 0.

``vgg_small`` is the same builder with stages and classifier sized for 28x28 / 32x32 images.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from dlf.cnn.models.weight_init import he_normal_, normal_linear_
from dlf.cnn.receptive_field import conv_output_size

# Output channels of each conv, stage by stage (Table 1 of the paper).
VGG_STAGES: dict[int, tuple[tuple[int, ...], ...]] = {
    11: ((64,), (128,), (256, 256), (512, 512), (512, 512)),
    13: ((64, 64), (128, 128), (256, 256), (512, 512), (512, 512)),
    16: ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)),
    19: ((64, 64), (128, 128), (256,) * 4, (512,) * 4, (512,) * 4),
}


@dataclass(frozen=True)
class VGGConfig:
    """Shape of a VGG-style net; the defaults are VGG-16 for ImageNet."""

    stages: tuple[tuple[int, ...], ...] = VGG_STAGES[16]
    batch_norm: bool = False
    in_channels: int = 3
    num_classes: int = 1000
    pool_size: int = 7  # side of the feature map handed to the classifier
    hidden: int = 4096
    dropout: float = 0.5


def vgg_features(
    stages: tuple[tuple[int, ...], ...], in_channels: int, batch_norm: bool
) -> nn.Sequential:
    """The convolutional part: per stage, ``[conv3x3 (-> BN) -> ReLU] * n`` then ``maxpool 2x2/2``.

    ``(N, in_channels, H, W)`` -> ``(N, stages[-1][-1], H / 2^S, W / 2^S)`` for ``S`` stages.
    Example: ``vgg_features(((8,),), 1, False)`` -> ``Conv2d(1, 8, 3, padding=1), ReLU, MaxPool2d``.
    """
    layers: list[nn.Module] = []
    channels = in_channels
    for stage in stages:
        for out_channels in stage:
            layers.append(nn.Conv2d(channels, out_channels, 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU(inplace=True))
            channels = out_channels
        layers.append(nn.MaxPool2d(2, stride=2))
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``(N, in_channels, H, W)`` -> logits ``(N, num_classes)``; ``features`` then ``classifier``.

    Module names follow the reference definition (``features.0`` ... ``classifier.6``).
    """

    def __init__(self, config: VGGConfig = VGGConfig()):
        super().__init__()
        self.config = config
        self.features = vgg_features(config.stages, config.in_channels, config.batch_norm)
        self.avgpool = nn.AdaptiveAvgPool2d(config.pool_size)
        width = config.stages[-1][-1] * config.pool_size**2
        self.classifier = nn.Sequential(
            nn.Linear(width, config.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.num_classes),
        )
        he_normal_(self)
        normal_linear_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def _vgg(depth: int, num_classes: int, batch_norm: bool, in_channels: int) -> VGG:
    return VGG(VGGConfig(VGG_STAGES[depth], batch_norm, in_channels, num_classes))


def vgg11(num_classes: int = 1000, batch_norm: bool = False, in_channels: int = 3) -> VGG:
    """VGG-11 (configuration A; A-LRN is not built) for ``(N, in_channels, 224, 224)`` inputs."""
    return _vgg(11, num_classes, batch_norm, in_channels)


def vgg13(num_classes: int = 1000, batch_norm: bool = False, in_channels: int = 3) -> VGG:
    """VGG-13 (configuration B) for ``(N, in_channels, 224, 224)`` inputs."""
    return _vgg(13, num_classes, batch_norm, in_channels)


def vgg16(num_classes: int = 1000, batch_norm: bool = False, in_channels: int = 3) -> VGG:
    """VGG-16 (configuration D, all 3x3) for ``(N, in_channels, 224, 224)`` inputs."""
    return _vgg(16, num_classes, batch_norm, in_channels)


def vgg19(num_classes: int = 1000, batch_norm: bool = False, in_channels: int = 3) -> VGG:
    """VGG-19 (configuration E) for ``(N, in_channels, 224, 224)`` inputs."""
    return _vgg(19, num_classes, batch_norm, in_channels)


def vgg_small(
    num_classes: int = 10,
    in_channels: int = 1,
    image_size: int = 28,
    stages: tuple[tuple[int, ...], ...] = ((32, 32), (64, 64), (128, 128)),
    batch_norm: bool = True,
    hidden: int = 256,
    dropout: float = 0.5,
) -> VGG:
    """A VGG-style net for small images (28x28 MNIST-like or 32x32 CIFAR-like).

    Three stages of two 3x3 convs (32, 64, 128 channels) with batch norm; the classifier reads the
    whole final map (3x3 at 28x28, 4x4 at 32x32) through two hidden layers of ``hidden`` units.
    """
    size = image_size
    for _ in stages:
        size = conv_output_size(size, 2, 2)
    config = VGGConfig(stages, batch_norm, in_channels, num_classes, size, hidden, dropout)
    return VGG(config)
