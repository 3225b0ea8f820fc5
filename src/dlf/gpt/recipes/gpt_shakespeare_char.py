"""gpt-shakespeare-char: the hands-on project of Module 4, a character-level GPT on Tiny
Shakespeare (nanoGPT's shakespeare_char), trained on a laptop CPU, then sampled.

The recipe body is :mod:`dlf.gpt.recipes.text_lm` (shared with ``gpt-text`` and
``gpt-shakespeare-bpe``): ``data=PATH`` trains on your own text, ``init_from=RUN_DIR``
fine-tunes. On 2 processes (rank 0 alone writes the run directory)::

    torchrun --standalone --nproc_per_node=2 "$(which dlf)" run gpt-shakespeare-char batch_size=6

CPU speed settings (``dlf run gpt-shakespeare-char --setting cpu-40s`` / ``cpu-80s``): the same
4 x 4 x 128 model and batch, made faster per step and per token. Measured one change at a time
on this project's 2-core machine (AMD EPYC with AVX-512 BF16), ms per training step:

- bf16 autocast (``precision=bf16``): the matrix products run in bfloat16 on the CPU's bf16
  instructions, with softmax, layer norm and the loss in float32;
- our attention (``attention=ours``: two matrix products and a softmax) instead of PyTorch's
  fused CPU kernel, which is no faster in float32 and 1.6x slower under bf16 autocast at T = 64;
- learning rate 5e-3 instead of 3e-3 (validation 1.824 vs 1.839 after 1,600 steps);
- both cores (``threads=2``).

On a CPU without bf16 instructions ``precision=bf16`` is slower than float32: keep the default.
"""

from __future__ import annotations

from dlf.gpt.recipes.text_lm import QUICK, TextLMConfig, datasets, preflight, run
from dlf.recipes import Recipe

GptShakespeareCharConfig = TextLMConfig  # the defaults are this recipe's full setting

FAST = {"precision": "bf16", "attention": "ours", "learning_rate": 5e-3, "threads": 2}
STEPS_40S = 1800
STEPS_80S = 3800

RECIPE = Recipe(
    name="gpt-shakespeare-char",
    module=4,
    description="the hands-on project: a character-level GPT on Tiny Shakespeare",
    config=TextLMConfig,
    run=run,
    quick=QUICK,
    datasets=datasets,
    preflight=preflight,
    # full: 2000 steps, validation 1.796 in 99.7 s of training on an idle machine (threads=1)
    durations={"quick": 0.9, "full": 109.0},
    settings={
        "cpu-40s": {**FAST, "max_steps": STEPS_40S},
        "cpu-80s": {**FAST, "max_steps": STEPS_80S},
    },
)
