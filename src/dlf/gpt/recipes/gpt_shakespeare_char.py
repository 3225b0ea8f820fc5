"""gpt-shakespeare-char: the hands-on project of Module 4, a character-level GPT on Tiny
Shakespeare (nanoGPT's shakespeare_char), trained on a laptop CPU, then sampled.

The recipe body is :mod:`dlf.gpt.recipes.text_lm` (shared with ``gpt-text`` and
``gpt-shakespeare-bpe``): ``data=PATH`` trains on your own text, ``init_from=RUN_DIR``
fine-tunes. On 2 processes (rank 0 alone writes the run directory)::

    torchrun --standalone --nproc_per_node=2 "$(which dlf)" run gpt-shakespeare-char batch_size=6
"""

from __future__ import annotations

from dlf.gpt.recipes.text_lm import QUICK, TextLMConfig, datasets, preflight, run
from dlf.recipes import Recipe

GptShakespeareCharConfig = TextLMConfig  # the defaults are this recipe's full setting

RECIPE = Recipe(
    name="gpt-shakespeare-char",
    module=4,
    description="the hands-on project: a character-level GPT on Tiny Shakespeare",
    config=TextLMConfig,
    run=run,
    quick=QUICK,
    datasets=datasets,
    preflight=preflight,
    durations={"quick": 0.9, "full": 344.0},  # full: measured at load average ~12 on 2 cores
)
