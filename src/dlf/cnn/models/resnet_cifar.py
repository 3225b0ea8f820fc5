"""CIFAR-shaped residual networks and their plain twins (He et al., 2016, Section 4.2).

For depth ``6n + 2``: a 3x3 conv with 16 filters, then three stages of ``n`` BasicBlocks (2n
layers each) with 16, 32, 64 filters on maps of 32x32, 16x16, 8x8 (the first conv of stages 2 and
3 has stride 2), global average pooling and a fully connected layer: ``6n + 2`` weighted layers.
Every shortcut is the identity, with option (A) when a stage starts: subsample by 2 and pad the new
channels with zeros, so the residual nets have exactly the parameters of their plain twins
(``plain=True``: the same stacks without shortcuts), the comparison of the paper's Fig. 6.

    depth 20, 32, 44, 56, 110 -> 0.27M, 0.46M, 0.66M, 0.85M, 1.7M parameters (Table 6)

Weights: He et al. (2015) for the convolutions (the paper's [13]); the fc layer keeps PyTorch's
default. Module names: ``conv1``, ``bn1``, ``layer1`` ... ``layer3``, ``fc``.
"""

from __future__ import annotations

import torch
from torch import nn

from dlf.cnn.models.resnet import BasicBlock, batch_norm_or_identity, conv3x3, make_stage
from dlf.cnn.models.weight_init import he_normal_

CIFAR_DEPTHS = (20, 32, 44, 56, 110)
CIFAR_WIDTHS = (16, 32, 64)


class ResNetCIFAR(nn.Module):
    """``(N, in_channels, 32, 32)`` -> logits ``(N, num_classes)``; 28x28 and other sides work too.

    ``depth = 6n + 2``; ``plain=True`` removes every shortcut; ``batch_norm=False`` every batch
    norm (not the paper's nets: to see what normalisation does to their gradients).
    """

    def __init__(
        self,
        depth: int = 20,
        plain: bool = False,
        num_classes: int = 10,
        in_channels: int = 3,
        batch_norm: bool = True,
    ):
        super().__init__()
        if depth < 8 or (depth - 2) % 6 != 0:
            raise ValueError(f"depth must be 6n + 2 with n >= 1 (20, 32, 44, 56, 110); got {depth}")
        n = (depth - 2) // 6
        self.depth, self.plain = depth, plain
        self.conv1 = conv3x3(in_channels, CIFAR_WIDTHS[0])
        self.bn1 = batch_norm_or_identity(CIFAR_WIDTHS[0], batch_norm)
        self.relu = nn.ReLU(inplace=True)
        channels = CIFAR_WIDTHS[0]
        shortcut = "none" if plain else "zero_pad"
        for i, width in enumerate(CIFAR_WIDTHS):
            stride = 1 if i == 0 else 2
            stage = make_stage(
                BasicBlock, channels, width, n, stride, shortcut, batch_norm=batch_norm
            )
            self.add_module(f"layer{i + 1}", stage)
            channels = width
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        he_normal_(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` -> the last stage's map ``(N, 64, H/4, W/4)``."""
        x = self.relu(self.bn1(self.conv1(x)))
        return self.layer3(self.layer2(self.layer1(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(self.forward_features(x)), 1))


def resnet_cifar(
    depth: int,
    plain: bool = False,
    num_classes: int = 10,
    in_channels: int = 3,
    batch_norm: bool = True,
) -> ResNetCIFAR:
    """The CIFAR ResNet of depth ``6n + 2`` (20, 32, 44, 56, 110), or its plain twin."""
    return ResNetCIFAR(depth, plain, num_classes, in_channels, batch_norm)
