"""Shared fixtures: GPT-2's files and Tiny Shakespeare from $DLF_DATA (tests skip without them),
tiktoken's GPT-2 encoding built offline from the same files, and a small trained tokenizer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dlf.gpt.tokenizer import BPETokenizer

SPECIALS = ["<|endoftext|>", "<|pad|>"]

# Text with multi-byte characters, so that a trained vocabulary holds merges inside them.
MULTILINGUAL = (
    "Grüße aus Köln! Ça va très bien, naïve café. Ελληνικά γράμματα. Русский текст здесь. "
    "日本語のテキストと漢字。中文文本。한국어 텍스트. emoji 🎉🎉 👍🏽 🇫🇷 and 2024-06-01 12:30.\n"
)


def data_file(*parts: str) -> Path:
    """The first ``$DLF_DATA`` folder holding ``parts``; skips the test when none does."""
    folders = [Path(p) for p in os.environ.get("DLF_DATA", "").split(os.pathsep) if p]
    for folder in folders:
        if (folder.joinpath(*parts)).is_file():
            return folder.joinpath(*parts)
    pytest.skip(
        f"{'/'.join(parts)} not found in DLF_DATA={os.environ.get('DLF_DATA', '')!r}; "
        "set DLF_DATA to the folder holding the data sets"
    )


@pytest.fixture(scope="session")
def gpt2_files() -> tuple[Path, Path]:
    """(encoder.json, vocab.bpe) of GPT-2."""
    return data_file("gpt2", "encoder.json"), data_file("gpt2", "vocab.bpe")


@pytest.fixture(scope="session")
def gpt2(gpt2_files) -> BPETokenizer:
    return BPETokenizer.from_gpt2(*gpt2_files)


@pytest.fixture(scope="session")
def tiktoken_gpt2(gpt2_files):
    """tiktoken's GPT-2 encoding, built from the files with tiktoken's own loader (its own
    byte table and pattern: independent of ours), with no download and no cache written."""
    tiktoken = pytest.importorskip("tiktoken")
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
    from tiktoken_ext.openai_public import r50k_pat_str

    encoder_json, vocab_bpe = gpt2_files
    old = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = ""  # "" = read the files directly, cache nothing
    try:
        ranks = data_gym_to_mergeable_bpe_ranks(str(vocab_bpe), str(encoder_json))
    finally:
        if old is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = old
    return tiktoken.Encoding(
        "gpt2-offline",
        pat_str=r50k_pat_str,
        mergeable_ranks=ranks,
        special_tokens={"<|endoftext|>": 50256},
        explicit_n_vocab=50257,
    )


@pytest.fixture(scope="session")
def shakespeare() -> str:
    return data_file("tinyshakespeare", "input.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def trained() -> BPETokenizer:
    """A GPT-4-split tokenizer of 400 tokens trained on multilingual text with 2 specials."""
    text = (MULTILINGUAL * 20 + "<|endoftext|>") * 3 + "def f(x):\n    return x ** 2\n" * 10
    return BPETokenizer.train(text, 400, pattern="gpt4", special_tokens=SPECIALS)
