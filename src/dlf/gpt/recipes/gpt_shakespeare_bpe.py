"""gpt-shakespeare-bpe: the same GPT as ``gpt-shakespeare-char``, on tokens of our byte-level
BPE (GPT-4 split pattern, trained on the training part of the text only).

Tokens of about two characters give the model more text per window and per step, but a harder
prediction per token, so the two runs are compared per character: both split Tiny Shakespeare
at the same character, and report the bits per character of the whole validation part
(``val_bits_per_char``); ``compare_with=RUN_DIR`` of a char run puts the two side by side. The
tokenizer is saved as ``tokenizer.json`` beside ``checkpoint/``.

On 2 processes (DDP, gloo on CPU; rank 0 alone makes and writes the run directory)::

    torchrun --standalone --nproc_per_node=2 "$(which dlf)" run gpt-shakespeare-bpe batch_size=6
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dlf.gpt.recipes.text_lm import QUICK, RESUME_KEEPS, TextLMConfig, datasets, preflight, run
from dlf.recipes import Recipe, ranged


@dataclass
class GptShakespeareBpeConfig(TextLMConfig):
    """``TextLMConfig`` with a BPE tokenizer of 512 tokens (511 learned from bytes + merges,
    and ``<|endoftext|>``); model and training as the char recipe's."""

    tokenizer: Literal["char", "bpe"] = "bpe"
    vocab_size: int = ranged(512, ge=257)  # the 256 bytes, learned merges and <|endoftext|>


RECIPE = Recipe(
    name="gpt-shakespeare-bpe",
    module=4,
    description="the same GPT on Tiny Shakespeare with our BPE tokenizer, compared per character",
    config=GptShakespeareBpeConfig,
    run=run,
    quick={**QUICK, "vocab_size": 320},
    datasets=datasets,
    preflight=preflight,
    resume_keeps=RESUME_KEEPS,
)
