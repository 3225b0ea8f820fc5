import pytest
import torch

from dlf.cnn import vgg11, vgg13, vgg16, vgg19, vgg_small

# torchvision VGG*_Weights.IMAGENET1K_V1 meta "num_params" (torchvision/models/vgg.py; the same
# figures are on https://pytorch.org/vision/stable/models/generated/torchvision.models.vgg16.html
# and the vgg11 ... vgg19_bn pages).
REFERENCE_PARAMS = {
    (vgg11, False): 132_863_336,
    (vgg11, True): 132_868_840,
    (vgg13, False): 133_047_848,
    (vgg13, True): 133_053_736,
    (vgg16, False): 138_357_544,
    (vgg16, True): 138_365_992,
    (vgg19, False): 143_667_240,
    (vgg19, True): 143_678_248,
}

# Index of every conv in `features` of the reference VGG-16 (conv, relu; pool closes a stage)
# and VGG-16-BN (conv, bn, relu).
VGG16_CONVS = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
VGG16_BN_CONVS = [0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40]
VGG16_WIDTHS = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]


@pytest.mark.parametrize(("factory", "batch_norm"), list(REFERENCE_PARAMS))
def test_parameter_count_matches_reference(factory, batch_norm):
    with torch.device("meta"):
        model = factory(batch_norm=batch_norm)
    assert sum(p.numel() for p in model.parameters()) == REFERENCE_PARAMS[factory, batch_norm]


@pytest.mark.parametrize(
    ("batch_norm", "conv_indices"), [(False, VGG16_CONVS), (True, VGG16_BN_CONVS)]
)
def test_vgg16_state_dict_layout(batch_norm, conv_indices):
    with torch.device("meta"):
        shapes = {k: tuple(v.shape) for k, v in vgg16(batch_norm=batch_norm).state_dict().items()}
    expected = {}
    c_in = 3
    for index, c_out in zip(conv_indices, VGG16_WIDTHS, strict=True):
        expected[f"features.{index}.weight"] = (c_out, c_in, 3, 3)
        expected[f"features.{index}.bias"] = (c_out,)
        if batch_norm:
            for name in ("weight", "bias", "running_mean", "running_var"):
                expected[f"features.{index + 1}.{name}"] = (c_out,)
            expected[f"features.{index + 1}.num_batches_tracked"] = ()
        c_in = c_out
    expected |= {
        "classifier.0.weight": (4096, 512 * 7 * 7),
        "classifier.0.bias": (4096,),
        "classifier.3.weight": (4096, 4096),
        "classifier.3.bias": (4096,),
        "classifier.6.weight": (1000, 4096),
        "classifier.6.bias": (1000,),
    }
    assert shapes == expected


@pytest.mark.parametrize("factory", [vgg11, vgg19])
def test_output_shape_at_224(factory):
    with torch.device("meta"):
        model = factory(num_classes=10, batch_norm=True)
        assert model(torch.zeros(1, 3, 224, 224)).shape == (1, 10)


@pytest.mark.parametrize(("image_size", "in_channels"), [(28, 1), (32, 3)])
def test_small_net_forward(image_size, in_channels):
    model = vgg_small(num_classes=10, in_channels=in_channels, image_size=image_size)
    model.eval()
    out = model(torch.randn(2, in_channels, image_size, image_size))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    feats = model.features(torch.zeros(1, in_channels, image_size, image_size))
    assert feats.shape[-1] == model.config.pool_size


def test_initialisation():
    torch.manual_seed(0)
    model = vgg_small()
    linear = model.classifier[0]
    assert abs(linear.weight.std().item() - 0.01) < 0.001 and torch.all(linear.bias == 0)
    conv = model.features[3]  # 32 -> 32, 3x3
    assert abs(conv.weight.std().item() / (2 / (32 * 9)) ** 0.5 - 1) < 0.05
