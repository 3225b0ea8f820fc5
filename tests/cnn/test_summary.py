import pytest
import torch
from torch import nn

from dlf.cnn import alexnet, format_summary, lenet5, resnet18, resnet50, summary, vgg16


def small_net():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, groups=2),
        nn.Flatten(),
        nn.Linear(16 * 6 * 6, 10),
    )


def test_small_net_by_hand():
    rows = summary(small_net(), (2, 3, 16, 16))
    # conv1: out 2x8x16x16, MACs 4096 * 3 * 3*3; params 8*3*9 + 8
    # conv2 (groups=2): out 2x16x6x6, MACs 1152 * (8/2) * 3*3; params 16*4*9 + 16
    # linear: out 2x10, MACs 20 * 576; params 576*10 + 10
    assert [(r.name, r.type, r.output_shape, r.params, r.macs) for r in rows] == [
        ("0", "Conv2d", (2, 8, 16, 16), 224, 110_592),
        ("1", "ReLU", (2, 8, 16, 16), 0, 0),
        ("2", "MaxPool2d", (2, 8, 8, 8), 0, 0),
        ("3", "Conv2d", (2, 16, 6, 6), 592, 41_472),
        ("4", "Flatten", (2, 576), 0, 0),
        ("5", "Linear", (2, 10), 5_770, 11_520),
    ]
    text = format_summary(rows, small_net())
    assert "Total params: 6,586" in text and "Total mult-adds: 163,584" in text


def test_lenet5_by_hand():
    rows = summary(lenet5(), (1, 1, 32, 32))
    # C1 6*28*28*25, C3 16*10*10*150, C5 120*400, F6 84*120, output 10*84
    assert sum(r.macs for r in rows) == 117_600 + 240_000 + 48_000 + 10_080 + 840
    assert sum(r.params for r in rows) == 61_706


# torchvision *_Weights.IMAGENET1K_V1 meta "_ops" (GFLOPS column of the model pages on
# pytorch.org/vision, counted as multiply-adds of one 224x224 image), at its printed precision.
REFERENCE_GMACS = [
    (alexnet, 0.714, 3),
    (vgg16, 15.47, 2),
    (resnet18, 1.814, 3),
    (resnet50, 4.09, 2),
]


@pytest.mark.parametrize(("factory", "gmacs", "digits"), REFERENCE_GMACS)
def test_imagenet_mult_adds_match_reference(factory, gmacs, digits):
    with torch.device("meta"):
        model = factory()
    rows = summary(model, (1, 3, 224, 224))
    assert round(sum(r.macs for r in rows) / 1e9, digits) == gmacs
    assert sum(r.params for r in rows) == sum(p.numel() for p in model.parameters())


def test_reused_and_tied_parameters_are_counted_once():
    shared = nn.Linear(4, 4)
    tied = nn.Linear(4, 4)
    tied.weight = shared.weight
    model = nn.Sequential(shared, nn.ReLU(), shared, tied)
    rows = summary(model, (3, 4))
    assert [r.name for r in rows] == ["0", "1", "0", "3"]
    # the second call of module 0 adds nothing; the tied layer adds its own bias only
    assert [r.params for r in rows] == [20, 0, 0, 4]
    assert [r.macs for r in rows] == [48, 0, 48, 48]
    assert "Total params: 24" in format_summary(rows, model)  # 16 shared weights + 2 biases
    assert "Total params: 24" in format_summary(rows)  # the column sum counts each once too


def test_restores_training_mode_and_leaves_running_statistics():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout())
    model.train()
    before = model[1].running_mean.clone()
    summary(model, (1, 1, 5, 5))  # batch of one: needs eval-mode batch norm
    assert all(m.training for m in model.modules())
    torch.testing.assert_close(model[1].running_mean, before)
    model.eval()
    summary(model, (1, 1, 5, 5))
    assert not any(m.training for m in model.modules())


def test_integer_inputs():
    model = nn.Sequential(nn.Embedding(11, 4), nn.Linear(4, 3))
    rows = summary(model, (2, 5), dtype=torch.long)
    assert rows[0].output_shape == (2, 5, 4) and rows[1].macs == 2 * 5 * 3 * 4


def test_format_lines():
    rows = summary(small_net(), (1, 3, 16, 16))
    lines = format_summary(rows).splitlines()
    assert lines[0].split() == ["Layer", "Type", "Output", "shape", "Params", "Mult-adds"]
    assert lines[2].split() == ["0", "Conv2d", "1x8x16x16", "224", "55,296"]
    assert lines[-3] == "Total params: 6,586"
