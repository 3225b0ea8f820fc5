"""The peer of ``dlf bench gpt``: a GPT as a user writes it after the "Let's build GPT" lecture.

Pre-norm blocks with one q/k/v projection, PyTorch's fused causal
``scaled_dot_product_attention``, a GELU MLP four times as wide, learned positions, a final
LayerNorm and a linear head; trained in float32 with ``torch.optim.AdamW`` and nothing else (no
clipping, no schedule, no autocast), on random windows drawn with replacement (``get_batch``).
Shapes: ids (B, T) -> logits (B, T, V).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class PlainBlock(nn.Module):
    """x + attn(ln_1(x)), then x + mlp(ln_2(x)); x (B, T, C)."""

    def __init__(self, n_embd: int, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.ln_1 = nn.LayerNorm(n_embd)
        self.qkv = nn.Linear(n_embd, 3 * n_embd)
        self.proj = nn.Linear(n_embd, n_embd)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd)
        )

    def forward(self, x: Tensor) -> Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.mlp(self.ln_2(x))


class PlainGPT(nn.Module):
    """Token and position embeddings, ``n_layer`` blocks, LayerNorm, head: (B, T) -> (B, T, V)."""

    def __init__(self, vocab_size: int, block_size: int, n_layer: int, n_head: int, n_embd: int):
        super().__init__()
        self.token = nn.Embedding(vocab_size, n_embd)
        self.position = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*(PlainBlock(n_embd, n_head) for _ in range(n_layer)))
        self.ln_f = nn.LayerNorm(n_embd)
        self.head = nn.Linear(n_embd, vocab_size)

    def forward(self, idx: Tensor) -> Tensor:
        positions = torch.arange(idx.shape[1], device=idx.device)
        x = self.token(idx) + self.position(positions)
        return self.head(self.ln_f(self.blocks(x)))


def plain_step(model: PlainGPT, optimizer: torch.optim.Optimizer, x: Tensor, y: Tensor) -> float:
    """One training step: cross-entropy of the next ids, backward, AdamW; returns the loss."""
    logits = model(x)
    loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.reshape(-1))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def get_batch(
    tokens: Tensor, block_size: int, batch_size: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """``batch_size`` random windows of ``tokens`` (1-D int64): x (B, T) and y (B, T), y the ids
    one place after x's."""
    starts = torch.randint(len(tokens) - block_size, (batch_size,), generator=generator)
    x = torch.stack([tokens[i : i + block_size] for i in starts.tolist()])
    y = torch.stack([tokens[i + 1 : i + block_size + 1] for i in starts.tolist()])
    return x, y
