"""Language-model batches from one long 1-D array of token ids.

An example is a window of ``block_size + 1`` consecutive tokens: its first ``block_size`` are the
input ``x`` and its last ``block_size`` the targets ``y`` (x shifted by one), so every position t
is trained to predict token t + 1. Every start position is an example (as in nanoGPT's random
offsets); an epoch visits each one once, in a seeded random order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor


def split_point(n: int, val_fraction: float) -> int:
    """Where a contiguous train/validation split of ``n`` items cuts: ``round(n * (1 - f))``.

    Items ``[0, cut)`` train, ``[cut, n)`` validate. Example: ``split_point(10, 0.1)`` -> ``9``.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    return int(round(n * (1.0 - val_fraction)))


def split_tokens(tokens: np.ndarray | Sequence[int], val_fraction: float = 0.1):
    """Contiguous split: the first ``1 - val_fraction`` of the tokens train, the rest validate.

    No window crosses the boundary, since each part becomes its own ``TokenDataset``: no
    validation token is ever a training target. Returns ``(train, val)`` int64 arrays.
    Example: ``split_tokens(np.arange(10), 0.1)`` -> ``(array([0..8]), array([9]))``.
    """
    tokens = np.asarray(tokens, dtype=np.int64)
    if tokens.ndim != 1:
        raise ValueError(f"tokens must be one 1-D sequence, got shape {tokens.shape}")
    n_train = split_point(len(tokens), val_fraction)
    return tokens[:n_train], tokens[n_train:]


def split_text(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """The same contiguous split on characters, before tokenizing: ``(train text, val text)``.

    Splitting the text (not its tokens) lets a tokenizer be trained on the training part alone,
    and gives every tokenizer the very same validation characters, so losses per character
    compare across tokenizers. Example: ``split_text("abcdefghij", 0.1)`` -> ``("abcdefghi",
    "j")``.
    """
    cut = split_point(len(text), val_fraction)
    return text[:cut], text[cut:]


class TokenDataset:
    """All windows of a 1-D token array: example i is ``(tokens[i : i+T], tokens[i+1 : i+T+1])``.

    ``len`` = ``len(tokens) - block_size`` examples. ``batch(indices)``: int64 (B,) example
    indices -> ``(x, y)``, each int64 (B, T) on ``device``.
    Example: tokens ``[5, 6, 7, 8]``, block_size 2: example 1 is ``([6, 7], [7, 8])``.
    """

    def __init__(self, tokens: np.ndarray | Sequence[int] | Tensor, block_size: int) -> None:
        self.tokens = torch.as_tensor(np.asarray(tokens), dtype=torch.long)
        if self.tokens.dim() != 1:
            raise ValueError(f"tokens must be 1-D, got shape {tuple(self.tokens.shape)}")
        if len(self.tokens) < block_size + 1:
            raise ValueError(
                f"{len(self.tokens)} tokens are fewer than one block of block_size + 1 = "
                f"{block_size + 1}: use a longer text or a smaller block_size"
            )
        self.block_size = block_size
        self.windows = self.tokens.unfold(0, block_size + 1, 1)  # (len, T + 1), a view

    def __len__(self) -> int:
        return len(self.windows)

    def batch(self, indices: np.ndarray | Tensor, device: torch.device | str = "cpu"):
        rows = self.windows[torch.as_tensor(np.asarray(indices), dtype=torch.long)]
        x, y = rows[:, :-1].contiguous(), rows[:, 1:].contiguous()
        return x.to(device), y.to(device)


class EpochSampler:
    """Batches of example indices drawn without replacement within an epoch, seeded.

    Epoch e is the permutation ``default_rng([seed, e]).permutation(n)``; it is cut into
    consecutive batches of ``batch_size`` and its last ``n % batch_size`` indices are dropped
    (so every batch is full). The state is two integers, ``(epoch, position)``, so a resumed
    run draws the very batches an uninterrupted one would.
    Example: ``EpochSampler(5, 2, seed=0)`` gives 2 batches per epoch, 4 distinct indices.
    """

    def __init__(self, n: int, batch_size: int, seed: int = 0) -> None:
        if batch_size > n:
            raise ValueError(
                f"batch of {batch_size} examples from a data set of {n}: lower the batch size "
                "or the block size, or give more text"
            )
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.epoch, self.position = 0, 0
        self.order = self.permutation(0)

    def permutation(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(self.n)

    def next_batch(self) -> np.ndarray:
        """The next ``batch_size`` indices (int64, distinct within the epoch)."""
        if self.position + self.batch_size > self.n:
            self.epoch, self.position = self.epoch + 1, 0
            self.order = self.permutation(self.epoch)
        batch = self.order[self.position : self.position + self.batch_size]
        self.position += self.batch_size
        return batch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self.order = self.permutation(self.epoch)
