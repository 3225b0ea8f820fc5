"""Text corpora by name."""

from __future__ import annotations

from dlf.data.registry import dataset_files


def load_text(name: str = "tinyshakespeare") -> str:
    """The whole corpus as one string. ``"tinyshakespeare"``: 1,115,394 characters."""
    if name != "tinyshakespeare":
        raise ValueError(f"no text corpus named '{name}'; known: tinyshakespeare")
    return dataset_files(name)["input.txt"].read_text(encoding="utf-8")
