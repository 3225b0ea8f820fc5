"""Test-wide settings: no downloads, the shared data folder, a toy recipe."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# One thread per test process: `make test` runs two processes (pytest -n 2) on two cores, and
# small tensors gain nothing from more threads. Set before NumPy or torch is first imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

# Tests never touch the network: a missing data set is an error, not a download.
os.environ["DLF_OFFLINE"] = "1"
if not os.environ.get("DLF_DATA") and _SHARED.is_dir():
    os.environ["DLF_DATA"] = str(_SHARED)


def data_available(name: str) -> bool:
    """Whether data set ``name`` is in ``$DLF_DATA`` (tests that need it skip otherwise)."""
    from dlf.data import DataError, dataset_files

    try:
        dataset_files(name)
    except DataError:
        return False
    return True


@pytest.fixture
def needs_mnist():
    if not data_available("mnist"):
        pytest.skip("MNIST not in $DLF_DATA")
