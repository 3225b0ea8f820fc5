"""Autoregressive generation, one token at a time, for any model behind a ``step_fn``.

The model is seen only through ``step_fn(ids, cache) -> (logits, cache)``:

- ``ids``: the whole sequence so far, prompt included, int64 of shape ``(B, T)``.
- ``cache``: ``None`` on the first call, then whatever the previous call returned. A model with a
  KV cache feeds only the tokens it has not seen (``ids[:, cached_length:]``) and returns the
  grown cache; a model without one ignores it, recomputes from ``ids`` and returns ``None``.
  Cropping to the model's context (``block_size``) is the step_fn's business too.
- ``logits``: next-token logits for the last position only, shape ``(B, V)``.

So the GPT (decoder-only) and the encoder-decoder Transformer (whose step_fn closes over the
encoder memory) are driven the same way, here and by :func:`dlf.sampling.beam_search`.
Example step_fn for a GPT-like model without cache::

    def step_fn(ids, cache):
        logits = model(ids[:, -block_size:])  # (B, T, V)
        return logits[:, -1, :], None
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import torch

from dlf.sampling.filters import apply_repetition_penalty
from dlf.sampling.strategies import greedy

StepFn = Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]]
Strategy = Callable[[torch.Tensor], torch.Tensor]


def as_prompt(prompt_ids: torch.Tensor | Sequence[int]) -> torch.Tensor:
    """A prompt as an int64 tensor of shape ``(1, T)``; accepts ``(T,)``, ``(1, T)`` or a list.

    Example: ``as_prompt([5, 7])`` -> ``tensor([[5, 7]])``.
    """
    ids = torch.as_tensor(prompt_ids, dtype=torch.long)
    if ids.dim() == 1:
        ids = ids.unsqueeze(0)
    if ids.dim() != 2 or ids.shape[0] != 1:
        raise ValueError(
            f"prompt_ids must be one sequence, shape (T,) or (1, T); got {tuple(ids.shape)}"
        )
    if ids.shape[1] == 0:
        raise ValueError("prompt_ids is empty: start from at least one token (e.g. BOS or '\\n')")
    return ids


def last_position_logits(logits: torch.Tensor, batch: int) -> torch.Tensor:
    """Check and reshape a step_fn's logits to ``(batch, V)``; ``(V,)`` is accepted for batch 1."""
    if logits.dim() == 1 and batch == 1:
        logits = logits.unsqueeze(0)
    if logits.dim() != 2 or logits.shape[0] != batch:
        raise ValueError(
            f"step_fn returned logits of shape {tuple(logits.shape)}; it must return the logits "
            f"of the last position only, shape ({batch}, V) (e.g. logits[:, -1, :])"
        )
    return logits


def suffix_prefix_overlap(tokens: Sequence[int], stops: Iterable[Sequence[int]]) -> int:
    """Length of the longest suffix of ``tokens`` that is a proper prefix of some stop sequence.

    Those tokens may still become a stop sequence, so they are held back, not yet yielded.
    Example: ``suffix_prefix_overlap([4, 1, 2], [[1, 2, 3]])`` -> ``2``.
    """
    best = 0
    for stop in stops:
        for m in range(min(len(stop) - 1, len(tokens)), best, -1):
            if list(tokens[len(tokens) - m :]) == list(stop[:m]):
                best = m
                break
    return best


@torch.no_grad()
def generate(
    step_fn: StepFn,
    prompt_ids: torch.Tensor | Sequence[int],
    max_new_tokens: int,
    strategy: Strategy = greedy,
    stop_ids: Iterable[int] = (),
    stop_sequences: Iterable[Sequence[int]] = (),
    include_stop: bool = False,
    repetition_penalty: float = 1.0,
) -> Iterator[int]:
    """Yield up to ``max_new_tokens`` new token ids, one at a time (so a caller can stream).

    Each step: ``z = step_fn(ids, cache)``; if ``repetition_penalty != 1``, CTRL's penalty on every
    token of ``ids`` (prompt included); ``x_{t+1} = strategy(z)``; append. ``strategy`` maps
    logits ``(1, V)`` to one id: :func:`greedy` or ``functools.partial(sample, ...)``.

    Stopping: after an end-of-sequence token in ``stop_ids``, or when the generated tokens end
    with one of ``stop_sequences`` (token lists; only generated tokens are matched, not the
    prompt). The stop token or sequence is not yielded unless ``include_stop=True``; to get that
    right, tokens that could be the start of a stop sequence are held back until they are known
    not to be. ``step_fn`` is called once per generated token.
    Shapes: ``prompt_ids`` ``(T,)``, ``(1, T)`` or a list of ints; its device is used for ``ids``.
    Example: ``list(generate(step_fn, [0], 10, stop_ids=[2]))`` -> ``[5, 7]`` when the model
    would produce 5, 7, 2, ...
    """
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    prompt = as_prompt(prompt_ids)
    stops = [[int(t)] for t in stop_ids] + [[int(t) for t in s] for s in stop_sequences]
    if any(len(s) == 0 for s in stops):
        raise ValueError("a stop sequence is empty: give at least one token per stop sequence")
    n_prompt = prompt.shape[1]
    buffer = torch.empty(1, n_prompt + max_new_tokens, dtype=torch.long, device=prompt.device)
    buffer[:, :n_prompt] = prompt
    generated: list[int] = []
    held = 0  # the last `held` generated tokens are not yielded yet
    cache = None
    for step in range(max_new_tokens):
        ids = buffer[:, : n_prompt + step]
        logits, cache = step_fn(ids, cache)
        logits = last_position_logits(logits, 1)
        if repetition_penalty != 1.0:
            logits = apply_repetition_penalty(logits, ids, repetition_penalty)
        token = strategy(logits)
        if token.numel() != 1:
            raise ValueError(f"strategy returned {token.numel()} ids for one sequence; want 1")
        token = int(token.reshape(()))
        buffer[0, n_prompt + step] = token
        generated.append(token)
        held += 1
        matched = max((s for s in stops if generated[-len(s) :] == s), key=len, default=None)
        if matched is not None:
            end = len(generated) if include_stop else len(generated) - len(matched)
            yield from generated[len(generated) - held : max(end, len(generated) - held)]
            return
        keep = suffix_prefix_overlap(generated[len(generated) - held :], stops)
        yield from generated[len(generated) - held : len(generated) - keep]
        held = keep
    yield from generated[len(generated) - held :]
