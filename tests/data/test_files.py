import hashlib
import os

import pytest

from dlf.data import ChecksumError, DatasetNotFound, dataset_files, search_dirs
from dlf.data.files import DataFile, DatasetSpec, locate


def _spec(tmp_path, content: bytes, name="toyset") -> DatasetSpec:
    source = tmp_path / "origin.bin"
    source.write_bytes(content)
    sha = hashlib.sha256(content).hexdigest()
    return DatasetSpec(name, (DataFile("a.bin", sha, source.as_uri()),), "a test", "none")


def test_search_dirs_order(monkeypatch, tmp_path):
    monkeypatch.setenv("DLF_DATA", f"{tmp_path}/a{os.pathsep}{tmp_path}/b")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    dirs = search_dirs()
    assert dirs == [tmp_path / "a", tmp_path / "b", tmp_path / "home" / ".cache" / "dlf"]


def test_found_in_second_folder(monkeypatch, tmp_path):
    spec = _spec(tmp_path, b"hello")
    (tmp_path / "b" / "toyset").mkdir(parents=True)
    (tmp_path / "b" / "toyset" / "a.bin").write_bytes(b"hello")
    monkeypatch.setenv("DLF_DATA", f"{tmp_path}/a{os.pathsep}{tmp_path}/b")
    assert locate(spec) == {"a.bin": tmp_path / "b" / "toyset" / "a.bin"}


def test_missing_offline_names_set_folders_and_files(monkeypatch, tmp_path):
    spec = _spec(tmp_path, b"hello")
    monkeypatch.setenv("DLF_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(DatasetNotFound) as err:
        locate(spec)
    message = str(err.value)
    assert "'toyset'" in message and "a.bin" in message
    assert str(tmp_path / "empty" / "toyset") in message and "DLF_OFFLINE" in message


def test_download_is_checked_and_lands_in_cache(monkeypatch, tmp_path):
    spec = _spec(tmp_path, b"payload")
    monkeypatch.setenv("DLF_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DLF_OFFLINE", "0")
    paths = locate(spec)  # a file:// URL: no network
    assert paths["a.bin"] == tmp_path / "home" / ".cache" / "dlf" / "toyset" / "a.bin"
    assert paths["a.bin"].read_bytes() == b"payload"


def test_download_with_wrong_checksum_is_not_kept(monkeypatch, tmp_path):
    spec = _spec(tmp_path, b"payload")
    (tmp_path / "origin.bin").write_bytes(b"tampered")
    monkeypatch.setenv("DLF_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DLF_OFFLINE", "0")
    with pytest.raises(ChecksumError):
        locate(spec)
    cache = tmp_path / "home" / ".cache" / "dlf" / "toyset"
    assert not cache.exists() or list(cache.iterdir()) == []


def test_unreachable_source_is_dataset_not_found(monkeypatch, tmp_path):
    spec = DatasetSpec(
        "toyset", (DataFile("a.bin", "0" * 64, (tmp_path / "gone").as_uri()),), "", ""
    )
    monkeypatch.setenv("DLF_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DLF_OFFLINE", "0")
    with pytest.raises(DatasetNotFound, match="download failed"):
        locate(spec)


def test_flipped_byte_is_refused(monkeypatch, tmp_path):
    content = bytearray(b"0123456789" * 100)
    spec = _spec(tmp_path, bytes(content))
    content[500] ^= 0x01
    (tmp_path / "d" / "toyset").mkdir(parents=True)
    (tmp_path / "d" / "toyset" / "a.bin").write_bytes(bytes(content))
    monkeypatch.setenv("DLF_DATA", str(tmp_path / "d"))
    with pytest.raises(ChecksumError, match="a.bin"):
        locate(spec)


def test_unknown_data_set_lists_known():
    with pytest.raises(DatasetNotFound, match="mnist"):
        dataset_files("imagenet")
