"""An image data set as normalised float tensors, made once and kept in memory.

    x_norm[:, c] = (x[:, c] / 255 - mean_c) / std_c

with ``mean_c``, ``std_c`` the mean and standard deviation of channel ``c`` over the TRAINING
images in use (never the validation or test ones), so every channel the network sees has mean 0
and variance 1 on the training set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dlf.data import ImageDataset, load_images, to_float, train_val_split


@dataclass
class ImageTensors:
    """Normalised float32 images ``(N, C, H, W)`` and int64 labels ``(N,)``, per part.

    ``x_val``/``y_val`` are ``None`` when no validation part was held out. ``mean``/``std`` are the
    per-channel statistics used, shape ``(C,)``.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor | None
    y_val: torch.Tensor | None
    x_test: torch.Tensor
    y_test: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    classes: tuple[str, ...]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def black(self) -> tuple[float, ...]:
        """The normalised value of a black (0) pixel, per channel: ``-mean / std``."""
        return tuple((-self.mean / self.std).tolist())

    def denormalise(self, x: torch.Tensor) -> torch.Tensor:
        """Back to pixels in [0, 1]: ``x * std + mean`` per channel; ``(..., C, H, W)`` in, out."""
        return x * self.std[:, None, None] + self.mean[:, None, None]

    @property
    def sizes(self) -> str:
        """E.g. ``"54000 train / 6000 validation / 10000 test"``."""
        n_val = 0 if self.y_val is None else len(self.y_val)
        return f"{len(self.y_train)} train / {n_val} validation / {len(self.y_test)} test"


def random_subset(n: int, total: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` sorted random indices of ``range(total)``; all of them when ``n`` is 0 or >= total.

    Example: ``random_subset(0, 4, rng)`` -> ``[0, 1, 2, 3]``; ``random_subset(2, 4, rng)`` -> two
    distinct sorted indices such as ``[1, 3]``.
    """
    if n <= 0 or n >= total:
        return np.arange(total)
    return np.sort(rng.choice(total, size=n, replace=False))


def image_tensors(
    dataset: ImageDataset | str,
    val_fraction: float = 0.0,
    train_subset: int = 0,
    test_subset: int = 0,
    seed: int = 0,
) -> ImageTensors:
    """Load (by name) or take an ImageDataset and turn it into normalised tensors.

    ``val_fraction`` of the training images are held out (``train_val_split``, seeded); then
    ``train_subset``/``test_subset`` keep seeded random subsets (0 = all). The validation part
    depends only on ``(val_fraction, seed)``. Example: ``image_tensors("mnist", 0.1)`` ->
    54000 train / 6000 validation / 10000 test images of shape (1, 28, 28).
    """
    data = load_images(dataset) if isinstance(dataset, str) else dataset
    train_idx, val_idx = train_val_split(len(data.y_train), val_fraction, seed)
    rng = np.random.default_rng(seed)
    train_idx = train_idx[random_subset(train_subset, len(train_idx), rng)]
    test_idx = random_subset(test_subset, len(data.y_test), rng)
    x_train = torch.from_numpy(to_float(data.x_train[train_idx]))
    mean = x_train.mean(dim=(0, 2, 3))
    std = x_train.std(dim=(0, 2, 3))

    def normalise(x: np.ndarray) -> torch.Tensor:
        return (torch.from_numpy(to_float(x)) - mean[:, None, None]) / std[:, None, None]

    def labels(y: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))

    x_val = y_val = None
    if len(val_idx):
        x_val, y_val = normalise(data.x_train[val_idx]), labels(data.y_train[val_idx])
    return ImageTensors(
        name=data.name,
        x_train=(x_train - mean[:, None, None]) / std[:, None, None],
        y_train=labels(data.y_train[train_idx]),
        x_val=x_val,
        y_val=y_val,
        x_test=normalise(data.x_test[test_idx]),
        y_test=labels(data.y_test[test_idx]),
        mean=mean,
        std=std,
        classes=tuple(data.classes),
    )
