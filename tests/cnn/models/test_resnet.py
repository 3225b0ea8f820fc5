import pytest
import torch
from torch import nn

from dlf.cnn import BasicBlock, ZeroPadShortcut, resnet18, resnet34, resnet50, resnet101, resnet152
from dlf.cnn.models.resnet import ResNet, ResNetConfig

# torchvision ResNet*_Weights.IMAGENET1K_V1 meta "num_params": resnet18/34/50 from
# https://pytorch.org/vision/stable/models/generated/torchvision.models.resnet{18,34,50}.html,
# resnet101/152 from the same meta in torchvision/models/resnet.py.
REFERENCE_PARAMS = {
    resnet18: 11_689_512,
    resnet34: 21_797_672,
    resnet50: 25_557_032,
    resnet101: 44_549_160,
    resnet152: 60_192_808,
}

# Written down from the reference definition of ResNet-18 (torchvision.models.resnet18):
# every convolution's weight shape (no conv biases) ...
RESNET18_CONVS = {
    "conv1": (64, 3, 7, 7),
    "layer1.0.conv1": (64, 64, 3, 3),
    "layer1.0.conv2": (64, 64, 3, 3),
    "layer1.1.conv1": (64, 64, 3, 3),
    "layer1.1.conv2": (64, 64, 3, 3),
    "layer2.0.conv1": (128, 64, 3, 3),
    "layer2.0.conv2": (128, 128, 3, 3),
    "layer2.0.downsample.0": (128, 64, 1, 1),
    "layer2.1.conv1": (128, 128, 3, 3),
    "layer2.1.conv2": (128, 128, 3, 3),
    "layer3.0.conv1": (256, 128, 3, 3),
    "layer3.0.conv2": (256, 256, 3, 3),
    "layer3.0.downsample.0": (256, 128, 1, 1),
    "layer3.1.conv1": (256, 256, 3, 3),
    "layer3.1.conv2": (256, 256, 3, 3),
    "layer4.0.conv1": (512, 256, 3, 3),
    "layer4.0.conv2": (512, 512, 3, 3),
    "layer4.0.downsample.0": (512, 256, 1, 1),
    "layer4.1.conv1": (512, 512, 3, 3),
    "layer4.1.conv2": (512, 512, 3, 3),
}
# ... every batch norm's number of features ...
RESNET18_BATCH_NORMS = {
    "bn1": 64,
    "layer1.0.bn1": 64,
    "layer1.0.bn2": 64,
    "layer1.1.bn1": 64,
    "layer1.1.bn2": 64,
    "layer2.0.bn1": 128,
    "layer2.0.bn2": 128,
    "layer2.0.downsample.1": 128,
    "layer2.1.bn1": 128,
    "layer2.1.bn2": 128,
    "layer3.0.bn1": 256,
    "layer3.0.bn2": 256,
    "layer3.0.downsample.1": 256,
    "layer3.1.bn1": 256,
    "layer3.1.bn2": 256,
    "layer4.0.bn1": 512,
    "layer4.0.bn2": 512,
    "layer4.0.downsample.1": 512,
    "layer4.1.bn1": 512,
    "layer4.1.bn2": 512,
}
# ... and the classifier.
RESNET18_FC = {"fc.weight": (1000, 512), "fc.bias": (1000,)}


def reference_resnet18_shapes():
    shapes = {f"{name}.weight": shape for name, shape in RESNET18_CONVS.items()}
    for name, features in RESNET18_BATCH_NORMS.items():
        for tensor in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{name}.{tensor}"] = (features,)
        shapes[f"{name}.num_batches_tracked"] = ()
    return shapes | RESNET18_FC


@pytest.mark.parametrize("factory", list(REFERENCE_PARAMS))
def test_parameter_count_matches_reference(factory):
    with torch.device("meta"):
        model = factory()
    assert sum(p.numel() for p in model.parameters()) == REFERENCE_PARAMS[factory]


def test_resnet18_state_dict_keys_and_shapes_match_reference():
    with torch.device("meta"):
        state = resnet18().state_dict()
    expected = reference_resnet18_shapes()
    assert len(expected) == 122
    assert {k: tuple(v.shape) for k, v in state.items()} == expected


def test_resnet18_loads_a_reference_state_dict_strictly():
    torch.manual_seed(0)
    weights = {
        key: torch.rand(shape) + 0.5 if shape else torch.tensor(3)  # running_var > 0
        for key, shape in reference_resnet18_shapes().items()
    }
    with torch.device("meta"):
        model = resnet18()
    model.load_state_dict(weights, strict=True, assign=True)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, weights[key])


def test_resnet18_forward_at_224():
    torch.manual_seed(0)
    model = resnet18().eval()
    out = model(torch.randn(1, 3, 224, 224))
    assert out.shape == (1, 1000) and torch.isfinite(out).all()


@pytest.mark.parametrize(("factory", "channels"), [(resnet34, 512), (resnet50, 2048)])
def test_output_and_feature_shapes_at_224(factory, channels):
    with torch.device("meta"):
        model = factory(num_classes=10, in_channels=1)
        x = torch.zeros(1, 1, 224, 224)
        assert model.forward_features(x).shape == (1, channels, 7, 7)
        assert model(x).shape == (1, 10)


@pytest.mark.parametrize(
    ("stride_on_3x3", "conv1_stride", "conv2_stride"), [(True, 1, 2), (False, 2, 1)]
)
def test_bottleneck_stride_placement(stride_on_3x3, conv1_stride, conv2_stride):
    config = ResNetConfig("bottleneck", (3, 4, 6, 3), stride_on_3x3=stride_on_3x3)
    with torch.device("meta"):
        model = ResNet(config)
        assert model(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)
    block = model.layer2[0]
    assert block.conv1.stride == (conv1_stride,) * 2 and block.conv2.stride == (conv2_stride,) * 2
    assert sum(p.numel() for p in model.parameters()) == REFERENCE_PARAMS[resnet50]


def test_he_initialisation():
    torch.manual_seed(0)
    model = resnet18()
    conv = model.layer3[0].conv2  # 256 -> 256, 3x3: std sqrt(2 / (256 * 9))
    assert abs(conv.weight.std().item() / (2 / (256 * 9)) ** 0.5 - 1) < 0.02
    assert torch.all(model.bn1.weight == 1) and torch.all(model.bn1.bias == 0)


@pytest.mark.parametrize("residual", [True, False])
def test_basic_block_adds_the_identity(residual):
    torch.manual_seed(0)
    block = BasicBlock(8, 8, residual=residual).eval()
    nn.init.zeros_(block.bn2.weight)  # residual branch F(x) = 0
    x = torch.randn(2, 8, 5, 5)
    expected = torch.relu(x) if residual else torch.zeros_like(x)
    torch.testing.assert_close(block(x), expected)


def test_basic_block_with_projection_changes_shape():
    block = BasicBlock(8, 16, stride=2, downsample=nn.Sequential(nn.Conv2d(8, 16, 1, 2)))
    assert block(torch.randn(2, 8, 6, 6)).shape == (2, 16, 3, 3)


def test_zero_pad_shortcut():
    x = torch.randn(2, 16, 32, 32)
    y = ZeroPadShortcut(16, 32, stride=2)(x)
    assert y.shape == (2, 32, 16, 16)
    torch.testing.assert_close(y[:, :16], x[:, :, ::2, ::2])
    assert torch.all(y[:, 16:] == 0)
    assert not list(ZeroPadShortcut(16, 32, 2).parameters())
    with pytest.raises(ValueError, match="add channels"):
        ZeroPadShortcut(32, 16, 2)
