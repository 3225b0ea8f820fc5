"""Augmentation on batches: shapes, determinism under a seed, and what each output may be."""

from __future__ import annotations

import pytest
import torch

from dlf.cnn.augment import Augment, pad_constant, random_crop, random_horizontal_flip


def windows(padded: torch.Tensor, h: int, w: int) -> list[torch.Tensor]:
    """Every h x w window of one padded image (C, H', W'): the reference set of crops."""
    return [
        padded[:, dy : dy + h, dx : dx + w]
        for dy in range(padded.shape[1] - h + 1)
        for dx in range(padded.shape[2] - w + 1)
    ]


@pytest.mark.parametrize("shape,padding", [((5, 1, 8, 8), 2), ((3, 3, 6, 9), 1), ((4, 2, 5, 5), 3)])
def test_each_crop_is_a_window_of_the_padded_image(shape, padding):
    x = torch.randn(shape)
    fill = tuple(float(c) for c in range(shape[1]))
    out = random_crop(x, padding, torch.Generator().manual_seed(0), fill)
    assert out.shape == x.shape
    padded = pad_constant(x, padding, fill)
    for i in range(shape[0]):
        assert any(torch.equal(out[i], win) for win in windows(padded[i], *shape[2:]))


def test_pad_constant_fills_the_border_per_channel():
    x = torch.zeros(2, 3, 4, 4)
    out = pad_constant(x, 1, (1.0, 2.0, 3.0))
    assert out.shape == (2, 3, 6, 6)
    for c in range(3):
        assert (out[:, c, 0, :] == c + 1).all() and (out[:, c, :, -1] == c + 1).all()
        assert (out[:, c, 1:5, 1:5] == 0).all()
    with pytest.raises(ValueError, match="one per channel"):
        pad_constant(x, 1, (1.0, 2.0))


def test_crops_cover_every_offset_and_padding_zero_is_identity():
    x = torch.arange(16.0).reshape(1, 1, 4, 4).expand(400, 1, 4, 4)
    out = random_crop(x, 1, torch.Generator().manual_seed(1), fill=-1.0)
    distinct = {tuple(img.flatten().tolist()) for img in out}
    assert len(distinct) == 9  # all (2p + 1)^2 offsets drawn
    assert random_crop(x, 0) is x


def test_flip_gives_the_image_or_its_mirror_about_half_the_time():
    x = torch.randn(2000, 2, 5, 7)
    out = random_horizontal_flip(x, torch.Generator().manual_seed(0))
    same = (out == x).flatten(1).all(dim=1)
    mirrored = (out == x.flip(3)).flatten(1).all(dim=1)
    assert (same | mirrored).all()
    assert 0.45 < mirrored.float().mean() < 0.55
    assert torch.equal(random_horizontal_flip(x, p=1.0), x.flip(3))
    assert torch.equal(random_horizontal_flip(x, p=0.0), x)


@pytest.mark.parametrize("augment", [Augment(2, False), Augment(1, True), Augment(0, True)])
def test_same_seed_same_batch_other_seed_other_batch(augment):
    x = torch.randn(16, 1, 10, 10)
    a = augment(x, torch.Generator().manual_seed(3))
    b = augment(x, torch.Generator().manual_seed(3))
    c = augment(x, torch.Generator().manual_seed(4))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
