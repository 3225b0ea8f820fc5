import io
import pickle
import tarfile

import numpy as np
import pytest

from dlf.data import read_cifar10_archive
from dlf.data.cifar import load_batch


def _batch(n: int, seed: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3072)).astype(np.uint8)
    labels = rng.integers(0, 10, n).tolist()
    # Protocol 2 and bytes keys, as the original (Python 2) batches are written.
    return pickle.dumps({b"data": data, b"labels": labels}, protocol=2), data, np.array(labels)


def _archive(path, n=4):
    expected = {}
    with tarfile.open(path, "w:gz") as tar:
        for i, member in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
            blob, data, labels = _batch(n, i)
            expected[member] = (data, labels)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{member}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return expected


def test_archive_in_cifar_format_is_read(tmp_path):
    expected = _archive(tmp_path / "cifar-10-python.tar.gz")
    x_train, y_train, x_test, y_test = read_cifar10_archive(tmp_path / "cifar-10-python.tar.gz")
    assert x_train.shape == (20, 3, 32, 32) and x_test.shape == (4, 3, 32, 32)
    first = expected["data_batch_1"][0][0].reshape(3, 32, 32)
    assert np.array_equal(x_train[0], first)
    assert np.array_equal(y_test, expected["test_batch"][1])


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


def test_code_in_a_batch_is_refused():
    blob = pickle.dumps({b"data": _Evil(), b"labels": []}, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        load_batch(blob)
