"""Finding, verifying and downloading data files.

A data set is a named list of files. Each file is looked up as ``<folder>/<data set>/<file>`` in
every folder of ``$DLF_DATA`` (one folder, or several joined by ``:``), then in ``~/.cache/dlf``.
A file found nowhere is downloaded from its original source into the cache, checked, and only
then moved into place (an atomic rename), so a half-downloaded file is never seen. A file whose
checksum is wrong is never used. ``DLF_OFFLINE=1`` forbids downloads (the test suite sets it).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path


class DataError(Exception):
    """A data set cannot be used; the message says what to do."""


class DatasetNotFound(DataError):
    """The files of a data set are neither on disk nor downloadable."""


class ChecksumError(DataError):
    """A data file is on disk but its checksum is wrong; it is never used."""


@dataclass(frozen=True)
class DataFile:
    """One file of a data set: its name, its published checksum and where it comes from.

    ``algorithm`` is ``"sha256"`` where the publisher gives one, else ``"md5"`` (CIFAR-10's
    published checksums are MD5 only).
    """

    name: str
    checksum: str
    url: str
    algorithm: str = "sha256"


@dataclass(frozen=True)
class DatasetSpec:
    """A data set by name: its files, where they come from and under which licence."""

    name: str
    files: tuple[DataFile, ...]
    source: str
    license: str


def search_dirs() -> list[Path]:
    """The folders searched for data, in order: each of ``$DLF_DATA`` (``:``-joined), the cache.

    Example: ``DLF_DATA=/a:/b`` -> ``[Path('/a'), Path('/b'), Path('~/.cache/dlf').expanduser()]``.
    """
    dirs = [Path(p).expanduser() for p in os.environ.get("DLF_DATA", "").split(os.pathsep) if p]
    return [*dirs, cache_dir()]


def cache_dir() -> Path:
    """``~/.cache/dlf``: where downloads go."""
    return Path("~/.cache/dlf").expanduser()


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB blocks (``"sha256"`` or ``"md5"``)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_verified: dict[tuple[str, int, int], str] = {}


def verify(path: Path, file: DataFile) -> None:
    """Raise ChecksumError unless ``path`` has ``file``'s published checksum.

    The verdict is remembered per (path, size, mtime) for this process, so a data set is hashed
    once per process however often it is loaded.
    """
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if _verified.get(key) == file.checksum:
        return
    actual = file_digest(path, file.algorithm)
    if actual != file.checksum:
        raise ChecksumError(
            f"{path}: {file.algorithm} is {actual}, expected {file.checksum}; the file is "
            "corrupt or a different version. Delete it (it will be downloaded again) or replace "
            "it with the original."
        )
    _verified[key] = file.checksum


def download(url: str, dest: Path, file: DataFile, timeout: float = 60.0) -> None:
    """Download ``url`` to ``dest``: into a temporary file beside it, checked, then renamed."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            shutil.copyfileobj(response, out)
        actual = file_digest(Path(tmp), file.algorithm)
        if actual != file.checksum:
            raise ChecksumError(
                f"download of {url} has {file.algorithm} {actual}, expected {file.checksum}; "
                "not used. The source may have changed: place the original file by hand."
            )
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def locate(spec: DatasetSpec) -> dict[str, Path]:
    """Paths of every file of ``spec``, verified; downloads what is missing unless offline.

    Returns ``{file name: path}``. Raises ChecksumError for a wrong file on disk and
    DatasetNotFound, naming the folders searched and the files to place there, when a file is
    neither on disk nor downloadable.
    """
    dirs = search_dirs()
    found: dict[str, Path] = {}
    missing: list[DataFile] = []
    for file in spec.files:
        for d in dirs:
            candidate = d / spec.name / file.name
            if candidate.is_file():
                verify(candidate, file)
                found[file.name] = candidate
                break
        else:
            missing.append(file)
    if not missing:
        return found
    reason = "downloads are off (DLF_OFFLINE=1)"
    if os.environ.get("DLF_OFFLINE", "") not in ("1", "true", "yes"):
        try:
            for file in missing:
                dest = cache_dir() / spec.name / file.name
                download(file.url, dest, file)
                found[file.name] = dest
            return found
        except ChecksumError:
            raise
        except OSError as err:  # URLError and socket errors are OSErrors
            reason = f"download failed ({getattr(err, 'reason', err)})"
    searched = ", ".join(str(d / spec.name) for d in dirs)
    names = ", ".join(f.name for f in missing)
    raise DatasetNotFound(
        f"data set '{spec.name}' not found: searched {searched}; {reason}. Place {names} in "
        f"<folder>/{spec.name}/ and set DLF_DATA=<folder> (source: {spec.source})."
    )
