import pytest
import torch

import dlf.cnn
from dlf.cnn import INPUT_SHAPES, MODELS, get_model


def test_every_model_has_an_input_shape():
    assert set(MODELS) == set(INPUT_SHAPES)
    for name in [
        "lenet5",
        "alexnet",
        "vgg16",
        "vgg16_bn",
        "resnet18",
        "resnet152",
        "resnet20",
        "plain20",
        "resnet110",
        "plain110",
        "vgg_small",
        "alexnet_small",
    ]:
        assert name in MODELS


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_builds_and_maps_its_input_to_logits(name):
    shape = INPUT_SHAPES[name]
    with torch.device("meta"):
        model = get_model(name, num_classes=7, in_channels=shape[0])
        assert model(torch.zeros(1, *shape)).shape == (1, 7)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="resnet20"):
        get_model("resnet21")


def test_public_names_importable_from_package():
    for name in dlf.cnn.__all__:
        assert hasattr(dlf.cnn, name)
