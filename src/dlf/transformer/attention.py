"""Scaled dot-product attention (Vaswani et al. 2017, section 3.2.1) and the masks it takes.

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V

Masks follow PyTorch's convention: a boolean tensor, ``True`` where a query may attend to a key.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor


def scaled_dot_product_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    dropout: Callable[[Tensor], Tensor] | None = None,
) -> tuple[Tensor, Tensor]:
    """softmax(Q K^T / sqrt(d)) V, returning the output and the attention weights.

    Shapes: ``q`` (..., L, d), ``k`` (..., S, d), ``v`` (..., S, dv); the leading dimensions
    broadcast. ``mask``: boolean, broadcastable to (..., L, S), True where query i may attend to
    key j. ``dropout``: applied to the weights before they multiply V (e.g. an ``nn.Dropout``).

    Returns ``(output, weights)``: output (..., L, dv) and weights (..., L, S), the softmax
    probabilities before dropout (each row sums to 1; masked keys get exactly 0).

    A query whose keys are all masked has nothing to attend to: its weights and its output are 0,
    never NaN (softmax over an empty set is undefined, so we define it as no attention at all).
    """
    if q.size(-1) != k.size(-1):
        raise ValueError(
            f"q and k must share their last dimension d, got q {tuple(q.shape)} and "
            f"k {tuple(k.shape)}: project them to the same size first"
        )
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (..., L, S)
    if mask is not None:
        if mask.dtype != torch.bool:
            raise TypeError(
                f"mask must be boolean (True = may attend), got {mask.dtype}; "
                "build one with causal_mask or padding_mask, or compare with `!= 0`"
            )
        # Masked scores become the most negative finite number, whatever they were (even inf
        # or NaN): beside any key that may be attended, exp() makes their weight exactly 0. Not
        # -inf: a fully masked row then stays finite, and is zeroed below without a NaN, in
        # the forward pass and in the gradient.
        scores = torch.where(mask, scores, torch.finfo(scores.dtype).min)
    weights = scores.softmax(dim=-1)
    if mask is not None:
        weights = weights * mask.any(dim=-1, keepdim=True)  # a query with no key: no attention
    attended = dropout(weights) if dropout is not None else weights
    return attended @ v, weights


def causal_mask(L: int, S: int | None = None, device: torch.device | str | None = None) -> Tensor:
    """Boolean (L, S) mask letting query i attend to keys j <= i + (S - L): no looking ahead.

    With ``S = L`` (the default) this is the lower triangle. With ``S > L`` the L queries are
    taken to be the *last* L of the S positions (a decoder step with cached keys), so the last
    query sees every key. (PyTorch's ``is_causal=True`` aligns the other way, to the top-left.)

    Example: ``causal_mask(3)`` -> ``[[T, F, F], [T, T, F], [T, T, T]]``;
    ``causal_mask(1, 3)`` -> ``[[T, T, T]]``.
    """
    S = L if S is None else S
    return torch.ones(L, S, dtype=torch.bool, device=device).tril(diagonal=S - L)


def padding_mask(tokens: Tensor, pad_id: int) -> Tensor:
    """Boolean (B, 1, 1, S) mask, True at the real (non-padding) tokens of ``tokens`` (B, S).

    The two singleton axes broadcast over heads and queries, so every query ignores pad keys.
    Combine with a causal mask by ``&``: (T, T) & (B, 1, 1, T) -> (B, 1, T, T).

    Example: ``padding_mask(tensor([[5, 6, 0]]), pad_id=0)`` -> ``[[[[T, T, F]]]]``.
    """
    return (tokens != pad_id)[:, None, None, :]


def length_mask(lengths: Tensor, max_len: int | None = None) -> Tensor:
    """Boolean (B, 1, 1, S) mask, True at the first ``lengths[b]`` positions of each row.

    ``S = max_len`` or, if not given, ``max(lengths)``.

    Example: ``length_mask(tensor([2, 3]))`` -> ``[[[[T, T, F]]], [[[T, T, T]]]]``.
    """
    S = int(lengths.max()) if max_len is None else max_len
    positions = torch.arange(S, device=lengths.device)
    return (positions[None, :] < lengths[:, None])[:, None, None, :]
