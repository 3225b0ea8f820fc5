"""dlf.cnn.transfer: new heads, frozen features, the three methods' models, ResNet-18 files."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlf.cnn.data import image_tensors
from dlf.cnn.models.resnet import resnet18
from dlf.cnn.small_nets import small_cnn, small_resnet
from dlf.cnn.train import TrainConfig, fit
from dlf.cnn.transfer import (
    GreyToRGB,
    freeze_features,
    head,
    load_resnet18,
    replace_head,
    trainable,
    transfer_models,
)
from dlf.data import ImageDataset


def tiny_images(n_per_class: int = 6, classes: int = 4) -> ImageDataset:
    """``classes`` x ``n_per_class`` random 8x8 grey images labelled by class; 8 test images."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(classes).repeat_interleave(n_per_class)
    x = torch.randint(0, 256, (len(y), 1, 8, 8), generator=g, dtype=torch.uint8)
    names = tuple("abcd"[:classes])
    return ImageDataset("tiny", x.numpy(), y.numpy(), x[:8].numpy(), y[:8].numpy(), names)


@pytest.mark.parametrize(
    ("model", "name", "features"),
    [
        (small_resnet(4, 1, widths=(4, 8), blocks=(1, 1), stem=4), "fc", 8),
        (small_cnn(4, channels=(4, 8), hidden=16), "fc2", 16),
    ],
)
def test_replace_head_swaps_the_last_linear(model, name, features):
    before = {n for n, _ in model.named_modules()}
    replace_head(model, 3)
    assert {n for n, _ in model.named_modules()} == before
    assert head(model) is model.get_submodule(name)
    assert (head(model).in_features, head(model).out_features) == (features, 3)


def test_replace_head_and_freeze_features_train_only_the_classifier():
    torch.manual_seed(0)
    model = replace_head(small_resnet(4, 1, widths=(4, 8), blocks=(1, 1), stem=4), 3)
    freeze_features(model)
    assert trainable(model) == 8 * 3 + 3
    frozen_state = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("fc")}
    head_before = model.fc.weight.clone()
    data = image_tensors(tiny_images(classes=3))
    fit(model, data, TrainConfig(epochs=2, batch_size=4, lr=0.5))
    for k, v in model.state_dict().items():
        if not k.startswith("fc"):  # weights AND batch-norm running statistics unchanged
            assert torch.equal(v, frozen_state[k]), k
    assert not torch.equal(model.fc.weight, head_before)


def test_linear_probe_keeps_frozen_layers_in_eval():
    model = freeze_features(replace_head(nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.9),
                                                       nn.Linear(3, 2)), 2))  # fmt: skip
    model.train()
    x = torch.ones(4, 3)
    assert torch.equal(model(x), model(x))  # dropout of the frozen part is off


def test_transfer_models_copy_their_sources():
    torch.manual_seed(0)
    pretrained = small_resnet(4, 1, widths=(4, 8), blocks=(1, 1), stem=4)
    fresh = small_resnet(4, 1, widths=(4, 8), blocks=(1, 1), stem=4)
    state = {k: v.clone() for k, v in pretrained.state_dict().items()}
    models = transfer_models(pretrained, fresh, 2)
    assert set(models) == {"scratch", "linear probe", "fine-tune"}
    assert all(head(m).out_features == 2 for m in models.values())
    assert head(pretrained).out_features == head(fresh).out_features == 4  # left as they were
    assert trainable(models["linear probe"]) == 8 * 2 + 2
    assert trainable(models["fine-tune"]) == trainable(models["scratch"]) > 8 * 2 + 2
    for source, method in ((pretrained, "fine-tune"), (fresh, "scratch")):
        copy = models[method].state_dict()
        for k, v in source.state_dict().items():
            if not k.startswith("fc"):
                assert torch.equal(copy[k], v) and copy[k].data_ptr() != v.data_ptr(), k
    with torch.no_grad():
        models["fine-tune"].conv1.weight.add_(1.0)
    assert torch.equal(pretrained.conv1.weight, state["conv1.weight"])


@pytest.mark.parametrize(("shape", "size"), [((2, 1, 8, 8), 16), ((1, 3, 10, 6), 12)])
def test_grey_to_rgb_repeats_grey_and_resizes(shape, size):
    x = torch.randn(shape)
    y = GreyToRGB(size)(x)
    assert y.shape == (shape[0], 3, size, size)
    if shape[1] == 1:  # the three channels are the same grey image
        assert torch.equal(y[:, 0], y[:, 1]) and torch.equal(y[:, 1], y[:, 2])


def test_grey_to_rgb_at_the_same_size_only_repeats():
    x = torch.randn(2, 1, 9, 9)
    # bilinear resampling onto the same grid is exact up to float32 rounding of its weights
    assert torch.allclose(GreyToRGB(9)(x), x.expand(-1, 3, -1, -1), rtol=0, atol=1e-6)


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_load_resnet18_round_trip(tmp_path, suffix):
    torch.manual_seed(0)
    ours = resnet18(num_classes=7)
    path = tmp_path / f"resnet18{suffix}"
    if suffix == ".pt":
        torch.save(ours.state_dict(), path)
    else:
        from safetensors.torch import save_file

        save_file(ours.state_dict(), str(path))
    loaded = load_resnet18(path)
    assert loaded.fc.out_features == 7
    for k, v in ours.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k


def test_load_resnet18_strict_keys(tmp_path):
    state = resnet18().state_dict()
    state.pop("layer4.1.bn2.running_var")
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "bad.pt"
    torch.save(state, path)
    with pytest.raises(ValueError, match="missing keys.*layer4.1.bn2.running_var.*extra.weight"):
        load_resnet18(path)
    torch.save({"conv1.weight": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match="not a ResNet-18 state_dict"):
        load_resnet18(path)
    with pytest.raises(FileNotFoundError, match="not found"):
        load_resnet18(tmp_path / "missing.pt")
