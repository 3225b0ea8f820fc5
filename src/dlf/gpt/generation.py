"""Continuing a prompt with a trained GPT, as a stream of text: what ``dlf sample`` prints.

The decoding rules live in :mod:`dlf.sampling` (one implementation for Modules 3 and 4); this
picks one by name, seeds it, and turns the ids into text that stops at a stop string
(:class:`dlf.gpt.stream.TextStream`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import torch

from dlf.gpt.stream import TextStream
from dlf.gpt.text import encode_checked
from dlf.gpt.tokenizer import BPETokenizer
from dlf.gpt.trained import TrainedGPT
from dlf.sampling import beam_search, generate, greedy, sample

StrategyName = Literal["greedy", "sample", "top-k", "top-p", "beam"]
STRATEGIES: tuple[str, ...] = ("greedy", "sample", "top-k", "top-p", "beam")


@dataclass
class SampleSettings:
    """How to pick each next token.

    - ``greedy``: argmax_i z_i.
    - ``sample``: draw from softmax(z / temperature), filtered by ``top_k`` / ``top_p`` if given.
    - ``top-k``: the same with ``top_k`` (40 if not given): only the k most probable tokens.
    - ``top-p``: the same with ``top_p`` (0.9 if not given): the smallest set of tokens whose
      probability reaches p.
    - ``beam``: beam search of ``beam_width`` beams, score log P(y) / |y| ** length_penalty.

    ``repetition_penalty`` (CTRL's; 1 = off) applies to the sampling strategies; ``seed`` fixes
    the draws. Bad values raise ValueError.
    """

    strategy: StrategyName = "top-p"
    temperature: float = 0.8
    top_k: int | None = None
    top_p: float | None = None
    beam_width: int = 4
    length_penalty: float = 1.0
    repetition_penalty: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top-k must be >= 1, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError(f"top-p must be in (0, 1], got {self.top_p}")
        if self.beam_width < 1:
            raise ValueError(f"beam width must be >= 1, got {self.beam_width}")
        if self.repetition_penalty <= 0:
            raise ValueError(f"repetition penalty must be > 0, got {self.repetition_penalty}")

    def strategy_fn(self, device: torch.device):
        """The ``logits -> id`` function of :func:`dlf.sampling.generate` (not for beam)."""
        if self.strategy == "greedy":
            return greedy
        if self.strategy == "top-k":
            top_k, top_p = self.top_k or 40, None
        elif self.strategy == "top-p":
            top_k, top_p = None, self.top_p or 0.9
        else:
            top_k, top_p = self.top_k, self.top_p
        generator = torch.Generator(device=device).manual_seed(self.seed)
        return functools.partial(
            sample, temperature=self.temperature, top_k=top_k, top_p=top_p, generator=generator
        )


def complete(
    trained: TrainedGPT,
    prompt: str,
    max_new_tokens: int,
    settings: SampleSettings,
    stops: tuple[str, ...] | list[str] = (),
    include_stop: bool = False,
) -> TextStream:
    """The text that follows ``prompt``, as a :class:`TextStream` (iterate to get it piece by
    piece; the model runs as you iterate, except beam search, which runs first).

    Generation ends at the first stop string (matched on the text, so ``"\\n\\n"`` and a special
    token such as ``"<|endoftext|>"`` both work; not shown unless ``include_stop``), or after
    ``max_new_tokens`` tokens. A prompt the tokenizer cannot encode is a TextDataError; an empty
    one a ValueError.
    """
    if max_new_tokens < 0:
        raise ValueError(f"max-new-tokens must be >= 0, got {max_new_tokens}")
    if not prompt:
        raise ValueError("the prompt is empty: give at least one character (e.g. '\\n')")
    model, tokenizer = trained.model.eval(), trained.tokenizer
    device = next(model.parameters()).device
    ids = torch.tensor(
        encode_checked(tokenizer, prompt, "prompt", "use characters of its training text"),
        device=device,
    )
    if settings.strategy == "beam":
        if max_new_tokens == 0:
            return TextStream([], tokenizer)
        specials = tokenizer.special_tokens if isinstance(tokenizer, BPETokenizer) else {}
        eos = next((specials[s] for s in stops if s in specials), None)
        result = beam_search(
            model.step_fn(), ids, settings.beam_width, max_new_tokens, eos, settings.length_penalty
        )
        return TextStream(result.ids, tokenizer, stops, include_stop)
    tokens = generate(
        model.step_fn(),
        ids,
        max_new_tokens,
        settings.strategy_fn(device),
        repetition_penalty=settings.repetition_penalty,
    )
    return TextStream(tokens, tokenizer, stops, include_stop)
