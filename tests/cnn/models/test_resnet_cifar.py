import pytest
import torch
from torch import nn

from dlf.cnn import ZeroPadShortcut, resnet_cifar

# Hand count of ResNet-20 (n = 3), weights + BN (gamma, beta) + fc:
#   conv1 3*16*9 + bn 2*16                                   =     464
#   stage 1: 3 blocks * (2 * 16*16*9 + 2 * 2*16)             =  14,016
#   stage 2: (16*32*9 + 32*32*9 + 4*32) + 2 * (2*32*32*9 + 4*32) =  51,072
#   stage 3: (32*64*9 + 64*64*9 + 4*64) + 2 * (2*64*64*9 + 4*64) = 203,520
#   fc 64*10 + 10                                            =     650
RESNET20_PARAMS = 464 + 14_016 + 51_072 + 203_520 + 650
# Each extra block per stage adds sum over w in (16, 32, 64) of 2*9*w*w + 4*w.
PER_N = sum(18 * w * w + 4 * w for w in (16, 32, 64))
# He et al. (2016), Table 6: parameters of the CIFAR-10 ResNets, in millions.
PAPER_TABLE6 = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85, 110: 1.7}


@pytest.mark.parametrize("depth", sorted(PAPER_TABLE6))
@pytest.mark.parametrize("plain", [False, True])
def test_parameter_counts(depth, plain):
    with torch.device("meta"):
        model = resnet_cifar(depth, plain=plain)
    count = sum(p.numel() for p in model.parameters())
    assert count == RESNET20_PARAMS + ((depth - 2) // 6 - 3) * PER_N
    digits = 1 if depth == 110 else 2
    assert round(count / 1e6, digits) == PAPER_TABLE6[depth]


@pytest.mark.parametrize("depth", [20, 56])
def test_depth_counts_weighted_layers(depth):
    with torch.device("meta"):
        model = resnet_cifar(depth)
    # 6n + 2 = conv1 + 6n block convs + fc; option-A shortcuts carry no weights.
    weighted = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(weighted) == depth


def test_plain_twin_has_no_shortcuts():
    residual, plain = resnet_cifar(20), resnet_cifar(20, plain=True)
    assert sum(isinstance(m, ZeroPadShortcut) for m in residual.modules()) == 2
    assert not any(isinstance(m, ZeroPadShortcut) for m in plain.modules())
    blocks = [m for m in plain.modules() if hasattr(m, "residual")]
    assert len(blocks) == 9 and not any(b.residual for b in blocks)
    assert all(b.residual for b in residual.modules() if hasattr(b, "residual"))


@pytest.mark.parametrize("plain", [False, True])
@pytest.mark.parametrize(("in_channels", "size"), [(3, 32), (1, 28)])
def test_forward_shapes(plain, in_channels, size):
    model = resnet_cifar(20, plain=plain, num_classes=7, in_channels=in_channels)
    x = torch.randn(2, in_channels, size, size)
    assert model.forward_features(x).shape == (2, 64, (size + 3) // 4, (size + 3) // 4)
    out = model(x)
    assert out.shape == (2, 7) and torch.isfinite(out).all()


@pytest.mark.parametrize("depth", [18, 21, 2])
def test_bad_depth_is_refused(depth):
    with pytest.raises(ValueError, match="6n"):
        resnet_cifar(depth)


@pytest.mark.parametrize("plain", [False, True])
def test_without_batch_norm(plain):
    with_bn = resnet_cifar(20, plain=plain)
    without = resnet_cifar(20, plain=plain, batch_norm=False)
    bn_params = sum(p.numel() for m in with_bn.modules() if isinstance(m, nn.BatchNorm2d)
                    for p in m.parameters())  # fmt: skip
    assert not any(isinstance(m, nn.BatchNorm2d) for m in without.modules())
    count = sum(p.numel() for p in without.parameters())
    assert count == sum(p.numel() for p in with_bn.parameters()) - bn_params
    assert without(torch.randn(2, 3, 32, 32)).shape == (2, 10)
