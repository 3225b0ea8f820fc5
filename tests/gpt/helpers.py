"""Tiny GPTs and token streams shared by the GPT tests."""

from __future__ import annotations

import numpy as np
import torch

from dlf.gpt.model import GPT, GPTConfig


def tiny_config(**changes) -> GPTConfig:
    """A 2-layer, 32-wide GPT over 13 tokens with a context of 12."""
    base = dict(block_size=12, vocab_size=13, n_layer=2, n_head=4, n_embd=32, dropout=0.0)
    return GPTConfig(**{**base, **changes})


def tiny_gpt(seed: int = 0, dtype: torch.dtype = torch.float64, **changes) -> GPT:
    torch.manual_seed(seed)
    return GPT(tiny_config(**changes)).to(dtype)


def token_stream(n: int, vocab_size: int = 13, seed: int = 0) -> np.ndarray:
    """A learnable stream: a noisy counter modulo vocab_size (int64, shape (n,))."""
    rng = np.random.default_rng(seed)
    steps = rng.choice([1, 1, 1, 2], size=n)
    return (np.cumsum(steps) % vocab_size).astype(np.int64)
