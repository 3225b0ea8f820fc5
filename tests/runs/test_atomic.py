import numpy as np
import pytest

from dlf.runs import atomic_write_bytes, to_jsonable


def test_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    atomic_write_bytes(target, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_to_jsonable():
    value = {"a": np.float32(0.5), "b": (1, 2), "c": np.arange(3), 4: float("nan")}
    assert to_jsonable(value) == {"a": 0.5, "b": [1, 2], "c": [0, 1, 2], "4": "nan"}
