"""Weights files: named NumPy arrays in safetensors format, written atomically.

safetensors holds only a JSON header and raw tensor bytes, so loading a file can never run code
(unlike pickle). Framework-free: NumPy in, NumPy out; the torch packages convert at their edge.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import safetensors.numpy

from dlf.runs.atomic import atomic_write_bytes


def save_arrays(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``{name: array}`` to ``path`` as safetensors, atomically; returns the path.

    Arrays are stored C-contiguous with their dtype and shape. Example:
    ``save_arrays(run_dir.path / "model.safetensors", state_dict(model))``.
    """
    bad = [k for k, v in arrays.items() if not isinstance(v, np.ndarray)]
    if bad:
        raise TypeError(f"save_arrays takes NumPy arrays; not arrays: {', '.join(bad)}")
    contiguous = {k: np.require(v, requirements="C") for k, v in arrays.items()}
    return atomic_write_bytes(path, safetensors.numpy.save(contiguous))


def load_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a safetensors file written by :func:`save_arrays` -> ``{name: array}``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    return safetensors.numpy.load(path.read_bytes())
