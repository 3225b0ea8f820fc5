import math

import pytest
import torch

from dlf.cnn import alexnet, alexnet_small

# torchvision AlexNet_Weights.IMAGENET1K_V1 meta "num_params"
# (https://pytorch.org/vision/stable/models/generated/torchvision.models.alexnet.html).
ALEXNET_PARAMS = 61_100_840

# State-dict keys and shapes of the reference definition (torchvision.models.alexnet):
# features = conv, relu, pool, conv, relu, pool, conv, relu, conv, relu, conv, relu, pool;
# classifier = dropout, linear, relu, dropout, linear, relu, linear.
ALEXNET_KEYS = {
    "features.0.weight": (64, 3, 11, 11),
    "features.0.bias": (64,),
    "features.3.weight": (192, 64, 5, 5),
    "features.3.bias": (192,),
    "features.6.weight": (384, 192, 3, 3),
    "features.6.bias": (384,),
    "features.8.weight": (256, 384, 3, 3),
    "features.8.bias": (256,),
    "features.10.weight": (256, 256, 3, 3),
    "features.10.bias": (256,),
    "classifier.1.weight": (4096, 9216),
    "classifier.1.bias": (4096,),
    "classifier.4.weight": (4096, 4096),
    "classifier.4.bias": (4096,),
    "classifier.6.weight": (1000, 4096),
    "classifier.6.bias": (1000,),
}


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_parameter_count_matches_reference():
    with torch.device("meta"):
        model = alexnet()
    assert n_params(model) == ALEXNET_PARAMS
    with torch.device("meta"):
        ten = alexnet(num_classes=10)
    assert n_params(ten) == ALEXNET_PARAMS - (4096 + 1) * (1000 - 10)


def test_state_dict_matches_reference_layout():
    with torch.device("meta"):
        model = alexnet()
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == ALEXNET_KEYS


def test_output_shape_at_224():
    with torch.device("meta"):
        model = alexnet(num_classes=5, in_channels=1)
        assert model(torch.zeros(1, 1, 224, 224)).shape == (1, 5)


@pytest.mark.parametrize(("image_size", "in_channels"), [(28, 1), (32, 3)])
def test_small_net_forward(image_size, in_channels):
    model = alexnet_small(num_classes=10, in_channels=in_channels, image_size=image_size)
    out = model(torch.randn(2, in_channels, image_size, image_size))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    # The classifier reads the whole final map: adaptive pooling is the identity.
    feats = model.features(torch.zeros(1, in_channels, image_size, image_size))
    assert feats.shape[-1] == model.config.pool_size


def test_paper_initialisation():
    torch.manual_seed(0)
    model = alexnet_small(init="paper")
    convs = [m for m in model.features if isinstance(m, torch.nn.Conv2d)]
    linears = [m for m in model.classifier if isinstance(m, torch.nn.Linear)]
    assert [c.bias.unique().tolist() for c in convs] == [[0.0], [1.0], [0.0], [1.0], [1.0]]
    assert [lin.bias.unique().tolist() for lin in linears] == [[1.0], [1.0], [0.0]]
    for layer in convs[1:] + linears[:2]:
        assert abs(layer.weight.std().item() - 0.01) < 0.001


def test_he_initialisation():
    torch.manual_seed(0)
    conv = alexnet_small().features[3]  # 48 -> 128, 5x5
    expected = math.sqrt(2 / (128 * 5 * 5))
    assert abs(conv.weight.std().item() / expected - 1) < 0.02
    assert torch.all(conv.bias == 0)


def test_unknown_init_is_refused():
    with pytest.raises(ValueError, match="init"):
        alexnet_small(init="xavier")
