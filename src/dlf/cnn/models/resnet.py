"""Residual networks (He, Zhang, Ren & Sun, 2016, "Deep Residual Learning for Image
Recognition"), ImageNet-shaped (Table 1): ResNet-18/34 with ``BasicBlock``, 50/101/152 with
``Bottleneck``.

A residual block computes ``y = relu(F(x) + shortcut(x))`` (eq. 1-2): the stacked layers ``F``
learn a residual with respect to the identity. Shortcuts (Section 3.3): identity when shapes match;
when a stage halves the map and widens the channels, option (A) subsamples and pads the new
channels with zeros (no parameters, ``ZeroPadShortcut``, used by the CIFAR nets), option (B)
projects with a strided 1x1 convolution + batch norm (``projection_shortcut``, used here).

    3x224x224 -> conv1 7x7/2 64 -> bn1 -> relu -> maxpool 3x3/2 -> 64x56x56
    -> layer1 (56x56) -> layer2 (28x28) -> layer3 (14x14) -> layer4 (7x7)
    -> global average pool -> fc num_classes

Batch norm after every convolution, before the ReLU (Section 3.4); convolutions have no bias.
Weights: He et al. (2015) for every convolution (Section 3.4 cites it); the fc layer keeps
PyTorch's default. Module names match the reference definition's state_dict keys (``conv1``,
``bn1``, ``layer1.0.conv1``, ``layer2.0.downsample.0``, ..., ``fc``), so its weight files load.

Bottleneck stride: the reference definition and ``stride_on_3x3=True`` (default) put a stage's
stride on the 3x3 convolution ("ResNet v1.5"); the original paper's models put it on the first
1x1 convolution (``stride_on_3x3=False``). Parameter counts are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from dlf.cnn.models.weight_init import he_normal_

# Blocks per stage (Table 1 of the paper).
RESNET_LAYERS: dict[int, tuple[Literal["basic", "bottleneck"], tuple[int, int, int, int]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution, padding 1, no bias (batch norm follows): side ``H -> ceil(H / stride)``."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution, no bias: mixes channels; side ``H -> ceil(H / stride)``."""
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


def projection_shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """Option (B): ``W_s x`` as a strided 1x1 conv + batch norm (eq. 2).

    ``(N, in_channels, H, W)`` -> ``(N, out_channels, ceil(H/stride), ceil(W/stride))``.
    """
    return nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))


class ZeroPadShortcut(nn.Module):
    """Option (A): identity on a subsampled map, zero-padded with the new channels; no parameters.

    ``(N, C_in, H, W)`` -> ``(N, C_out, ceil(H/s), ceil(W/s))``: keeps every ``s``-th pixel and
    appends ``C_out - C_in`` all-zero channels. Example: ``(1, 16, 32, 32)`` -> ``(1, 32, 16, 16)``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(
                f"zero-padding shortcut can only add channels ({in_channels} -> {out_channels})"
            )
        self.extra_channels = out_channels - in_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))


def batch_norm_or_identity(channels: int, batch_norm: bool = True) -> nn.Module:
    """``nn.BatchNorm2d(channels)``, or ``nn.Identity()`` for a net without normalisation."""
    return nn.BatchNorm2d(channels) if batch_norm else nn.Identity()


class BasicBlock(nn.Module):
    """Two 3x3 convolutions: ``y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    ``(N, in_channels, H, W)`` -> ``(N, width, H/stride, W/stride)``. ``downsample`` is the
    shortcut when shapes change (identity when ``None``); ``residual=False`` drops the shortcut
    altogether and gives the block of a "plain" net (Section 4.1). ``batch_norm=False`` puts
    identities where the batch norms were (to study a net without normalisation).
    """

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        residual: bool = True,
        batch_norm: bool = True,
    ):
        super().__init__()
        self.conv1 = conv3x3(in_channels, width, stride)
        self.bn1 = batch_norm_or_identity(width, batch_norm)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(width, width)
        self.bn2 = batch_norm_or_identity(width, batch_norm)
        self.downsample = downsample
        self.relu2 = nn.ReLU(inplace=True)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu2(out)


class Bottleneck(nn.Module):
    """1x1 (reduce) -> 3x3 -> 1x1 (expand x4), each with batch norm, plus the shortcut (Fig. 5).

    ``y = relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x))``;
    ``(N, in_channels, H, W)`` -> ``(N, 4 * width, H/stride, W/stride)``; the stride sits on the
    3x3 conv (``stride_on_3x3=True``, reference definition) or on the first 1x1 (the paper's).
    ``residual=False`` drops the shortcut (the block of a plain net), as in ``BasicBlock``.
    """

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        stride_on_3x3: bool = True,
        residual: bool = True,
    ):
        super().__init__()
        self.conv1 = conv1x1(in_channels, width, 1 if stride_on_3x3 else stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(width, width, stride if stride_on_3x3 else 1)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv3 = conv1x1(width, width * self.expansion)
        self.bn3 = nn.BatchNorm2d(width * self.expansion)
        self.downsample = downsample
        self.relu3 = nn.ReLU(inplace=True)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu3(out)


def make_stage(
    block: type[BasicBlock] | type[Bottleneck],
    in_channels: int,
    width: int,
    blocks: int,
    stride: int,
    shortcut: Literal["projection", "zero_pad", "none"] = "projection",
    **block_options: bool,
) -> nn.Sequential:
    """``blocks`` residual blocks; the first one applies ``stride`` and changes the width.

    ``shortcut`` picks the first block's shortcut when shapes change: option (B) "projection",
    option (A) "zero_pad", or "none" (plain net: ``residual=False`` in every block).
    ``(N, in_channels, H, W)`` -> ``(N, width * expansion, H/stride, W/stride)``.
    """
    out_channels = width * block.expansion
    downsample: nn.Module | None = None
    if shortcut == "none":
        block_options = {**block_options, "residual": False}
    elif stride != 1 or in_channels != out_channels:
        if shortcut == "projection":
            downsample = projection_shortcut(in_channels, out_channels, stride)
        elif shortcut == "zero_pad":
            downsample = ZeroPadShortcut(in_channels, out_channels, stride)
        else:
            raise ValueError(f"shortcut must be projection, zero_pad or none; got {shortcut!r}")
    layers = [block(in_channels, width, stride, downsample, **block_options)]
    layers += [block(out_channels, width, **block_options) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class ResNetConfig:
    """An ImageNet-shaped ResNet; the defaults are ResNet-18."""

    block: Literal["basic", "bottleneck"] = "basic"
    layers: tuple[int, int, int, int] = (2, 2, 2, 2)
    num_classes: int = 1000
    in_channels: int = 3
    stride_on_3x3: bool = True  # Bottleneck only


class ResNet(nn.Module):
    """``(N, in_channels, 224, 224)`` -> logits ``(N, num_classes)``; sides >= 32 work too."""

    def __init__(self, config: ResNetConfig = ResNetConfig()):
        super().__init__()
        self.config = config
        if config.block == "basic":
            block, options = BasicBlock, {}
        elif config.block == "bottleneck":
            block, options = Bottleneck, {"stride_on_3x3": config.stride_on_3x3}
        else:
            raise ValueError(f"block must be 'basic' or 'bottleneck'; got {config.block!r}")
        self.conv1 = nn.Conv2d(config.in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        channels = 64
        for i, (width, blocks) in enumerate(zip((64, 128, 256, 512), config.layers, strict=True)):
            stage = make_stage(block, channels, width, blocks, 1 if i == 0 else 2, **options)
            self.add_module(f"layer{i + 1}", stage)
            channels = width * block.expansion
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, config.num_classes)
        he_normal_(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` -> the last stage's map ``(N, 512 * expansion, H/32, W/32)``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(self.forward_features(x)), 1))


def _resnet(depth: int, num_classes: int, in_channels: int) -> ResNet:
    block, layers = RESNET_LAYERS[depth]
    return ResNet(ResNetConfig(block, layers, num_classes, in_channels))


def resnet18(num_classes: int = 1000, in_channels: int = 3) -> ResNet:
    """ResNet-18: BasicBlock, (2, 2, 2, 2) blocks; 11,689,512 parameters for 1000 classes."""
    return _resnet(18, num_classes, in_channels)


def resnet34(num_classes: int = 1000, in_channels: int = 3) -> ResNet:
    """ResNet-34: BasicBlock, (3, 4, 6, 3) blocks."""
    return _resnet(34, num_classes, in_channels)


def resnet50(num_classes: int = 1000, in_channels: int = 3) -> ResNet:
    """ResNet-50: Bottleneck, (3, 4, 6, 3) blocks."""
    return _resnet(50, num_classes, in_channels)


def resnet101(num_classes: int = 1000, in_channels: int = 3) -> ResNet:
    """ResNet-101: Bottleneck, (3, 4, 23, 3) blocks."""
    return _resnet(101, num_classes, in_channels)


def resnet152(num_classes: int = 1000, in_channels: int = 3) -> ResNet:
    """ResNet-152: Bottleneck, (3, 8, 36, 3) blocks."""
    return _resnet(152, num_classes, in_channels)
