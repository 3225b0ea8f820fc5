"""Beam search with a length penalty, batched over beams, for any model behind a ``step_fn``.

The ``step_fn`` contract is the one of :mod:`dlf.sampling.generate`: ``step_fn(ids, cache) ->
(logits, cache)`` with ``ids`` of shape ``(B, T)`` (here B = the beams still running, between 1
and ``beam_width``; all have the same length) and last-position logits ``(B, V)``. One call per
step serves all running beams. An encoder-decoder's step_fn closes over the encoder memory of
its one source sentence and expands it to ``B`` rows::

    memory = model.encode(src)  # (1, S, d)
    def step_fn(ids, cache):
        out = model.decode(ids, memory.expand(ids.shape[0], -1, -1))  # (B, T, V)
        return out[:, -1, :], None

Cache: when beams are chosen, the rows of the cache must follow their parent beams. By default
``cache`` may be ``None``, a tensor, or a (nested) tuple/list/dict of tensors whose dimension 0
is the beam; its rows are picked with ``index_select``. Non-tensor leaves (e.g. a cached length)
are kept as they are. For any other layout pass ``reorder_cache(cache, rows) -> cache``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from dlf.sampling.generate import StepFn, as_prompt, last_position_logits


@dataclass
class Hypothesis:
    """One candidate output: generated ids (prompt excluded; the end-of-sequence id included when
    ``finished``), total log-probability ``sum_t log p(y_t | y_<t, x)`` and its length-penalised
    ``score``."""

    ids: list[int]
    log_prob: float
    score: float
    finished: bool


@dataclass
class BeamSearchResult:
    """The best hypothesis (``ids``, ``log_prob``, ``score``) and every hypothesis that ended
    with end-of-sequence during the search (``finished``, best score first)."""

    ids: list[int]
    log_prob: float
    score: float
    finished: list[Hypothesis] = field(default_factory=list)


def length_normalised_score(log_prob: float | torch.Tensor, length: int, length_penalty: float):
    """``score = log P(y) / |y| ** alpha`` with ``alpha = length_penalty``.

    ``alpha = 0``: the raw sum of log-probabilities (favours short outputs, since every token
    adds a negative term); ``alpha = 1``: the mean log-probability per token; values in between
    trade the two. This is the simple penalty (as in Hugging Face's ``length_penalty``), chosen
    over GNMT's ``((5 + |y|) / 6) ** alpha`` (Wu et al., 2016), which damps the effect on short
    outputs; the two rank outputs of equal length identically.
    Example: ``length_normalised_score(-6.0, 3, 1.0)`` -> ``-2.0``; with ``alpha = 0`` -> ``-6.0``.
    """
    return log_prob / float(length) ** length_penalty


def index_cache(cache: Any, rows: torch.Tensor) -> Any:
    """Pick the rows ``rows`` (dimension 0) of every tensor in a (nested) tuple/list/dict cache.

    Example: ``index_cache((k, v, 7), tensor([0, 0, 2]))`` -> ``(k[[0, 0, 2]], v[[0, 0, 2]], 7)``.
    """
    if isinstance(cache, torch.Tensor):
        return cache.index_select(0, rows.to(cache.device))
    if isinstance(cache, dict):
        return {key: index_cache(value, rows) for key, value in cache.items()}
    if isinstance(cache, tuple) and hasattr(cache, "_fields"):  # a namedtuple
        return type(cache)(*(index_cache(value, rows) for value in cache))
    if isinstance(cache, (tuple, list)):
        return type(cache)(index_cache(value, rows) for value in cache)
    return cache


def top_candidates(scores: torch.Tensor, k: int) -> list[int]:
    """Indices of the ``k`` largest finite ``scores``, best first; ties go to the lower index.

    The explicit tie rule makes width-1 beam search pick exactly what ``argmax`` picks.
    Example: ``top_candidates(tensor([1., 3., 3., -inf]), 2)`` -> ``[1, 2]``.
    """
    k = min(k, scores.numel())
    kth = torch.topk(scores, k).values[-1]
    near = torch.nonzero(scores >= kth).reshape(-1)  # the top k plus any ties with the k-th
    order = torch.sort(scores[near], descending=True, stable=True).indices
    chosen = near[order][:k]
    return [int(i) for i in chosen if torch.isfinite(scores[i])]


@torch.no_grad()
def beam_search(
    step_fn: StepFn,
    prompt_ids: torch.Tensor | Sequence[int],
    beam_width: int,
    max_new_tokens: int,
    eos_id: int | None = None,
    length_penalty: float = 1.0,
    reorder_cache: Callable[[Any, torch.Tensor], Any] = index_cache,
) -> BeamSearchResult:
    """Beam search for ``argmax_y log P(y | prompt) / |y| ** length_penalty``.

    Rule: keep ``beam_width`` hypotheses. Each step, every running hypothesis ``h`` proposes all
    ``V`` extensions ``h + v`` with ``log P(h + v) = log P(h) + log_softmax(z_h)_v``; hypotheses
    that already ended with ``eos_id`` stay as candidates with their score unchanged. The
    ``beam_width`` candidates of highest :func:`length_normalised_score` form the next beam
    (ties: the lower beam row, then the lower token id). The search stops early once every beam
    has ended with ``eos_id``, else after ``max_new_tokens``; the answer is the best score among
    every finished hypothesis met and the beams still running at the end. Width 1 is greedy
    decoding, token for token.
    Shapes: ``prompt_ids`` ``(T,)``, ``(1, T)`` or a list; ``step_fn`` gets ``(B, T + t)`` ids,
    ``1 <= B <= beam_width``, and returns ``(B, V)`` logits.
    Example: ``beam_search(step_fn, [bos], beam_width=4, max_new_tokens=20, eos_id=eos).ids``
    -> the generated ids ending with ``eos``.
    """
    if beam_width < 1:
        raise ValueError(f"beam_width must be >= 1, got {beam_width}")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    prompt = as_prompt(prompt_ids)
    n_prompt = prompt.shape[1]
    running = prompt  # (B, T) ids of the beams still running
    running_log_prob = torch.zeros(1, dtype=torch.float64, device=prompt.device)
    ended: list[Hypothesis] = []  # finished hypotheses that hold a place in the beam
    finished: list[Hypothesis] = []  # every finished hypothesis met
    cache = None
    for step in range(max_new_tokens):
        if running.shape[0] == 0:
            break
        n_running = running.shape[0]
        logits, cache = step_fn(running, cache)
        logits = last_position_logits(logits, n_running)
        vocab = logits.shape[-1]
        log_probs = torch.log_softmax(logits.to(torch.float64), dim=-1).to(running_log_prob.device)
        extended = (running_log_prob[:, None] + log_probs).reshape(-1)  # (B * V,)
        scores = length_normalised_score(extended, step + 1, length_penalty)
        ended_scores = torch.tensor([h.score for h in ended], dtype=torch.float64)
        scores = torch.cat([scores, ended_scores.to(scores.device)])

        parents: list[int] = []
        tokens: list[int] = []
        kept_ended: list[Hypothesis] = []
        for index in top_candidates(scores, beam_width):
            if index >= n_running * vocab:
                kept_ended.append(ended[index - n_running * vocab])
                continue
            row, token = divmod(index, vocab)
            if token == eos_id:
                ids = running[row, n_prompt:].tolist() + [token]
                log_prob = float(extended[index])
                hypothesis = Hypothesis(ids, log_prob, float(scores[index]), finished=True)
                finished.append(hypothesis)
                kept_ended.append(hypothesis)
            else:
                parents.append(row)
                tokens.append(token)
        ended = kept_ended
        rows = torch.tensor(parents, dtype=torch.long, device=running.device)
        new_tokens = torch.tensor(tokens, dtype=torch.long, device=running.device)
        running_log_prob = extended[(rows * vocab + new_tokens).to(extended.device)]
        running = torch.cat([running[rows], new_tokens[:, None]], dim=1)
        if parents:
            cache = reorder_cache(cache, rows)

    candidates = list(finished)
    for row in range(running.shape[0]):
        ids = running[row, n_prompt:].tolist()
        log_prob = float(running_log_prob[row])
        score = float(length_normalised_score(log_prob, len(ids), length_penalty))
        candidates.append(Hypothesis(ids, log_prob, score, finished=False))
    if not candidates:
        raise ValueError("beam search found no sequence of finite probability: check the logits")
    best = max(candidates, key=lambda h: h.score)
    finished.sort(key=lambda h: h.score, reverse=True)
    return BeamSearchResult(best.ids, best.log_prob, best.score, finished)
