"""Decoding: next-token logits to tokens (greedy, temperature, top-k, top-p, beam search).

One implementation serves the encoder-decoder Transformer (Module 3) and the GPT (Module 4): a
model is seen only through ``step_fn(ids, cache) -> (last-position logits, cache)``; see
:mod:`dlf.sampling.generate`.
"""

from dlf.sampling.beam import BeamSearchResult, Hypothesis, beam_search, index_cache
from dlf.sampling.filters import (
    apply_repetition_penalty,
    apply_temperature,
    filter_logits,
    top_k_filter,
    top_p_filter,
)
from dlf.sampling.generate import generate
from dlf.sampling.strategies import greedy, sample

__all__ = [
    "BeamSearchResult",
    "Hypothesis",
    "apply_repetition_penalty",
    "apply_temperature",
    "beam_search",
    "filter_logits",
    "generate",
    "greedy",
    "index_cache",
    "sample",
    "top_k_filter",
    "top_p_filter",
]
