"""Data augmentation on batches of image tensors: random crop with padding, horizontal flip.

Both act on a whole batch ``(N, C, H, W)`` at once (no Python loop over images) and draw their
randomness from a ``torch.Generator``, so a seeded run sees the same augmented batches every time.

    random crop (Krizhevsky et al., 2012; He et al., 2016, Section 4.2): pad each side by ``p``
    pixels, then cut a ``H x W`` window at a uniform offset ``(dy, dx)`` in ``[0, 2p]^2``; the
    image moves by up to ``p`` pixels in each direction.
    horizontal flip: with probability 1/2, ``x[..., j] <- x[..., W - 1 - j]``.

Flips suit natural images and clothes (a mirrored shirt is a shirt), not digits or letters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


def pad_constant(
    x: torch.Tensor, padding: int, fill: Sequence[float] | float = 0.0
) -> torch.Tensor:
    """``(N, C, H, W)`` -> ``(N, C, H + 2p, W + 2p)``, the border set to ``fill`` (per channel).

    ``fill`` is a number or one number per channel: pad normalised images with the normalised
    value of a black pixel, ``-mean / std``, so the border looks like background.
    Example: a (1, 1, 2, 2) input with ``padding=1`` -> (1, 1, 4, 4), border all ``fill``.
    """
    n, c, h, w = x.shape
    fill_t = torch.as_tensor(fill, dtype=x.dtype).reshape(-1)
    if fill_t.numel() not in (1, c):
        raise ValueError(f"fill needs 1 or {c} values (one per channel); got {fill_t.numel()}")
    out = fill_t.reshape(1, -1, 1, 1).expand(n, c, h + 2 * padding, w + 2 * padding).clone()
    out[:, :, padding : padding + h, padding : padding + w] = x
    return out


def random_crop(
    x: torch.Tensor,
    padding: int,
    generator: torch.Generator | None = None,
    fill: Sequence[float] | float = 0.0,
) -> torch.Tensor:
    """Pad by ``padding`` then crop every image at its own random offset: same shape out.

    ``(N, C, H, W)`` -> ``(N, C, H, W)``; output image ``i`` is
    ``pad(x)[i, :, dy_i : dy_i + H, dx_i : dx_i + W]`` with ``dy_i, dx_i`` uniform in
    ``{0, ..., 2 * padding}``. ``padding=0`` returns ``x`` unchanged.
    """
    if padding < 0:
        raise ValueError(f"padding must be >= 0; got {padding}")
    if padding == 0:
        return x
    n, c, h, w = x.shape
    padded = pad_constant(x, padding, fill)
    offsets = torch.randint(0, 2 * padding + 1, (2, n), generator=generator)
    rows = (offsets[0, :, None] + torch.arange(h))[:, None, :, None]  # (N, 1, H, 1)
    cols = (offsets[1, :, None] + torch.arange(w))[:, None, None, :]  # (N, 1, 1, W)
    batch = torch.arange(n)[:, None, None, None]
    channel = torch.arange(c)[None, :, None, None]
    return padded[batch, channel, rows, cols]


def random_horizontal_flip(
    x: torch.Tensor, generator: torch.Generator | None = None, p: float = 0.5
) -> torch.Tensor:
    """Mirror each image left-right with probability ``p``: ``(N, C, H, W)`` -> same shape."""
    flip = torch.rand(x.shape[0], generator=generator) < p
    return torch.where(flip[:, None, None, None], x.flip(3), x)


@dataclass(frozen=True)
class Augment:
    """The training-time augmentation of a batch: random crop (``padding`` > 0), then flip.

    ``fill`` is the per-channel value of the padded border (see :func:`pad_constant`).
    Example: ``Augment(padding=2, flip=False)(x, g)`` shifts digits by up to 2 pixels.
    """

    padding: int = 0
    flip: bool = False
    fill: tuple[float, ...] = (0.0,)

    @property
    def active(self) -> bool:
        return self.padding > 0 or self.flip

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        x = random_crop(x, self.padding, generator, self.fill)
        if self.flip:
            x = random_horizontal_flip(x, generator)
        return x
