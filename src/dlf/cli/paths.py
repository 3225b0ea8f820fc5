"""Paths given on the command line that ``dlf`` will write to, checked before any work starts."""

from __future__ import annotations

import os
from pathlib import Path

from dlf.cli.errors import UsageError


def _writable_parent(path: Path, option: str) -> None:
    """Refuse ``path`` if the folder it would be made in cannot be: the nearest existing
    ancestor must be a folder this process may write into.

    Example: ``/etc/passwd/runs`` -> UsageError (``/etc/passwd`` is a file).
    """
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(f"{option} {path}: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: no permission to write in {ancestor}")


def writable_folder(text: str, option: str) -> Path:
    """A folder to write in (made if missing): ``text`` must not name a file, and where it
    would be made must be writable. Example: ``--runs-dir /etc/passwd`` -> UsageError."""
    path = Path(text).expanduser()
    if path.exists():
        if not path.is_dir():
            raise UsageError(f"{option} {text} is a file, not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise UsageError(f"{option} {text}: no permission to write in it")
        return path
    _writable_parent(path, option)
    return path


def writable_file(text: str, option: str) -> Path:
    """A file to write (replaced if it exists): ``text`` must not name a folder, and its folder
    must be writable or makeable. Example: ``--out runs/`` (a folder) -> UsageError."""
    path = Path(text).expanduser()
    if path.is_dir():
        raise UsageError(f"{option} {text} is a folder: give a file name, e.g. {path / 'x.json'}")
    _writable_parent(path, option)
    return path
