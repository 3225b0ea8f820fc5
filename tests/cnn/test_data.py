"""ImageDataset -> normalised tensors: statistics from the training part only, splits, subsets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlf.cnn.data import image_tensors, random_subset
from dlf.data import ImageDataset


def fake_dataset(n_train: int = 200, n_test: int = 50, channels: int = 3) -> ImageDataset:
    rng = np.random.default_rng(0)
    return ImageDataset(
        "fake",
        rng.integers(0, 256, (n_train, channels, 6, 6), dtype=np.uint8),
        rng.integers(0, 4, n_train).astype(np.int64),
        rng.integers(0, 256, (n_test, channels, 6, 6), dtype=np.uint8),
        rng.integers(0, 4, n_test).astype(np.int64),
        ("a", "b", "c", "d"),
    )


@pytest.mark.parametrize("channels", [1, 3])
def test_training_part_has_zero_mean_unit_std_per_channel(channels):
    data = image_tensors(fake_dataset(channels=channels), val_fraction=0.2)
    assert data.x_train.dtype == torch.float32 and data.y_train.dtype == torch.int64
    mean = data.x_train.double().mean(dim=(0, 2, 3))
    std = data.x_train.double().std(dim=(0, 2, 3))
    torch.testing.assert_close(mean, torch.zeros(channels, dtype=torch.float64), atol=1e-5, rtol=0)
    torch.testing.assert_close(std, torch.ones(channels, dtype=torch.float64), atol=1e-5, rtol=0)
    raw = fake_dataset(channels=channels)
    torch.testing.assert_close(
        data.denormalise(data.x_test),
        torch.from_numpy(raw.x_test / 255.0).float(),
        atol=1e-5,
        rtol=0,
    )
    black = torch.tensor(data.black)
    torch.testing.assert_close(
        data.denormalise(black[:, None, None])[:, 0, 0], torch.zeros(channels)
    )


def test_split_and_subsets_have_the_asked_sizes():
    data = image_tensors(fake_dataset(), val_fraction=0.25, train_subset=60, test_subset=20)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (60, 50, 20)
    assert data.image_shape == (3, 6, 6) and data.num_classes == 4
    assert data.sizes == "60 train / 50 validation / 20 test"
    no_val = image_tensors(fake_dataset())
    assert no_val.x_val is None and no_val.y_val is None and len(no_val.y_train) == 200


def test_random_subset():
    rng = np.random.default_rng(0)
    assert random_subset(0, 4, rng).tolist() == [0, 1, 2, 3]
    picked = random_subset(3, 10, rng)
    assert len(set(picked.tolist())) == 3 and (np.diff(picked) > 0).all()
