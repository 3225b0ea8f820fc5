"""The transfer recipe: quick setting, its pieces, and the torchvision-format weights path."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from dlf.cnn.data import image_tensors
from dlf.cnn.models.resnet import resnet18
from dlf.cnn.recipes.transfer import (
    RECIPE,
    class_subset,
    freeze_features,
    head,
    load_resnet18,
    replace_head,
    trainable,
)
from dlf.cnn.small_nets import small_resnet
from dlf.cnn.train import TrainConfig, fit
from dlf.data import ImageDataset
from dlf.recipes import get_recipe, run_recipe
from tests.conftest import data_available
from tests.report_checks import check_self_contained

needs_fashion = pytest.mark.skipif(
    not data_available("fashion-mnist"), reason="Fashion-MNIST not in $DLF_DATA"
)


@pytest.mark.slow
@needs_fashion
def test_quick_setting(tmp_path):
    assert get_recipe("transfer") is RECIPE
    config = RECIPE.make_config(quick=True)
    run_dir, s = run_recipe(RECIPE, config, tmp_path, quiet=True)
    assert s["status"] == "completed"
    assert s["target_train_images"] == config.labels_per_class * len(config.target_classes)
    for key in ("source_test_accuracy", "test_accuracy_scratch", "test_accuracy_linear_probe",
                "test_accuracy_finetune"):  # fmt: skip
        assert 0.0 <= s[key] <= 1.0
    lines = [json.loads(x) for x in (run_dir.path / "metrics.jsonl").read_text().splitlines()]
    methods = [r["method"] for r in lines]
    assert methods.count("pretrain") == config.pretrain_epochs
    for m in ("scratch", "linear probe", "fine-tune"):
        assert methods.count(m) == config.epochs
    assert check_self_contained(run_dir.path / "report.html") == 2


def tiny_images(n_per_class: int = 6, classes: int = 4) -> ImageDataset:
    g = torch.Generator().manual_seed(0)
    y = torch.arange(classes).repeat_interleave(n_per_class)
    x = torch.randint(0, 256, (len(y), 1, 8, 8), generator=g, dtype=torch.uint8)
    names = tuple("abcd"[:classes])
    return ImageDataset("tiny", x.numpy(), y.numpy(), x[:8].numpy(), y[:8].numpy(), names)


@pytest.mark.parametrize("per_class", [0, 2, 5])
def test_class_subset_keeps_and_relabels(per_class):
    data = image_tensors(tiny_images())
    sub = class_subset(data, (3, 1), per_class, seed=0)
    assert sub.classes == ("d", "b")
    assert len(sub.y_train) == 2 * (per_class or 6)
    assert sorted(set(sub.y_train.tolist())) == [0, 1]
    # relabelled images are the original images of classes 3 (-> 0) and 1 (-> 1)
    for x, y in zip(sub.x_train, sub.y_train, strict=True):
        original = (3, 1)[int(y)]
        assert any(torch.equal(x, xo) for xo in data.x_train[data.y_train == original])
    assert set(sub.y_test.tolist()) <= {0, 1} and sub.x_val is None


def test_class_subset_asks_for_too_many():
    with pytest.raises(ValueError, match="has 6 images"):
        class_subset(image_tensors(tiny_images()), (0,), 7)


def test_replace_head_and_freeze_features_train_only_the_classifier():
    torch.manual_seed(0)
    model = replace_head(small_resnet(4, 1, widths=(4, 8), blocks=(1, 1), stem=4), 3)
    assert head(model).out_features == 3
    freeze_features(model)
    assert trainable(model) == 8 * 3 + 3
    frozen_state = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("fc")}
    data = image_tensors(tiny_images(classes=3))
    fit(model, data, TrainConfig(epochs=2, batch_size=4, lr=0.5))
    for k, v in model.state_dict().items():
        if not k.startswith("fc"):  # weights AND batch-norm running statistics unchanged
            assert torch.equal(v, frozen_state[k]), k
    assert not torch.equal(model.fc.weight, torch.zeros_like(model.fc.weight))


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


@pytest.mark.slow
@needs_fashion
def test_weights_path_runs_with_a_saved_resnet18(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "resnet18.pth"
    torch.save(resnet18().state_dict(), path)
    config = RECIPE.make_config(
        quick=True,
        overrides={"weights": str(path), "image_size": 32, "epochs": 1, "labels_per_class": 4,
                   "test_subset": 60},
    )  # fmt: skip
    run_dir, s = run_recipe(RECIPE, config, tmp_path / "runs", quiet=True)
    assert s["status"] == "completed" and "source_test_accuracy" not in s
    assert 0.0 <= s["test_accuracy_finetune"] <= 1.0
    assert "ResNet-18 weights from" in (run_dir.path / "report.html").read_text()


def test_linear_probe_keeps_frozen_layers_in_eval():
    model = freeze_features(replace_head(nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.9),
                                                       nn.Linear(3, 2)), 2))  # fmt: skip
    model.train()
    x = torch.ones(4, 3)
    assert torch.equal(model(x), model(x))  # dropout of the frozen part is off
