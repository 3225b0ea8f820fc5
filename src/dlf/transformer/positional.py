"""Where a token is: three ways to tell a permutation-blind attention layer about order.

- ``SinusoidalPositionalEncoding``: the paper's fixed encoding (section 3.5), added to embeddings.
- ``LearnedPositionalEmbedding``: one trained vector per position, added to embeddings (the
  paper's alternative, "nearly identical results"); it knows no position beyond ``max_len``.
- ``RotaryEmbedding`` (RoPE, Su et al. 2021): rotates queries and keys inside attention so that
  q_m . k_n depends on m - n only.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def sinusoidal_table(n_positions: int, d_model: int, base: float = 10000.0) -> Tensor:
    """The (n_positions, d_model) float64 table of the paper's positional encoding.

        PE(pos, 2i)     = sin(pos / base^(2i / d_model))
        PE(pos, 2i + 1) = cos(pos / base^(2i / d_model))

    Example: ``sinusoidal_table(2, 2)`` -> ``[[sin 0, cos 0], [sin 1, cos 1]]``
    = ``[[0, 1], [0.841, 0.540]]``.
    """
    if d_model % 2:
        raise ValueError(f"d_model must be even for sin/cos pairs, got {d_model}")
    position = torch.arange(n_positions, dtype=torch.float64)[:, None]
    inv_freq = base ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    table = torch.empty(n_positions, d_model, dtype=torch.float64)
    table[:, 0::2] = torch.sin(position * inv_freq)
    table[:, 1::2] = torch.cos(position * inv_freq)
    return table


class SinusoidalPositionalEncoding(nn.Module):
    """x + PE[offset : offset + L], with PE the fixed sinusoidal table (no parameters).

    ``forward(x, offset=0)``: x (B, L, d_model) -> (B, L, d_model). The table grows on demand,
    so sequences longer than ``max_len`` work (length extrapolation).
    """

    def __init__(self, d_model: int, max_len: int = 1024, base: float = 10000.0) -> None:
        super().__init__()
        self.d_model, self.base = d_model, base
        self.register_buffer("pe", sinusoidal_table(max_len, d_model, base), persistent=False)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        end = offset + x.size(-2)
        if end > self.pe.size(0):
            self.pe = sinusoidal_table(2 * end, self.d_model, self.base).to(self.pe.device)
        return x + self.pe[offset:end].to(x.dtype)


class LearnedPositionalEmbedding(nn.Module):
    """x + P[offset : offset + L], with P a trained (max_len, d_model) table.

    ``forward(x, offset=0)``: x (B, L, d_model) -> (B, L, d_model).
    """

    def __init__(self, max_len: int, d_model: int) -> None:
        super().__init__()
        self.max_len = max_len
        self.embedding = nn.Embedding(max_len, d_model)
        nn.init.normal_(self.embedding.weight, std=d_model**-0.5)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        end = offset + x.size(-2)
        if end > self.max_len:
            raise ValueError(
                f"learned positions exist only up to max_len={self.max_len}, but position "
                f"{end - 1} was asked for: raise max_len in the config (positions it never saw "
                "in training stay untrained), or use 'sinusoidal' or 'rope' to extrapolate"
            )
        positions = torch.arange(offset, end, device=x.device)
        return x + self.embedding(positions).to(x.dtype)


class RotaryEmbedding(nn.Module):
    """RoPE: rotate each pair (x_2i, x_2i+1) of a query or key at position m by angle m*theta_i.

        theta_i = base^(-2i / d),  i = 0 .. d/2 - 1
        (x_2i, x_2i+1) -> (x_2i cos m theta_i - x_2i+1 sin m theta_i,
                           x_2i sin m theta_i + x_2i+1 cos m theta_i)

    Rotations compose, so (R_m q) . (R_n k) = q . R_{n-m} k: the attention score depends on the
    offset n - m only. Applied to q and k after the heads are split (not to v, not to the
    embeddings). No parameters.

    ``forward(x, offset=0)``: x (..., L, d) with d = head dimension (even) -> same shape, row l
    rotated as position ``offset + l``.
    """

    def __init__(self, head_dim: int, base: float = 10000.0) -> None:
        super().__init__()
        if head_dim % 2:
            raise ValueError(
                f"RoPE rotates pairs of features, so the head dimension must be even, got "
                f"{head_dim}: choose d_model / n_heads even"
            )
        self.head_dim = head_dim
        inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        if x.size(-1) != self.head_dim:
            raise ValueError(f"expected last dimension {self.head_dim}, got {tuple(x.shape)}")
        position = torch.arange(offset, offset + x.size(-2), device=x.device, dtype=torch.float64)
        angle = position[:, None] * self.inv_freq.to(torch.float64)[None, :]  # (L, d/2)
        cos, sin = torch.cos(angle).to(x.dtype), torch.sin(angle).to(x.dtype)
        x_even, x_odd = x[..., 0::2], x[..., 1::2]
        rotated = torch.stack((x_even * cos - x_odd * sin, x_even * sin + x_odd * cos), dim=-1)
        return rotated.flatten(-2)
