"""Image classification data sets by name: MNIST, Fashion-MNIST, CIFAR-10."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlf.data.cifar import CIFAR10_CLASSES, read_cifar10_archive
from dlf.data.idx import read_idx
from dlf.data.registry import dataset_files

FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip


@dataclass
class ImageDataset:
    """Train and test images as uint8 arrays (N, C, H, W) and int64 labels (N,)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.x_train.shape[1:])


def _load_idx_set(name: str, classes: tuple[str, ...]) -> ImageDataset:
    files = dataset_files(name)

    def images(f: str) -> np.ndarray:
        return read_idx(files[f])[:, None, :, :]

    def labels(f: str) -> np.ndarray:
        return read_idx(files[f]).astype(np.int64)

    return ImageDataset(
        name,
        images("train-images-idx3-ubyte.gz"),
        labels("train-labels-idx1-ubyte.gz"),
        images("t10k-images-idx3-ubyte.gz"),
        labels("t10k-labels-idx1-ubyte.gz"),
        classes,
    )


def load_images(name: str) -> ImageDataset:
    """``"mnist"``, ``"fashion-mnist"`` or ``"cifar10"`` -> ImageDataset.

    Shapes: MNIST-like (60000, 1, 28, 28) train and (10000, 1, 28, 28) test; CIFAR-10
    (50000, 3, 32, 32) and (10000, 3, 32, 32). Raises DatasetNotFound or ChecksumError.
    """
    if name == "mnist":
        return _load_idx_set(name, tuple(str(d) for d in range(10)))
    if name == "fashion-mnist":
        return _load_idx_set(name, FASHION_CLASSES)
    if name == "cifar10":
        x_tr, y_tr, x_te, y_te = read_cifar10_archive(dataset_files(name)["cifar-10-python.tar.gz"])
        return ImageDataset(name, x_tr, y_tr, x_te, y_te, CIFAR10_CLASSES)
    raise ValueError(f"no image data set named '{name}'; known: mnist, fashion-mnist, cifar10")


def to_float(images: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """uint8 pixels in [0, 255] -> floats in [0, 1]: ``x / 255``."""
    return images.astype(dtype) / dtype(255)
