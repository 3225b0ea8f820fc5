"""The IDX format of MNIST and Fashion-MNIST, read without any library but NumPy.

Layout: a 4-byte magic ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32 sizes, then
the array in C order. Type 0x08 is unsigned byte (the only one these data sets use).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(data: bytes) -> np.ndarray:
    """Decode the bytes of an IDX file into an array of the shape its header gives.

    Example: ``b"\\x00\\x00\\x08\\x01" + (3).to_bytes(4, "big") + bytes([7, 8, 9])``
    -> ``array([7, 8, 9], dtype=uint8)``.
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise ValueError("not an IDX file: bad magic number")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[data[2]])
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - offset != expected:
        raise ValueError(f"IDX payload has {len(data) - offset} bytes, header says {expected}")
    return (
        np.frombuffer(data, dtype=dtype, offset=offset)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file, gzip-compressed (``.gz``) or not."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        return parse_idx(f.read())
