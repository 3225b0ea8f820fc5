"""Logit processors: temperature, top-k, top-p (nucleus) and the repetition penalty.

Each takes next-token logits of shape ``(..., V)`` and returns new logits of the same shape; none
changes its input in place. Tokens that a filter removes get logit ``-inf`` (probability 0 after
the softmax), so the filters compose: ``filter_logits(apply_temperature(z, 0.8), top_p=0.9)``.
"""

from __future__ import annotations

import torch

NEG_INF = float("-inf")


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Scale logits by ``1 / temperature``: ``softmax(z / T)``.

    ``T < 1`` sharpens the distribution towards the argmax, ``T > 1`` flattens it towards uniform.
    Shapes: ``(..., V) -> (..., V)``.
    Example: ``apply_temperature(tensor([2.0, 0.0]), 0.5)`` -> ``tensor([4.0, 0.0])``.
    """
    if not temperature > 0:
        raise ValueError(
            f"temperature must be > 0, got {temperature}; for temperature 0 use greedy decoding"
        )
    return logits / temperature


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` largest logits of each row, set the others to ``-inf``.

    Rule: keep token ``i`` iff ``z_i >= z_(k)``, the k-th largest value of its row. Ties at the
    k-th value are all kept (so more than ``k`` tokens survive when the k-th value is repeated);
    this makes the kept set independent of sort order. ``k >= V`` keeps every token.
    Shapes: ``(..., V) -> (..., V)``.
    Example: ``top_k_filter(tensor([1., 3., 2., 3.]), 2)`` -> ``[-inf, 3., -inf, 3.]``;
    ``top_k_filter(tensor([1., 3., 2., 2.]), 2)`` -> ``[-inf, 3., 2., 2.]`` (tie kept).
    """
    if k < 1:
        raise ValueError(f"top_k must be >= 1, got {k}; use top_k=None to disable it")
    if k >= logits.shape[-1]:
        return logits.clone()
    kth_largest = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth_largest, NEG_INF)


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filter (Holtzman et al., 2020): keep the smallest set of most probable tokens whose
    total probability reaches ``p``; set the others to ``-inf``.

    Rule: sort probabilities ``pi_(1) >= pi_(2) >= ...``; keep the first ``m`` tokens where ``m``
    is the smallest index with ``pi_(1) + ... + pi_(m) >= p``. The most probable token is always
    kept (so ``p`` close to 0 is greedy). Among equal probabilities the lower token id ranks first
    (stable sort), so exactly one of two tied tokens may be kept. ``p = 1`` keeps every token.
    Shapes: ``(..., V) -> (..., V)``.
    Example: probabilities ``[0.1, 0.5, 0.3, 0.1]`` with ``p = 0.7`` -> tokens 1 and 2 are kept
    (0.5 < 0.7 <= 0.5 + 0.3), tokens 0 and 3 get ``-inf``.
    """
    if not 0 < p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {p}; use top_p=None to disable it")
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True, stable=True)
    dtype = torch.promote_types(logits.dtype, torch.float32)  # no cumsum in half precision
    probs = torch.softmax(sorted_logits.to(dtype), dim=-1)
    mass_before = probs.cumsum(dim=-1) - probs  # probability of the tokens ranked above
    remove_sorted = mass_before >= p  # the set already reached p without this token
    remove_sorted[..., 0] = False
    remove = torch.empty_like(remove_sorted).scatter_(-1, order, remove_sorted)
    return logits.masked_fill(remove, NEG_INF)


def filter_logits(
    logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None
) -> torch.Tensor:
    """Top-k then top-p filtering of next-token logits; removed tokens get ``-inf``.

    ``top_k`` keeps the ``k`` largest logits (ties at the k-th value all kept, see
    :func:`top_k_filter`); ``top_p`` then keeps the smallest most-probable set whose probability,
    renormalised over what top-k kept, reaches ``p`` (at least one token, see
    :func:`top_p_filter`). ``None`` disables a filter. Shapes: ``(..., V) -> (..., V)``.
    Example: ``filter_logits(log(tensor([0.1, 0.5, 0.3, 0.1])), top_p=0.7)`` ->
    ``[-inf, log 0.5, log 0.3, -inf]``.
    """
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    if top_k is None and top_p is None:
        logits = logits.clone()
    return logits


def apply_repetition_penalty(
    logits: torch.Tensor, previous_ids: torch.Tensor, penalty: float
) -> torch.Tensor:
    """CTRL's repetition penalty (Keskar et al., 2019) on tokens that already occurred.

    For every token ``i`` in ``previous_ids``: ``z_i <- z_i / penalty`` if ``z_i > 0`` else
    ``z_i * penalty``, so ``penalty > 1`` always makes a seen token less likely; each token is
    penalised once however often it occurred. ``penalty = 1`` changes nothing.
    Shapes: ``logits (..., V)``, ``previous_ids (..., T)`` with the same leading dimensions
    (a 1-D ``previous_ids`` is used for every row) -> ``(..., V)``.
    Example: ``apply_repetition_penalty(tensor([2., -1., 0.5]), tensor([0, 1, 0]), 2.0)`` ->
    ``[1., -2., 0.5]``.
    """
    if not penalty > 0:
        raise ValueError(f"repetition penalty must be > 0 (1 disables it), got {penalty}")
    previous_ids = torch.as_tensor(previous_ids, dtype=torch.long, device=logits.device)
    if penalty == 1 or previous_ids.numel() == 0:
        return logits.clone()
    if previous_ids.dim() == 1 and logits.dim() > 1:
        previous_ids = previous_ids.expand(*logits.shape[:-1], previous_ids.shape[0])
    if previous_ids.shape[:-1] != logits.shape[:-1]:
        raise ValueError(
            f"previous_ids of shape {tuple(previous_ids.shape)} do not match logits of shape "
            f"{tuple(logits.shape)}: give (..., T) ids with the logits' leading dimensions"
        )
    seen = logits.gather(-1, previous_ids)
    penalised = torch.where(seen > 0, seen / penalty, seen * penalty)
    return logits.scatter(-1, previous_ids, penalised)
