"""Where a token is: three ways to tell a permutation-blind attention layer about order.

- ``SinusoidalPositionalEncoding``: the paper's fixed encoding (section 3.5), added to embeddings.
- ``LearnedPositionalEmbedding``: one trained vector per position, added to embeddings (the
  paper's alternative, "nearly identical results"); it knows no position beyond ``max_len``.
- ``RotaryEmbedding`` (RoPE, Su et al. 2021): rotates queries and keys inside attention so that
  q_m . k_n depends on m - n only.
- ``NoPositionalEncoding``: nothing; attention then sees a bag of tokens.

``POSITIONAL_ENCODINGS`` names them all; a model builds the one its config names with
``positional_encoding(name, d_model, n_heads, max_len)`` and reads ``inside_attention`` to know
where it goes: added to the token embeddings (False), or applied to each head's queries and keys
(True). A new encoding is a class here with ``inside_attention``, ``build`` and
``forward(x, offset=0)``, plus one line in ``POSITIONAL_ENCODINGS``.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn


def position_angles(n_positions: int, dim: int, base: float = 10000.0) -> Tensor:
    """The (n_positions, dim / 2) float64 table of angles pos * base^(-2i / dim), i < dim / 2:
    the frequencies of the sinusoidal encoding and of RoPE alike.

    Example: ``position_angles(3, 4, base=100)`` -> ``[[0, 0], [1, 0.1], [2, 0.2]]``.
    """
    if dim % 2:
        raise ValueError(f"the dimension must be even (sin/cos pairs), got {dim}")
    position = torch.arange(n_positions, dtype=torch.float64)[:, None]
    return position * base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)


def sinusoidal_table(n_positions: int, d_model: int, base: float = 10000.0) -> Tensor:
    """The (n_positions, d_model) float64 table of the paper's positional encoding.

        PE(pos, 2i)     = sin(pos / base^(2i / d_model))
        PE(pos, 2i + 1) = cos(pos / base^(2i / d_model))

    Example: ``sinusoidal_table(2, 2)`` -> ``[[sin 0, cos 0], [sin 1, cos 1]]``
    = ``[[0, 1], [0.841, 0.540]]``.
    """
    angles = position_angles(n_positions, d_model, base)
    return torch.stack((angles.sin(), angles.cos()), dim=-1).flatten(-2)  # interleave


class NoPositionalEncoding(nn.Module):
    """x unchanged: no positional information. ``forward(x, offset=0)``: (B, L, d) -> same."""

    inside_attention: ClassVar[bool] = False

    @classmethod
    def build(cls, d_model: int, n_heads: int, max_len: int) -> NoPositionalEncoding:
        return cls()

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        return x


class SinusoidalPositionalEncoding(nn.Module):
    """x + PE[offset : offset + L], with PE the fixed sinusoidal table (no parameters).

    ``forward(x, offset=0)``: x (B, L, d_model) -> (B, L, d_model). The table grows on demand,
    so sequences longer than ``max_len`` work (length extrapolation).
    """

    inside_attention: ClassVar[bool] = False

    @classmethod
    def build(cls, d_model: int, n_heads: int, max_len: int) -> SinusoidalPositionalEncoding:
        return cls(d_model, max_len)

    def __init__(self, d_model: int, max_len: int = 1024, base: float = 10000.0) -> None:
        super().__init__()
        if d_model % 2:
            raise ValueError(
                f"sinusoids come in sin/cos pairs: d_model must be even, got {d_model}"
            )
        self.d_model, self.max_len, self.base = d_model, max_len, base
        # A plain attribute, not a buffer: rebuilt from the float64 table for x's device and
        # dtype (no float64 buffer that a float32-only device such as MPS would refuse).
        self.table = sinusoidal_table(max_len, d_model, base)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        end = offset + x.size(-2)
        stale = (self.table.device, self.table.dtype) != (x.device, x.dtype)
        if stale or self.table.size(0) < end:
            n = max(end, self.max_len)
            self.table = sinusoidal_table(n, self.d_model, self.base).to(x.device, x.dtype)
        return x + self.table[offset:end]


class LearnedPositionalEmbedding(nn.Module):
    """x + P[offset : offset + L], with P a trained (max_len, d_model) table, ``weight``.

    ``forward(x, offset=0)``: x (B, L, d_model) -> (B, L, d_model). The table is the module's
    own ``weight``, so a GPT that keeps this module as ``transformer.wpe`` has GPT-2's name for
    it, ``transformer.wpe.weight``.
    """

    inside_attention: ClassVar[bool] = False

    @classmethod
    def build(cls, d_model: int, n_heads: int, max_len: int) -> LearnedPositionalEmbedding:
        return cls(max_len, d_model)

    def __init__(self, max_len: int, d_model: int) -> None:
        super().__init__()
        self.max_len = max_len
        self.weight = nn.Parameter(torch.empty(max_len, d_model))
        nn.init.normal_(self.weight, std=d_model**-0.5)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        end = offset + x.size(-2)
        if end > self.max_len:
            raise ValueError(
                f"learned positions exist only up to max_len={self.max_len}, but position "
                f"{end - 1} was asked for: raise max_len in the config (positions it never saw "
                "in training stay untrained), or use 'sinusoidal' or 'rope' to extrapolate"
            )
        return x + self.weight[offset:end].to(x.dtype)


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

    inside_attention: ClassVar[bool] = True

    @classmethod
    def build(cls, d_model: int, n_heads: int, max_len: int) -> RotaryEmbedding:
        return cls(d_model // n_heads, max_len=max_len)

    def __init__(self, head_dim: int, base: float = 10000.0, max_len: int = 1024) -> None:
        super().__init__()
        if head_dim % 2:
            raise ValueError(
                f"RoPE rotates pairs of features, so the head dimension must be even, got "
                f"{head_dim}: choose d_model / n_heads even"
            )
        self.head_dim, self.base, self.max_len = head_dim, base, max_len
        angles = position_angles(max_len, head_dim, base)
        self.cos, self.sin = angles.cos(), angles.sin()  # plain attributes, as in the sinusoids

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        if x.size(-1) != self.head_dim:
            raise ValueError(f"expected last dimension {self.head_dim}, got {tuple(x.shape)}")
        end = offset + x.size(-2)
        stale = (self.cos.device, self.cos.dtype) != (x.device, x.dtype)
        if stale or self.cos.size(0) < end:
            angles = position_angles(max(end, self.max_len), self.head_dim, self.base)
            self.cos = angles.cos().to(x.device, x.dtype)
            self.sin = angles.sin().to(x.device, x.dtype)
        cos, sin = self.cos[offset:end], self.sin[offset:end]  # (L, d/2)
        x_even, x_odd = x[..., 0::2], x[..., 1::2]
        rotated = torch.stack((x_even * cos - x_odd * sin, x_even * sin + x_odd * cos), dim=-1)
        return rotated.flatten(-2)


POSITIONAL_ENCODINGS: dict[str, type[nn.Module]] = {
    "none": NoPositionalEncoding,
    "sinusoidal": SinusoidalPositionalEncoding,
    "learned": LearnedPositionalEmbedding,
    "rope": RotaryEmbedding,
}


def positional_encoding(name: str, d_model: int, n_heads: int, max_len: int) -> nn.Module:
    """The encoding registered as ``name``, built for a model of width ``d_model`` with
    ``n_heads`` heads that knows ``max_len`` positions; ``.inside_attention`` says where it goes.

    Example: ``positional_encoding("rope", 64, 4, 128)`` -> ``RotaryEmbedding(16, max_len=128)``;
    an unknown name is a ValueError that lists the registered ones.
    """
    if name not in POSITIONAL_ENCODINGS:
        raise ValueError(
            f"no positional encoding named {name!r}; known: {', '.join(POSITIONAL_ENCODINGS)}"
        )
    return POSITIONAL_ENCODINGS[name].build(d_model, n_heads, max_len)
