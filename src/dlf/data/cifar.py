"""CIFAR-10's python version, read from its archive without executing code.

The batches are Python pickles of ``{b"data": uint8 array (10000, 3072), b"labels": [int]}``.
Unpickling can run arbitrary code, so the unpickler here resolves only the few NumPy names an
array needs; anything else in the stream is refused.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 spell a bytes object
}

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip


class _ArraysOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        return super().find_class(module, name)


def load_batch(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch -> images (N, 3, 32, 32) uint8 and labels (N,) int64."""
    batch = _ArraysOnlyUnpickler(io.BytesIO(data), encoding="bytes").load()
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError("not a CIFAR-10 batch: expected a dict with b'data' and b'labels'")
    images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return images, np.asarray(batch[b"labels"], dtype=np.int64)


def read_cifar10_archive(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``cifar-10-python.tar.gz`` -> x_train (50000, 3, 32, 32), y_train, x_test, y_test.

    Reads ``cifar-10-batches-py/data_batch_1..5`` and ``test_batch`` straight from the archive.
    """
    with tarfile.open(path, "r:gz") as tar:

        def read(member: str) -> tuple[np.ndarray, np.ndarray]:
            f = tar.extractfile(f"cifar-10-batches-py/{member}")
            if f is None:
                raise ValueError(f"{path}: {member} is not a file in the archive")
            return load_batch(f.read())

        train = [read(f"data_batch_{i}") for i in range(1, 6)]
        x_test, y_test = read("test_batch")
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return x_train, y_train, x_test, y_test
