"""Pictures of a CNN: the right layers, maps and mistakes end up in the figures."""

from __future__ import annotations

import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from dlf.cnn.pictures import (
    confusion_figure,
    conv_outputs,
    feature_maps,
    filter_grid,
    first_conv,
    misclassified,
)
from dlf.cnn.small_nets import small_resnet
from dlf.runs import to_png


def net(in_channels: int = 1) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 5, 3)
    )


def shown_images(fig: Figure) -> int:
    return sum(len(ax.images) for ax in fig.axes)


@pytest.mark.parametrize("in_channels", [1, 3, 2])
def test_filter_grid_shows_one_picture_per_first_layer_filter(in_channels):
    fig = filter_grid(net(in_channels))
    assert shown_images(fig) == 6
    assert to_png(fig).startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="no Conv2d"):
        first_conv(nn.Linear(2, 2))


def test_conv_outputs_equal_the_layers_applied_by_hand():
    model, image = net(), torch.randn(1, 12, 12)
    model.train()
    found = conv_outputs(model, image)
    assert [name for name, _ in found] == ["0", "3"]
    first = model[0](image[None])[0]
    second = model[3](model[2](model[1](model[0](image[None]))))[0]
    torch.testing.assert_close(found[0][1], first.detach())
    torch.testing.assert_close(found[1][1], second.detach())
    assert model.training  # mode restored


def test_feature_maps_rows_skip_shortcuts_and_keep_at_most_max_layers():
    model = small_resnet(widths=(4, 8), blocks=(1, 1), stem=4)
    fig = feature_maps(model, torch.randn(1, 16, 16), channels=3)
    # conv1, layer1.0.conv1/conv2, layer2.0.conv1/conv2 (downsample branches left out)
    assert shown_images(fig) == 5 * (1 + 3)
    fig = feature_maps(model, torch.randn(1, 16, 16), channels=2, max_layers=2)
    assert shown_images(fig) == 2 * 3


def test_misclassified_orders_the_most_confident_mistakes_first():
    images = torch.randn(5, 1, 4, 4)
    labels = torch.tensor([0, 1, 1, 0, 1])
    logits = torch.tensor([[5.0, 0], [3.0, 0], [0, 2.0], [0, 9.0], [0.5, 0]])
    fig = misclassified(images, labels, logits, ("cat", "dog"), count=10)
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert [t.split("\n")[0] for t in titles] == ["cat->dog", "dog->cat", "dog->cat"]
    scores = [float(t.split("\n")[1]) for t in titles]
    assert scores == sorted(scores, reverse=True) and scores[0] == pytest.approx(1.0, abs=1e-3)
    none_wrong = misclassified(images, torch.tensor([0, 0, 1, 1, 0]), logits, ("cat", "dog"))
    assert shown_images(none_wrong) == 0


def test_confusion_figure_writes_every_nonzero_count():
    matrix = torch.tensor([[5, 0, 1], [0, 7, 0], [2, 0, 3]])
    fig = confusion_figure(matrix, ("a", "b", "c"))
    texts = sorted(int(t.get_text()) for t in fig.axes[0].texts)
    assert texts == [1, 2, 3, 5, 7]
