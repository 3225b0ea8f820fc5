"""Shared fixtures: GPT-2's files and Tiny Shakespeare via dlf.data (tests skip without them),
tiktoken's GPT-2 encoding built offline from the same files, and a small trained tokenizer."""

from __future__ import annotations

import os
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
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    encoder_json, vocab_bpe = gpt2_files
    old = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = ""  # "" = read the files directly, cache nothing
    try:
        return data_gym_to_mergeable_bpe_ranks(str(vocab_bpe), str(encoder_json))
    finally:
        if old is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def tiktoken_gpt2(gpt2_ranks):
    """tiktoken's GPT-2 encoding built offline: its GPT-2 pattern, ranks and special token."""
    tiktoken = pytest.importorskip("tiktoken")
    from tiktoken_ext.openai_public import r50k_pat_str

    return tiktoken.Encoding(
        "gpt2-offline",
        pat_str=r50k_pat_str,
        mergeable_ranks=gpt2_ranks,
        special_tokens={"<|endoftext|>": 50256},
        explicit_n_vocab=50257,
    )


@pytest.fixture(scope="session")
def shakespeare() -> str:
    return data_files("tinyshakespeare")["input.txt"].read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def trained() -> BPETokenizer:
    """A GPT-4-split tokenizer of 400 tokens trained on multilingual text with 2 specials."""
    text = (MULTILINGUAL * 20 + "<|endoftext|>") * 3 + "def f(x):\n    return x ** 2\n" * 10
    return BPETokenizer.train(text, 400, pattern="gpt4", special_tokens=SPECIALS)
