"""Decoding strategies: turn next-token logits ``(..., V)`` into token ids ``(...)``.

A strategy is any callable ``logits -> ids``; :func:`generate` takes one. To fix the sampling
settings, bind them with :func:`functools.partial`::

    strategy = functools.partial(sample, temperature=0.8, top_p=0.9, generator=g)
"""

from __future__ import annotations

import torch

from dlf.sampling.filters import apply_temperature, filter_logits


def greedy(logits: torch.Tensor) -> torch.Tensor:
    """The most probable token: ``argmax_i z_i`` (the lowest id among ties).

    Shapes: ``(..., V) -> (...)`` (int64).
    Example: ``greedy(tensor([[0.1, 2.0, 2.0]]))`` -> ``tensor([1])``.
    """
    return torch.argmax(logits, dim=-1)


def sample(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw one token per row from ``softmax(filter(z / T))``.

    Order: temperature, then top-k, then top-p (as in :func:`filter_logits`), then one draw from
    the renormalised distribution. ``temperature = 0`` means greedy (the limit ``T -> 0``).
    Pass a seeded ``torch.Generator`` (on the logits' device) for reproducible draws.
    Shapes: ``(..., V) -> (...)`` (int64).
    Example: ``sample(tensor([0., 0., 5.]), top_k=1)`` -> ``tensor(2)``.
    """
    if temperature == 0:
        return greedy(logits)
    logits = filter_logits(apply_temperature(logits, temperature), top_k=top_k, top_p=top_p)
    probs = torch.softmax(logits.float(), dim=-1)
    flat = probs.reshape(-1, probs.shape[-1])
    ids = torch.multinomial(flat, num_samples=1, generator=generator)
    return ids.reshape(probs.shape[:-1])
