"""gpt-shakespeare-char: the hands-on project of Module 4, a character-level GPT on Tiny
Shakespeare (nanoGPT's shakespeare_char), trained on a laptop CPU, then sampled.

The recipe body is :mod:`dlf.gpt.recipes.text_lm` (shared with ``gpt-text`` and
``gpt-shakespeare-bpe``): ``data=PATH`` trains on your own text, ``init_from=RUN_DIR``
fine-tunes. On 2 processes (rank 0 alone writes the run directory)::

    torchrun --standalone --nproc_per_node=2 "$(which dlf)" run gpt-shakespeare-char batch_size=6

CPU speed settings (``dlf run gpt-shakespeare-char --setting cpu-40s`` / ``cpu-80s``): the same
4 x 4 x 128 model and batch, made faster per step and per token: 19.0 instead of 32.9 ms per
training step (``dlf bench gpt threads=2``). Measured one change at a time on this project's
2-core machine (AMD EPYC with AVX-512 BF16):

- bf16 autocast (``precision=bf16``): the matrix products run in bfloat16 on the CPU's bf16
  instructions, and so do the softmax, layer norm and GELU that take their outputs; the loss,
  the weights and AdamW stay in float32;
- our attention (``attention=ours``: two matrix products and a softmax) instead of PyTorch's
  fused CPU kernel, which is no faster in float32 and 1.6x slower under bf16 autocast at T = 64
  (31.4 vs 18.9 ms per step, 3 layers, 1 thread);
- learning rate 5e-3 instead of 3e-3 (validation 1.824 vs 1.839 after 1,600 steps);
- both cores (``threads=2``).

On a CPU without bf16 instructions ``precision=bf16`` can be slower than float32 (not measured:
this machine has them); time a few hundred steps both ways before choosing.
"""

from __future__ import annotations

from dlf.gpt.recipes.text_lm import QUICK, TextLMConfig, datasets, preflight, run
from dlf.recipes import Recipe

GptShakespeareCharConfig = TextLMConfig  # the defaults are this recipe's full setting

FAST = {"precision": "bf16", "attention": "ours", "learning_rate": 5e-3, "threads": 2}
# Measured here on 2 idle cores (dlf run gpt-shakespeare-char --setting NAME): validation loss
# on 20 batches (nanoGPT's estimate) / on every validation token, seconds of training (wall)
STEPS_40S = 1800  # 1.812 / 1.803 in 29.5 s (34.3 s); the target: <= 1.89 in <= 40 s
STEPS_80S = 3800  # 1.673 / 1.666 in 66.1 s (72.8 s); the target: <= 1.70 in <= 80 s

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
