"""A GPT trained on a text: the one recipe body behind ``gpt-text``, ``gpt-shakespeare-char`` and
``gpt-shakespeare-bpe`` (they differ only in their defaults).

1. Read the text (``data``: a UTF-8 file, a folder of ``.txt`` files, or ``tinyshakespeare``)
   and split it, as characters, into a contiguous training part and the validation part after
   it (:func:`dlf.gpt.data.split_text`): no validation character is ever seen in training.
2. Tokenize: a ``CharTokenizer`` of the text's characters, or our byte-level ``BPETokenizer``
   trained on the training part only; saved as ``tokenizer.json`` in the run directory. Or,
   when fine-tuning (``init_from=RUN_DIR``), the tokenizer of that run, kept as it is.
3. Train with :func:`dlf.gpt.train.train` (batches drawn without replacement within an epoch;
   validation loss and perplexity logged at every evaluation), checkpoints in ``checkpoint/``.
4. Score the whole validation part (each token predicted once) in nats per token and in bits
   per character, which compares tokenizers; sample; report.

Everything that can be wrong with the input is checked by :func:`preflight` before the run
directory is made. Ctrl-C or SIGTERM saves the last whole step in ``checkpoint/``, and ``dlf run
NAME --resume RUN_DIR`` goes on from it exactly (the same losses as a run never stopped); a loss
that stops being finite ends the run as diverged, the weights it came from kept.

On several processes (DDP, gloo on CPU), rank 0 alone makes and fills the run directory::

    torchrun --standalone --nproc_per_node=2 "$(which dlf)" run gpt-text data=my.txt batch_size=6

(each process takes ``batch_size`` windows of every global batch of ``batch_size *
grad_accum_steps * processes``; ``batch_size=6`` on 2 processes is the 12 of one).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from dlf.gpt.data import split_text
from dlf.gpt.distributed import close_distributed, init_distributed
from dlf.gpt.model import GPT, GPTConfig
from dlf.gpt.recipes.text_lm_report import PROMPT_ADVICE, report
from dlf.gpt.text import (
    Tokenizer,
    check_length,
    encode_checked,
    is_corpus_name,
    read_text,
    source_stamp,
)
from dlf.gpt.tokenizer import BPETokenizer, CharTokenizer
from dlf.gpt.train import TrainConfig, check_device, keep_records_to_checkpoint, train
from dlf.gpt.trained import TrainedGPT, load_trained
from dlf.recipes.config import ConfigError, ConfigMap, field_names, ranged
from dlf.runs import RunDir
from dlf.transformer.positional import POSITIONAL_ENCODINGS

SPECIAL_TOKENS = ("<|endoftext|>",)


@dataclass
class TextLMConfig:
    """Data, tokenizer, model (GPTConfig's names), training (TrainConfig's names), sampling.

    ``data``: a UTF-8 text file, a folder of ``.txt`` files, or ``tinyshakespeare``.
    ``tokenizer``: "char" (one token per distinct character) or "bpe" (our byte-level BPE of
    ``vocab_size`` tokens, ``<|endoftext|>`` included, split with ``pattern``, trained on the
    training part of the text only). ``init_from``: the run directory of a trained model to
    fine-tune; its model shape and tokenizer are kept (the model fields and ``tokenizer`` here
    are then not used) and the peak learning rate is ``finetune_learning_rate``.
    ``compare_with``: the run directory of another model whose bits per character on this
    validation text go in the report beside this one's. ``threads``: torch CPU threads (0: as
    many as there are cores free when the run starts). ``precision``: "fp32", "bf16" autocast,
    or "auto", bf16 where the CPU or GPU computes it natively. ``workspace``: a ``dlf learn``
    workspace whose CausalSelfAttention and Block (the exercises causal-self-attention and
    gpt-block, which must pass) build the GPT instead of dlf's.
    ``positional``: the GPT's positional encoding, a name of
    ``dlf.transformer.positional.POSITIONAL_ENCODINGS`` (GPT-2's "learned" by default).

    The model and batch are nanoGPT's CPU "baby GPT" (4 x 4 x 128, block 64, batch 12, 2000
    steps); the peak learning rate is 3e-3 with a 50-step warm-up instead of nanoGPT's 1e-3 /
    100, which reaches a lower validation loss in the same 2000 steps.
    """

    data: str = "tinyshakespeare"  # a UTF-8 file, a folder of .txt files, or tinyshakespeare
    tokenizer: Literal["char", "bpe"] = "char"  # one token per character, or our byte-level BPE
    vocab_size: int = ranged(512, ge=1)  # BPE tokens, <|endoftext|> included (char: unused)
    pattern: Literal["gpt4", "gpt2", "none"] = "gpt4"  # the BPE's pre-splitting regex
    init_from: str = ""  # a run directory to fine-tune ("" trains from scratch)
    compare_with: str = ""  # a run directory whose bits per character go beside this one's
    n_layer: int = ranged(4, ge=1)  # transformer blocks
    n_head: int = ranged(4, ge=1)  # attention heads; n_embd must be a multiple of it
    n_embd: int = ranged(128, ge=1)  # width of the residual stream
    block_size: int = ranged(64, ge=1)  # context length in tokens
    dropout: float = ranged(0.0, ge=0, lt=1)  # on embeddings, attention and residual branches
    bias: bool = True  # biases in the Linear and LayerNorm layers
    attention: Literal["ours", "fused", "auto"] = "auto"  # auto: fused, ours under CPU bf16
    positional: str = field(
        default="learned",
        metadata={"help": f"positional encoding, one of: {', '.join(POSITIONAL_ENCODINGS)}"},
    )
    max_steps: int = ranged(2000, ge=1)  # optimizer steps
    batch_size: int = ranged(12, ge=1)  # windows per process and micro-step
    grad_accum_steps: int = ranged(1, ge=1)  # micro-steps per optimizer step
    learning_rate: float = ranged(3e-3, gt=0, lt=math.inf)  # peak learning rate
    finetune_learning_rate: float = ranged(3e-4, gt=0, lt=math.inf)  # peak lr with init_from
    min_lr: float = ranged(1e-4, ge=0, lt=math.inf)  # where the cosine decay ends
    warmup_steps: int = ranged(50, ge=0)  # linear warm-up steps
    lr_decay_steps: int = ranged(0, ge=0)  # where the cosine reaches min_lr (0: max_steps)
    weight_decay: float = ranged(0.1, ge=0, lt=math.inf)  # AdamW's, on the matrices only
    beta1: float = ranged(0.9, ge=0, lt=1)  # AdamW's first-moment decay
    beta2: float = ranged(0.99, ge=0, lt=1)  # AdamW's second-moment decay
    grad_clip: float = ranged(1.0, ge=0, lt=math.inf)  # largest gradient norm (0: no clipping)
    eval_interval: int = ranged(250, ge=1)  # steps between evaluations
    eval_batches: int = ranged(20, ge=1)  # fixed batches per evaluation
    log_interval: int = ranged(10, ge=1)  # steps between logged training losses
    checkpoint_interval: int = ranged(0, ge=0)  # steps between checkpoints (0: every evaluation)
    val_fraction: float = ranged(0.1, gt=0, lt=1)  # the held-out end of the text
    seed: int = ranged(1337, ge=0)  # initial weights, batches, dropout and the sample
    threads: int = ranged(0, ge=0)  # torch CPU threads (0: the cores free at the start)
    precision: Literal["auto", "fp32", "bf16"] = "fp32"  # auto: bf16 where the CPU/GPU has it
    compile: bool = False  # torch.compile the model
    device: str = "auto"  # auto, cpu or cuda[:N]
    sample_tokens: int = ranged(500, ge=0)  # tokens sampled after the prompt
    prompt: str = "\n"  # where the sample starts
    temperature: float = ranged(0.8, gt=0, lt=math.inf)  # logits divided by it before sampling
    top_k: int = ranged(40, ge=1)  # sample among the k likeliest tokens
    workspace: str = ""  # a dlf learn workspace whose attention and block build the GPT

    def __post_init__(self) -> None:
        # config.json records the absolute path, so `dlf eval` reads the text trained on
        # whichever folder it is started from
        if self.data and not is_corpus_name(self.data):
            self.data = str(Path(self.data).expanduser().resolve())


# Every field reaches GPTConfig or TrainConfig by its name, or is the recipe's own.
CONFIG_MAP = ConfigMap(
    TextLMConfig,
    (GPTConfig, TrainConfig),
    own={
        "data", "tokenizer", "pattern", "init_from", "compare_with", "finetune_learning_rate",
        "val_fraction", "threads", "sample_tokens", "prompt", "temperature", "top_k", "workspace",
    },
)  # fmt: skip

# What a resumed run must share with the run it continues: the model's shape, its data and
# tokenizer, the batch and the seed (the order of the batches).
RESUME_KEEPS = (
    *sorted(field_names(GPTConfig) & field_names(TextLMConfig)),
    "data", "tokenizer", "pattern", "init_from", "val_fraction", "workspace",
    "batch_size", "grad_accum_steps", "seed",
)  # fmt: skip

QUICK = {
    "n_layer": 2,
    "n_embd": 64,
    "block_size": 32,
    "max_steps": 60,
    "warmup_steps": 10,
    "eval_interval": 30,
    "eval_batches": 4,
    "sample_tokens": 100,
}


@dataclass
class Corpus:
    """A text made ready for training: its tokenizer, the two token arrays, the validation
    text, and the model being fine-tuned (None when training from scratch)."""

    source: str
    tokenizer: Tokenizer
    train_tokens: np.ndarray
    val_tokens: np.ndarray
    train_chars: int
    val_text: str
    parent: TrainedGPT | None

    @property
    def block_size(self) -> int | None:
        return self.parent.model.config.block_size if self.parent else None


def build_tokenizer(
    kind: str, vocab_size: int, pattern: str, text: str, train_text: str
) -> Tokenizer:
    """The char tokenizer of the whole text's characters (a set: nothing of the validation
    text's order leaks), or a BPE of ``vocab_size`` tokens trained on the training part alone.
    """
    if kind == "char":
        return CharTokenizer.from_text(text)
    smallest = 256 + len(SPECIAL_TOKENS)  # the bytes and <|endoftext|>
    if vocab_size < smallest:
        raise ConfigError(f"vocab_size must be at least {smallest}, got {vocab_size}")
    return BPETokenizer.train(
        train_text,
        vocab_size,
        pattern=None if pattern == "none" else pattern,
        special_tokens=SPECIAL_TOKENS,
    )


def load_corpus(
    data: str, kind: str, vocab_size: int, pattern: str, init_from: str, val_fraction: float
) -> Corpus:
    """Read ``data``, split it by characters, build or take the tokenizer, encode both parts."""
    text = read_text(data)
    train_text, val_text = split_text(text, val_fraction)
    parent = load_trained(init_from) if init_from else None
    if parent is not None:
        tokenizer = parent.tokenizer
    else:
        tokenizer = build_tokenizer(kind, vocab_size, pattern, text, train_text)
    source = f"data={data}"
    train_tokens = np.asarray(encode_checked(tokenizer, train_text, source), dtype=np.int64)
    val_tokens = np.asarray(encode_checked(tokenizer, val_text, source), dtype=np.int64)
    return Corpus(source, tokenizer, train_tokens, val_tokens, len(train_text), val_text, parent)


_CORPORA: dict[tuple, Corpus] = {}  # the last few corpora, by their fields and files' stamps


def prepare(config: TextLMConfig) -> Corpus:
    """:func:`load_corpus` of ``config``'s data fields, kept for as long as the files' sizes and
    times do not change, so :func:`preflight` and :func:`run` read and tokenize once."""
    c = config
    fields = (c.data, c.tokenizer, c.vocab_size, c.pattern, c.init_from, c.val_fraction)
    parent_stamp = ()
    if c.init_from:
        manifest = Path(c.init_from).expanduser() / "checkpoint" / "checkpoint.json"
        parent_stamp = (str(manifest), manifest.stat().st_mtime_ns if manifest.exists() else 0)
    key = (*fields, source_stamp(c.data), parent_stamp)
    if key not in _CORPORA:
        corpus = load_corpus(*fields)
        while len(_CORPORA) >= 4:
            del _CORPORA[next(iter(_CORPORA))]
        _CORPORA[key] = corpus
    return _CORPORA[key]


def check_settings(config: TextLMConfig) -> None:
    """The rules between fields, raised as ConfigError (exit 2): those of GPTConfig and
    TrainConfig (each head gets n_embd / n_head features, ``positional`` is a registered
    encoding ...), the device exists, and a workspace's attention is not asked for RoPE (the
    causal-self-attention exercise has no rotary positions)."""
    CONFIG_MAP.check(config)
    check_device(config.device)
    if config.workspace and POSITIONAL_ENCODINGS[config.positional].inside_attention:
        added = [n for n, e in POSITIONAL_ENCODINGS.items() if not e.inside_attention]
        raise ConfigError(
            f"workspace= takes the learner's attention, which does not apply "
            f"positional={config.positional} to queries and keys: choose one added to the "
            f"embeddings ({', '.join(added)})"
        )


def preflight(config: TextLMConfig) -> None:
    """Refuse, before any folder is made, what would fail the run: a missing path, an empty or
    binary file, a text too short for one block (or one batch), characters the fine-tuned
    model's tokenizer cannot encode, a run directory without a checkpoint, a workspace whose
    pieces do not pass. Raises :class:`dlf.data.DataError` subclasses or a
    :class:`dlf.learn.errors.WorkspaceError` (one line each; ``dlf`` exits with status 1); a
    value that breaks a rule between fields (:func:`check_settings`) is a ConfigError (exit 2).
    """
    check_settings(config)
    if config.workspace:
        from dlf.learn.parts import require_passing

        require_passing(config.workspace, list(LEARNER_PIECES.values()))
    corpus = prepare(config)
    block_size = corpus.block_size or config.block_size
    processes = int(os.environ.get("WORLD_SIZE", "1"))
    windows = config.batch_size * config.grad_accum_steps * processes
    n_train, n_val = len(corpus.train_tokens), len(corpus.val_tokens)
    check_length(n_train, block_size, corpus.source, "training part", windows)
    check_length(n_val, block_size, corpus.source, f"validation part ({config.val_fraction:.0%})")
    encode_checked(corpus.tokenizer, config.prompt, "prompt", PROMPT_ADVICE)
    if config.compare_with:
        compare = load_trained(config.compare_with)
        encode_checked(compare.tokenizer, corpus.val_text, f"compare_with={config.compare_with}")


def datasets(config: TextLMConfig) -> tuple[str, ...]:
    """The named corpus the run needs (found before the run directory is made), if any."""
    return (config.data,) if is_corpus_name(config.data) else ()


LEARNER_PIECES = {"CausalSelfAttention": "causal-self-attention", "Block": "gpt-block"}


def learner_gpt(workspace: str) -> type[GPT]:
    """dlf's GPT made of the learner's Block, which holds the learner's CausalSelfAttention.

    Their classes subclass dlf's and keep its constructors, so the weights, their names and the
    order of the random draws are dlf's: the solved workspace trains to the same numbers, and
    the checkpoint loads into dlf's GPT (``dlf sample``)."""
    from dlf.learn.parts import load_parts

    parts = load_parts(workspace, LEARNER_PIECES)
    block = type("LearnerBlock", (parts["Block"],), {"attention": parts["CausalSelfAttention"]})
    return type("LearnerGPT", (GPT,), {"block": block})


def build_model(config: TextLMConfig, corpus: Corpus) -> tuple[GPT, float]:
    """A new GPT (seeded), or a copy of the fine-tuned one with this config's dropout; and the
    peak learning rate to train it with. With a workspace, the GPT of :func:`learner_gpt`."""
    model_class = learner_gpt(config.workspace) if config.workspace else GPT
    torch.manual_seed(config.seed)
    if corpus.parent is not None:
        shape = dataclasses.replace(corpus.parent.model.config, dropout=config.dropout)
        model = model_class(shape)
        model.load_state_dict(corpus.parent.model.state_dict())
        return model, config.finetune_learning_rate
    shape = CONFIG_MAP.build(GPTConfig, config, vocab_size=corpus.tokenizer.vocab_size)
    return model_class(shape), config.learning_rate


def run(config: TextLMConfig, run_dir: RunDir) -> dict:
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    world = init_distributed()
    try:
        corpus = prepare(config)
        if world.is_main:
            corpus.tokenizer.save(run_dir.path / "tokenizer.json")
        model, lr = build_model(config, corpus)
        train_config = CONFIG_MAP.build(
            TrainConfig, config, learning_rate=lr, min_lr=min(config.min_lr, lr)
        )
        run_dir.say(
            f"{corpus.train_chars + len(corpus.val_text):,} characters -> "
            f"{len(corpus.train_tokens):,} + {len(corpus.val_tokens):,} tokens "
            f"(vocabulary {corpus.tokenizer.vocab_size}); "
            f"{model.num_params(non_embedding=False):,} parameters; "
            f"{torch.get_num_threads()} thread(s) x {world.size} process(es)"
            + (f"; fine-tuning {corpus.parent.folder}" if corpus.parent else "")
        )
        checkpoint_dir = run_dir.path / "checkpoint"
        if world.is_main:  # a resumed run logs again what came after its checkpoint
            run_dir.history[:] = keep_records_to_checkpoint(
                run_dir.path / "metrics.jsonl", checkpoint_dir
            )
        result = train(
            model,
            corpus.train_tokens,
            corpus.val_tokens,
            train_config,
            checkpoint_dir=checkpoint_dir,
            log=run_dir.log,
            say=run_dir.say,
        )
        if not world.is_main:
            return {"steps": result.step, "rank": world.rank}
        whose = None
        if config.workspace:
            from dlf.learn.parts import whose_code

            whose = whose_code(config.workspace, LEARNER_PIECES)
        return report(config, run_dir, corpus, model, lr, result, world.size, whose)
    finally:
        close_distributed()
