"""Weights files: safetensors round trip, atomic writes, clear errors."""

import numpy as np
import pytest

from dlf.runs import load_arrays, save_arrays


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8])
def test_round_trip_keeps_values_dtypes_and_shapes(tmp_path, dtype):
    rng = np.random.default_rng(0)
    arrays = {
        "0.W": (rng.standard_normal((5, 3)) * 10).astype(dtype),
        "0.b": np.arange(3).astype(dtype),
        "1.running_var": np.ones((2, 3, 4), dtype),
        "scalar": np.array(7, dtype),
    }
    path = save_arrays(tmp_path / "model.safetensors", arrays)
    loaded = load_arrays(path)
    assert set(loaded) == set(arrays)
    for k, v in arrays.items():
        assert loaded[k].dtype == v.dtype and loaded[k].shape == v.shape
        np.testing.assert_array_equal(loaded[k], v)
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]  # no temp file left


def test_non_contiguous_arrays_are_saved_as_their_values(tmp_path):
    a = np.arange(12.0).reshape(3, 4).T
    np.testing.assert_array_equal(load_arrays(save_arrays(tmp_path / "w", {"a": a}))["a"], a)


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(TypeError, match="not arrays: b"):
        save_arrays(tmp_path / "w", {"a": np.ones(2), "b": [1.0, 2.0]})
    with pytest.raises(FileNotFoundError, match="no weights file"):
        load_arrays(tmp_path / "missing.safetensors")
