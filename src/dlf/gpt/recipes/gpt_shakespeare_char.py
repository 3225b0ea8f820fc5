"""gpt-shakespeare-char: the hands-on project of Module 4, a character-level GPT on Tiny
Shakespeare (nanoGPT's shakespeare_char), trained on a laptop CPU, then sampled.

The recipe body is :mod:`dlf.gpt.recipes.text_lm` (shared with ``gpt-text`` and
``gpt-shakespeare-bpe``): ``data=PATH`` trains on your own text, ``init_from=RUN_DIR``
fine-tunes, ``--resume RUN_DIR`` goes on with a stopped run. On 2 processes (rank 0 alone writes
the run directory)::

    torchrun --standalone --nproc_per_node=2 "$(which dlf)" run gpt-shakespeare-char batch_size=6

The settings ``fast-bf16`` (1800 steps) and ``fast-bf16-long`` (3800 steps) train the same
4 x 4 x 128 model on the same batches with cheaper steps:

- bf16 autocast (``precision=bf16``): the matrix products run in bfloat16, and so do the
  softmax, layer norm and GELU that take their outputs; the loss, the weights and AdamW stay in
  float32. It pays on a CPU with bf16 instructions (AVX-512 BF16, AMX); on one without them it
  can be slower than float32: time a few hundred steps both ways (``dlf bench gpt``) first;
- our attention (``attention=ours``: two matrix products and a softmax) instead of PyTorch's
  fused CPU kernel, which gains nothing under bf16 autocast at this short context;
- a higher peak learning rate, 5e-3, which the shorter runs reach a lower loss with;
- two threads.

``dlf list`` shows what each setting reached where it was measured.
"""

from __future__ import annotations

from dlf.gpt.recipes.text_lm import QUICK, RESUME_KEEPS, TextLMConfig, datasets, preflight, run
from dlf.recipes import Recipe

FAST = {"precision": "bf16", "attention": "ours", "learning_rate": 5e-3, "threads": 2}

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
        "fast-bf16": {**FAST, "max_steps": 1800},
        "fast-bf16-long": {**FAST, "max_steps": 3800},
    },
    resume_keeps=RESUME_KEEPS,
)
