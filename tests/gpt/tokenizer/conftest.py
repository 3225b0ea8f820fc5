"""Shared fixtures: GPT-2's files and Tiny Shakespeare via dlf.data (tests skip without them),
tiktoken's GPT-2 encoding built offline from the same files, and a small trained tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlf.gpt.tokenizer import BPETokenizer

from .samples import MULTILINGUAL, SPECIALS


def data_files(name: str) -> dict[str, Path]:
    """The verified files of data set ``name`` (no download: tests are offline); skips the test
    with the reason when they are not in ``$DLF_DATA``."""
    from dlf.data import DataError, dataset_files

    try:
        return dataset_files(name)
    except DataError as err:
        pytest.skip(f"data set {name!r} not available: {err}")


@pytest.fixture(scope="session")
def gpt2_files() -> tuple[Path, Path]:
    """(encoder.json, vocab.bpe) of GPT-2."""
    files = data_files("gpt2")
    return files["encoder.json"], files["vocab.bpe"]


@pytest.fixture(scope="session")
def gpt2(gpt2_files) -> BPETokenizer:
    return BPETokenizer.from_gpt2(*gpt2_files)


@pytest.fixture(scope="session")
def gpt2_ranks(gpt2_files) -> dict[bytes, int]:
    """GPT-2's token bytes -> id, read by tiktoken's own loader (with its own byte table: an
    independent reference for ours), with no download and no cache written."""
    pytest.importorskip("tiktoken")
    from dlf.bench.bpe import gpt2_ranks_by_tiktoken

    return gpt2_ranks_by_tiktoken(*gpt2_files)


@pytest.fixture(scope="session")
def tiktoken_gpt2(gpt2_files):
    """tiktoken's GPT-2 encoding built offline: its GPT-2 pattern, ranks and special token."""
    pytest.importorskip("tiktoken")
    from dlf.bench.bpe import tiktoken_gpt2 as build

    return build(*gpt2_files)


@pytest.fixture(scope="session")
def shakespeare() -> str:
    return data_files("tinyshakespeare")["input.txt"].read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def trained() -> BPETokenizer:
    """A GPT-4-split tokenizer of 400 tokens trained on multilingual text with 2 specials."""
    text = (MULTILINGUAL * 20 + "<|endoftext|>") * 3 + "def f(x):\n    return x ** 2\n" * 10
    return BPETokenizer.train(text, 400, pattern="gpt4", special_tokens=SPECIALS)
