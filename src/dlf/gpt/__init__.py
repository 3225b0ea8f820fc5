"""Module 4: language models (tokenizers; the GPT model is added next to them)."""

from dlf.gpt.tokenizer import BPETokenizer, CharTokenizer

__all__ = ["BPETokenizer", "CharTokenizer"]
