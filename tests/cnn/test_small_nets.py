"""The two small nets of the recipes: shapes, parameter counts and their cost."""

from __future__ import annotations

import pytest
import torch

from dlf.cnn.small_nets import small_cnn, small_resnet
from dlf.cnn.summary import summary


@pytest.mark.parametrize("in_channels,size", [(1, 28), (3, 32)])
def test_output_shapes(in_channels, size):
    x = torch.randn(2, in_channels, size, size)
    assert small_cnn(7, in_channels, size)(x).shape == (2, 7)
    assert small_resnet(7, in_channels)(x).shape == (2, 7)


def test_small_cnn_parameter_count_by_hand():
    convs = 1 * 32 * 25 + 32 * 64 * 25
    bns = 2 * (32 + 64)
    fcs = (64 * 7 * 7 * 256 + 256) + (256 * 10 + 10)
    model = small_cnn()
    assert sum(p.numel() for p in model.parameters()) == convs + bns + fcs == 857_834


def test_small_resnet_stages_halve_the_map_and_have_shortcuts():
    model = small_resnet()
    rows = {r.name: r for r in summary(model, (1, 1, 28, 28))}
    assert rows["layer1.0.conv2"].output_shape == (1, 32, 14, 14)
    assert rows["layer3.0.conv2"].output_shape == (1, 128, 4, 4)
    assert "layer2.0.downsample.0" in rows
    assert 9e6 < sum(r.macs for r in rows.values()) < 11e6
    with pytest.raises(ValueError, match="one entry per stage"):
        small_resnet(widths=(8, 16), blocks=(1,))
