"""gpt-text: a GPT on your own text, the named entry point of Module 4's "your own data" path.

    dlf run gpt-text data=notes.txt                       # a UTF-8 file (or a folder of .txt)
    dlf run gpt-text data=notes/ tokenizer=bpe vocab_size=512
    dlf run gpt-text data=letters.txt init_from=runs/gpt-text/20260101-120000   # fine-tune
    dlf sample runs/gpt-text/<run> --prompt "Dear" --stop "\\n\\n"
    dlf eval runs/gpt-text/<run> [data=other.txt]

The text is split by characters into a contiguous training part and the validation part after
it; the tokenizer is built (char) or trained (bpe) from it and saved beside the checkpoint;
validation loss and perplexity are logged at every evaluation. Fine-tuning keeps the model's
shape and tokenizer, starts at ``finetune_learning_rate`` and writes its own run directory; its
report draws the loss curves of both phases. Bad input (a missing path, an empty or binary file,
a text shorter than one block, a run directory without a checkpoint, characters the fine-tuned
model cannot encode) is one line and exit status 1, before anything is written.

On 2 processes (DDP, gloo on CPU; rank 0 alone makes and writes the run directory)::

    torchrun --standalone --nproc_per_node=2 "$(which dlf)" run gpt-text data=notes.txt \\
        batch_size=6

The body is shared with ``gpt-shakespeare-char`` and ``gpt-shakespeare-bpe``:
:mod:`dlf.gpt.recipes.text_lm`.
"""

from __future__ import annotations

from dlf.gpt.recipes.text_lm import QUICK, RESUME_KEEPS, TextLMConfig, datasets, preflight, run
from dlf.recipes import Recipe

RECIPE = Recipe(
    name="gpt-text",
    module=4,
    description="a GPT on your own text: data=FILE|FOLDER, tokenizer=char|bpe, init_from=RUN_DIR",
    config=TextLMConfig,
    run=run,
    quick=QUICK,
    datasets=datasets,
    preflight=preflight,
    resume_keeps=RESUME_KEEPS,
)
