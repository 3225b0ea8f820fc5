import gzip

import numpy as np
import pytest

from dlf.data import load_images, parse_idx, read_idx, to_float
from tests.conftest import data_available


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.mark.parametrize("shape", [(3,), (4, 5), (2, 3, 7)])
def test_parse_round_trip(shape, tmp_path):
    array = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    assert np.array_equal(parse_idx(_idx(array)), array)
    path = tmp_path / "x.idx.gz"
    path.write_bytes(gzip.compress(_idx(array)))
    assert np.array_equal(read_idx(path), array)


def test_bad_magic_and_short_payload():
    with pytest.raises(ValueError, match="magic"):
        parse_idx(b"\x01\x02\x08\x01")
    with pytest.raises(ValueError, match="header says"):
        parse_idx(_idx(np.zeros(4))[:-1])


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_real_sets_have_published_shapes_and_counts(name):
    if not data_available(name):
        pytest.skip(f"{name} not in $DLF_DATA")
    d = load_images(name)
    assert d.x_train.shape == (60000, 1, 28, 28) and d.x_test.shape == (10000, 1, 28, 28)
    counts = np.bincount(d.y_train, minlength=10)
    if name == "mnist":  # the class counts published with the files
        assert counts.tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    else:
        assert counts.tolist() == [6000] * 10
    x = to_float(d.x_test[:5])
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
