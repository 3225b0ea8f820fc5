"""gpt-shakespeare-char: the hands-on project of Module 4, a character-level GPT on Tiny
Shakespeare (nanoGPT's shakespeare_char), trained on a laptop CPU, then sampled.

The recipe body is :mod:`dlf.gpt.recipes.text_lm` (shared with ``gpt-text`` and
``gpt-shakespeare-bpe``): ``data=PATH`` trains on your own text, ``init_from=RUN_DIR``
fine-tunes, ``--resume RUN_DIR`` goes on with a stopped run. On 2 processes (rank 0 alone writes
the run directory)::

    torchrun --standalone --nproc_per_node=2 "$(which dlf)" run gpt-shakespeare-char batch_size=6

The settings ``fast`` (900 steps) and ``fast-long`` (1900 steps) train the same
4 x 4 x 128 model, on as many characters as the default's 2000 steps and about twice as many,
in less time:

- ``precision=auto``: bf16 autocast where the CPU computes bf16 natively (AVX-512 BF16 or AMX;
  a GPU with bf16), decided on the machine that trains; fp32 elsewhere, where emulated bf16
  would be slower. Under autocast the matrix products run in bfloat16, and so do the softmax
  and GELU that take their outputs; the residual stream, the layer norms, the loss, the weights
  and AdamW stay in float32.
  The report and ``summary.json`` say which precision ran;
- the attention that ``attention=auto`` (the default) picks: PyTorch's fused kernel in fp32,
  ours (two matrix products and a softmax) under CPU autocast, where the fused CPU kernel is
  the slower at this short context;
- batches of 24 windows, twice the default's: a step costs less than two, and the gradient is
  less noisy, so fewer steps reach a given loss; with a higher peak learning rate, 7e-3, and a
  30-step warm-up.

``dlf bench gpt-quality`` times each setting to a validation loss against a plain PyTorch GPT.
``dlf list`` shows what each setting reached where it was measured.
"""

from __future__ import annotations

from dlf.gpt.recipes.text_lm import QUICK, RESUME_KEEPS, TextLMConfig, datasets, preflight, run
from dlf.recipes import Recipe

FAST = {"precision": "auto", "batch_size": 24, "learning_rate": 7e-3, "warmup_steps": 30}

RECIPE = Recipe(
    name="gpt-shakespeare-char",
    module=4,
    description="the hands-on project: a character-level GPT on Tiny Shakespeare",
    config=TextLMConfig,
    run=run,
    quick=QUICK,
    datasets=datasets,
    preflight=preflight,
    settings={
        "fast": {**FAST, "max_steps": 900},
        "fast-long": {**FAST, "max_steps": 1900},
    },
    resume_keeps=RESUME_KEEPS,
)
