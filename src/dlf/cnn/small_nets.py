"""Two small nets sized for 28x28 images on a CPU, used by the Module 2 recipes.

``small_cnn``: the classic two-stage digit net (LeNet's plan with ReLU, max-pooling and batch
norm),

    [conv kxk (padding k//2) -> BN -> ReLU -> maxpool 2x2] x len(channels) -> fc hidden -> ReLU
    -> dropout -> fc num_classes

``small_resnet``: a residual net in the ResNet paper's CIFAR plan (3x3 stem, three stages of
BasicBlocks with widths doubling as the map halves, global average pooling, one fc layer), but
the first stage already halves the map, so most of the work is done on 14x14 and smaller maps:

    conv3x3 -> BN -> ReLU (28x28) -> stage 1 (14x14) -> stage 2 (7x7) -> stage 3 (4x4) -> GAP -> fc

with projection shortcuts (option B) where the shape changes. Both reuse ``dlf.cnn.models``.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from dlf.cnn.models.resnet import BasicBlock, conv3x3, make_stage
from dlf.cnn.models.weight_init import he_normal_


def small_cnn(
    num_classes: int = 10,
    in_channels: int = 1,
    image_size: int = 28,
    channels: tuple[int, ...] = (32, 64),
    kernel: int = 5,
    hidden: int = 256,
    dropout: float = 0.25,
) -> nn.Sequential:
    """``(N, in_channels, image_size, image_size)`` -> logits ``(N, num_classes)``.

    Example: the defaults on 28x28 digits: 28 -> 14 -> 7, then 64 * 7 * 7 = 3136 features into
    a 256-unit hidden layer (857,834 parameters).
    """
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    size, previous = image_size, in_channels
    for i, width in enumerate(channels, start=1):
        layers[f"conv{i}"] = nn.Conv2d(previous, width, kernel, padding=kernel // 2, bias=False)
        layers[f"bn{i}"] = nn.BatchNorm2d(width)
        layers[f"relu{i}"] = nn.ReLU(inplace=True)
        layers[f"pool{i}"] = nn.MaxPool2d(2)
        size, previous = size // 2, width
    layers["flatten"] = nn.Flatten()
    layers["fc1"] = nn.Linear(previous * size * size, hidden)
    layers["relu_fc"] = nn.ReLU(inplace=True)
    layers["dropout"] = nn.Dropout(dropout)
    layers["fc2"] = nn.Linear(hidden, num_classes)
    return he_normal_(nn.Sequential(layers))


def small_resnet(
    num_classes: int = 10,
    in_channels: int = 1,
    widths: tuple[int, ...] = (32, 64, 128),
    blocks: tuple[int, ...] = (1, 1, 1),
    stem: int = 24,
) -> nn.Sequential:
    """``(N, in_channels, H, W)`` -> logits ``(N, num_classes)``; every stage has stride 2.

    ``widths[i]`` channels and ``blocks[i]`` BasicBlocks in stage ``i``. Example: the defaults on
    28x28 images: stem 24@28x28, stages 32@14x14, 64@7x7, 128@4x4 (about 10 M multiply-adds).
    """
    if len(widths) != len(blocks):
        raise ValueError(f"widths {widths} and blocks {blocks} need one entry per stage each")
    layers: OrderedDict[str, nn.Module] = OrderedDict(
        conv1=conv3x3(in_channels, stem), bn1=nn.BatchNorm2d(stem), relu=nn.ReLU(inplace=True)
    )
    previous = stem
    for i, (width, n) in enumerate(zip(widths, blocks, strict=True), start=1):
        layers[f"layer{i}"] = make_stage(BasicBlock, previous, width, n, 2, "projection")
        previous = width
    layers["avgpool"] = nn.AdaptiveAvgPool2d(1)
    layers["flatten"] = nn.Flatten()
    layers["fc"] = nn.Linear(previous, num_classes)
    return he_normal_(nn.Sequential(layers))
