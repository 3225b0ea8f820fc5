import pytest
import torch
from torch import nn

from dlf.cnn import (
    alexnet,
    conv_output_size,
    format_receptive_field,
    measure_receptive_field,
    receptive_field,
    resnet18,
    resnet_cifar,
    vgg16,
    vgg_small,
)


def conv3x3():
    return nn.Conv2d(1, 1, 3, padding=1)


@pytest.mark.parametrize(("n_convs", "field"), [(1, 3), (2, 5), (3, 7), (4, 9)])
def test_stacked_3x3_convs(n_convs, field):
    rows = receptive_field([conv3x3() for _ in range(n_convs)])
    assert rows[-1].receptive_field == field  # VGG, Section 2.3: 2 -> 5x5, 3 -> 7x7
    assert rows[-1].jump == 1 and rows[-1].start == 0


def test_conv_conv_pool_stacks_by_hand():
    # conv3 conv3 pool2 | conv3 conv3 pool2:
    #   r: 1 -> 3 -> 5 -> 6 (j 1 -> 2, start 0.5) -> 10 -> 14 -> 16 (j 4, start 1.5)
    layers = [conv3x3(), conv3x3(), nn.MaxPool2d(2), conv3x3(), conv3x3(), nn.AvgPool2d(2)]
    rows = receptive_field(layers, input_size=32)
    assert [r.name for r in rows] == ["input", "0", "1", "2", "3", "4", "5"]
    assert [r.receptive_field for r in rows] == [1, 3, 5, 6, 10, 14, 16]
    assert [r.jump for r in rows] == [1, 1, 1, 2, 2, 2, 4]
    assert [r.start for r in rows] == [0, 0, 0, 0.5, 0.5, 0.5, 1.5]
    assert [r.size for r in rows] == [32, 32, 32, 16, 16, 16, 8]


def test_vgg16_by_hand():
    # 3 5 | 6 ; 10 14 | 16 ; 24 32 40 | 44 ; 60 76 92 | 100 ; 132 164 196 | 212
    with torch.device("meta"):
        rows = receptive_field(vgg16(), input_size=224)[1:]
    assert [r.receptive_field for r in rows] == [
        3,
        5,
        6,
        10,
        14,
        16,
        24,
        32,
        40,
        44,
        60,
        76,
        92,
        100,
        132,
        164,
        196,
        212,
    ]
    assert [r.jump for r in rows if r.type == "MaxPool2d"] == [2, 4, 8, 16, 32]
    assert rows[-1].size == 7 and rows[-1].start == 15.5


def test_alexnet_by_hand():
    # conv1 11/4 -> 11, pool 3/2 -> 11 + 2*4 = 19, conv2 5 -> 19 + 4*8 = 51, pool -> 67,
    # conv3..5 3 -> 99, 131, 163, pool -> 195.
    with torch.device("meta"):
        rows = receptive_field(alexnet(), input_size=224)[1:]
    assert [r.receptive_field for r in rows] == [11, 19, 51, 67, 99, 131, 163, 195]
    assert [r.jump for r in rows] == [4, 8, 8, 16, 16, 16, 16, 32]
    assert [r.size for r in rows] == [55, 27, 27, 13, 13, 13, 13, 6]


def test_resnet_table_follows_the_main_path():
    with torch.device("meta"):
        rows = receptive_field(resnet18())
    assert not any("downsample" in r.name for r in rows)
    assert len(rows) == 1 + 1 + 1 + 16  # input, conv1, maxpool, 16 block convs
    assert rows[-1].jump == 32


@pytest.mark.parametrize(
    "layers",
    [
        [nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3)],
        [conv3x3(), conv3x3(), nn.MaxPool2d(2), conv3x3(), conv3x3(), nn.MaxPool2d(2)],
        [nn.Conv2d(1, 1, 7, stride=2, padding=3), nn.MaxPool2d(3, 2, padding=1), conv3x3()],
        [nn.Conv2d(1, 1, 5, stride=3, padding=1), nn.AvgPool2d(4, 2), nn.Conv2d(1, 1, 2)],
        [nn.Conv2d(1, 1, 3, dilation=2, padding=2), nn.Conv2d(1, 1, 3, dilation=4, padding=4)],
        [nn.Conv2d(1, 1, 1, stride=2), nn.Conv2d(1, 1, 3, stride=2), nn.MaxPool2d(2, 1)],
    ],
)
def test_formula_matches_autograd_measurement(layers):
    formula = receptive_field(layers)[-1]
    input_size = 4 * formula.receptive_field + 4 * formula.jump
    size = receptive_field(layers, input_size)[-1].size
    position = size // 2
    centre = formula.start + position * formula.jump
    half = (formula.receptive_field - 1) / 2
    assert 0 <= centre - half and centre + half < input_size  # not clipped by the border
    measured = measure_receptive_field(layers, input_size, position)
    assert measured.extent == formula.receptive_field
    assert (measured.first, measured.last) == (centre - half, centre + half)


@pytest.mark.parametrize("plain", [False, True])
def test_resnet_cifar_field_matches_autograd_on_the_real_network(plain):
    # All weights positive and inputs positive: every ReLU passes, no gradient can cancel, so the
    # input pixels with nonzero gradient are exactly the field of the centre feature, shortcuts
    # included.
    model = resnet_cifar(20, plain=plain).double().eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                module.weight.fill_(1.0 / module.weight[0].numel())
    x = torch.ones(1, 3, 128, 128, dtype=torch.float64, requires_grad=True)
    features = model.forward_features(x)  # (1, 64, 32, 32)
    features[0, :, 16, 16].sum().backward()
    rows_hit = torch.nonzero(x.grad[0].abs().sum(dim=(0, 2))).flatten()
    last = receptive_field(model)[-1]
    assert last.receptive_field == 81 and last.jump == 4 and last.start == 0
    centre, half = last.start + 16 * last.jump, (last.receptive_field - 1) // 2
    assert (int(rows_hit[0]), int(rows_hit[-1])) == (centre - half, centre + half)


@pytest.mark.parametrize("image_size", [28, 32])
def test_size_column_matches_real_feature_maps(image_size):
    model = vgg_small(image_size=image_size).eval()
    rows = {r.name: r.size for r in receptive_field(model, image_size)}
    x = torch.zeros(1, 1, image_size, image_size)
    for index, layer in enumerate(model.features):
        x = layer(x)
        if f"features.{index}" in rows:
            assert rows[f"features.{index}"] == x.shape[-1]


@pytest.mark.parametrize("seed", range(6))
def test_conv_output_size_matches_torch(seed):
    g = torch.Generator().manual_seed(seed)
    k, s, p, d = (
        int(torch.randint(lo, hi, (1,), generator=g)) for lo, hi in ((1, 6), (1, 4), (0, 3), (1, 3))
    )
    n = d * (k - 1) + 1 + int(torch.randint(0, 20, (1,), generator=g))
    conv = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)
    assert conv(torch.zeros(1, 1, n, n)).shape[-1] == conv_output_size(n, k, s, p, d)
    pool = nn.MaxPool2d(k, s, padding=min(p, k // 2), ceil_mode=True)
    expected = pool(torch.zeros(1, 1, n, n)).shape[-1]
    assert conv_output_size(n, k, s, min(p, k // 2), ceil_mode=True) == expected


def test_format_table():
    rows = receptive_field([conv3x3(), conv3x3(), nn.MaxPool2d(2)], input_size=8)
    text = format_receptive_field(rows)
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "type", "k", "s", "p", "d", "size", "jump", "RF", "start"]
    assert len(lines) == 2 + len(rows)
    assert lines[-1].split() == ["2", "MaxPool2d", "2", "2", "0", "1", "4", "2", "6", "0.5"]


def test_errors_tell_what_to_do():
    with pytest.raises(ValueError, match="square"):
        receptive_field([nn.Conv2d(1, 1, (3, 5))])
    with pytest.raises(ValueError, match="no Conv2d"):
        receptive_field(nn.Sequential(nn.Linear(3, 3)))
    with pytest.raises(ValueError, match="larger input"):
        conv_output_size(2, 5)
