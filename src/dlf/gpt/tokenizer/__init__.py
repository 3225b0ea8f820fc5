"""Tokenizers of Module 4: characters, and byte-level BPE (GPT-2 / GPT-4 style).

Pure Python (``regex`` for the split patterns): importing this package does not import torch.
"""

from dlf.gpt.tokenizer.bpe import BPETokenizer
from dlf.gpt.tokenizer.char import CharTokenizer
from dlf.gpt.tokenizer.pretokenize import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN

__all__ = ["GPT2_SPLIT_PATTERN", "GPT4_SPLIT_PATTERN", "BPETokenizer", "CharTokenizer"]
