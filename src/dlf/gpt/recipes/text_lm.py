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
directory is made. On several processes (DDP, gloo on CPU), rank 0 alone makes and fills the
run directory::

    torchrun --standalone --nproc_per_node=2 "$(which dlf)" run gpt-text data=my.txt batch_size=6

(each process takes ``batch_size`` windows of every global batch of ``batch_size *
grad_accum_steps * processes``; ``batch_size=6`` on 2 processes is the 12 of one).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from dlf.gpt.data import split_text
from dlf.gpt.distributed import close_distributed, init_distributed
from dlf.gpt.model import GPT, GPTConfig
from dlf.gpt.stream import TextStream
from dlf.gpt.text import (
    Tokenizer,
    check_length,
    encode_checked,
    is_corpus_name,
    read_text,
    source_stamp,
)
from dlf.gpt.tokenizer import BPETokenizer, CharTokenizer
from dlf.gpt.train import TrainConfig, TrainResult, train
from dlf.gpt.trained import TextEval, TrainedGPT, evaluate_text, evaluate_tokens, load_trained
from dlf.recipes.config import ConfigError
from dlf.runs import RunDir, line_plot
from dlf.sampling import generate, sample

SPECIAL_TOKENS = ("<|endoftext|>",)
PROMPT_ADVICE = "give a prompt= of characters the text holds"


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
    validation text go in the report beside this one's. ``threads``: torch CPU threads (0:
    torch's default; 1 is fastest for a small model on a busy machine). ``workspace``: a
    ``dlf learn`` workspace whose CausalSelfAttention and Block (the exercises
    causal-self-attention and gpt-block, which must pass) build the GPT instead of dlf's.

    The model and batch are nanoGPT's CPU "baby GPT" (4 x 4 x 128, block 64, batch 12, 2000
    steps); the learning rate is 3e-3 with a 50-step warm-up instead of 1e-3 / 100: measured
    here, validation loss 1.80 instead of 1.92 (characters) for the same 2000 steps.
    """

    data: str = "tinyshakespeare"
    tokenizer: Literal["char", "bpe"] = "char"
    vocab_size: int = 512
    pattern: Literal["gpt4", "gpt2", "none"] = "gpt4"
    init_from: str = ""
    compare_with: str = ""
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    dropout: float = 0.0
    bias: bool = True
    attention: Literal["ours", "fused"] = "fused"
    max_steps: int = 2000
    batch_size: int = 12
    grad_accum_steps: int = 1
    learning_rate: float = 3e-3
    finetune_learning_rate: float = 3e-4
    min_lr: float = 1e-4
    warmup_steps: int = 50
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0
    eval_interval: int = 250
    eval_batches: int = 20
    val_fraction: float = 0.1
    seed: int = 1337
    threads: int = 1
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    compile: bool = False
    device: str = "auto"
    sample_tokens: int = 500
    prompt: str = "\n"
    temperature: float = 0.8
    top_k: int = 40
    workspace: str = ""


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


@functools.lru_cache(maxsize=4)
def _prepare(key: tuple, stamps: tuple) -> Corpus:
    data, kind, vocab_size, pattern, init_from, val_fraction = key
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


def prepare(config: TextLMConfig) -> Corpus:
    """Read, split and tokenize ``config.data`` (cached on the fields that matter and the files'
    sizes and times, so :func:`preflight` and :func:`run` do it once)."""
    c = config
    key = (c.data, c.tokenizer, c.vocab_size, c.pattern, c.init_from, c.val_fraction)
    parent_stamp = ()
    if c.init_from:
        manifest = Path(c.init_from).expanduser() / "checkpoint" / "checkpoint.json"
        parent_stamp = (str(manifest), manifest.stat().st_mtime_ns if manifest.exists() else 0)
    return _prepare(key, (source_stamp(c.data), parent_stamp))


def preflight(config: TextLMConfig) -> None:
    """Refuse, before any folder is made, what would fail the run: a missing path, an empty or
    binary file, a text too short for one block (or one batch), characters the fine-tuned
    model's tokenizer cannot encode, a run directory without a checkpoint, a workspace whose
    pieces do not pass. Raises :class:`dlf.data.DataError` subclasses or a
    :class:`dlf.learn.errors.WorkspaceError` (one line each; ``dlf`` exits with status 1)."""
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
    fields = dataclasses.asdict(config)
    names = {f.name for f in dataclasses.fields(GPTConfig)} - {"vocab_size"}
    shape = GPTConfig(
        vocab_size=corpus.tokenizer.vocab_size, **{k: fields[k] for k in names if k in fields}
    )
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
        fields = dataclasses.asdict(config)
        fields.update(learning_rate=lr, min_lr=min(config.min_lr, lr))
        names = {f.name for f in dataclasses.fields(TrainConfig)} & fields.keys()
        train_config = TrainConfig(**{k: fields[k] for k in names})
        run_dir.say(
            f"{corpus.train_chars + len(corpus.val_text):,} characters -> "
            f"{len(corpus.train_tokens):,} + {len(corpus.val_tokens):,} tokens "
            f"(vocabulary {corpus.tokenizer.vocab_size}); "
            f"{model.num_params(non_embedding=False):,} parameters; "
            f"{torch.get_num_threads()} thread(s) x {world.size} process(es)"
            + (f"; fine-tuning {corpus.parent.folder}" if corpus.parent else "")
        )
        result = train(
            model,
            corpus.train_tokens,
            corpus.val_tokens,
            train_config,
            checkpoint_dir=run_dir.path / "checkpoint",
            log=run_dir.log,
            say=run_dir.say,
        )
        if not world.is_main:
            return {"steps": result.step, "rank": world.rank}
        return report(config, run_dir, corpus, model, lr, result, world.size)
    finally:
        close_distributed()


def generate_sample(config: TextLMConfig, model: GPT, tokenizer: Tokenizer) -> str:
    """The prompt and ``sample_tokens`` tokens sampled after it (temperature, top-k, seeded)."""
    model.eval()
    return sample_text(config, model.step_fn(), tokenizer, next(model.parameters()).device)


def sample_text(
    config: TextLMConfig, step_fn, tokenizer: Tokenizer, device: torch.device | str = "cpu"
) -> str:
    """``config.prompt`` and ``config.sample_tokens`` tokens sampled after it from any model
    behind a ``dlf.sampling`` ``step_fn`` (temperature, top-k, seeded by ``config.seed``)."""
    generator = torch.Generator(device=device).manual_seed(config.seed)
    strategy = functools.partial(
        sample, temperature=config.temperature, top_k=config.top_k, generator=generator
    )
    prompt = torch.tensor(
        encode_checked(tokenizer, config.prompt, "prompt", PROMPT_ADVICE), device=device
    )
    tokens = generate(step_fn, prompt, config.sample_tokens, strategy)
    return config.prompt + "".join(TextStream(tokens, tokenizer))


def read_metrics(folder: Path) -> list[dict]:
    """The records of a run's metrics.jsonl ([] if it has none)."""
    path = folder / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def loss_series(run_dir: RunDir, parent: TrainedGPT | None) -> dict[str, tuple[list, list]]:
    """The curves of the loss figure, ``label -> (steps, losses)``: training (each logged batch)
    and the evaluations (train, val); when fine-tuning, the parent run's evaluations first
    (phase 1, read from its metrics.jsonl) and this run's after them, its steps shifted by the
    parent's (phase 2)."""
    if parent is None:
        keys = (("loss", "train (batch)"), ("train_loss", "train"), ("val_loss", "validation"))
        return {label: run_dir.series(key) for key, label in keys}
    series = {}
    records = read_metrics(parent.folder)
    phases = [
        ("phase 1 (pre-training)", 0, records),
        ("phase 2 (fine-tuning)", parent.step, run_dir.history),
    ]
    for phase, offset, rows in phases:
        for key, label in (("train_loss", "train"), ("val_loss", "validation")):
            kept = [r for r in rows if key in r]
            series[f"{phase}: {label}"] = (
                [r["step"] + offset for r in kept],
                [r[key] for r in kept],
            )
    return series


def loss_figure(run_dir: RunDir, parent: TrainedGPT | None) -> None:
    """The loss curves of :func:`loss_series` in the report."""
    caption = (
        "Training loss of each logged batch, and the loss of fixed train/validation batches at "
        "every evaluation."
    )
    if parent is not None:
        caption = (
            f"Both phases: pre-training ({parent.folder}, {parent.step} steps, read from its "
            "metrics.jsonl), then fine-tuning from its checkpoint on this run's text, steps "
            "counted on from there. The loss of fixed train/validation batches at every "
            "evaluation, each phase on its own text."
        )
    series = loss_series(run_dir, parent)
    run_dir.figure("loss", line_plot(series, "step", "cross-entropy (nats/token)"), caption=caption)


def per_char_row(name: str, tokenizer: Tokenizer, evaluation: TextEval) -> list:
    return [
        name,
        f"{type(tokenizer).__name__} ({tokenizer.vocab_size})",
        evaluation.tokens,
        evaluation.characters,
        f"{evaluation.characters / evaluation.tokens:.3f}",
        f"{evaluation.loss:.4f}",
        f"{evaluation.perplexity:.2f}",
        f"{evaluation.bits_per_char:.4f}",
    ]


def report(
    config: TextLMConfig,
    run_dir: RunDir,
    corpus: Corpus,
    model: GPT,
    lr: float,
    result: TrainResult,
    processes: int,
) -> dict:
    """Figures, tables, the sample; returns the summary."""
    tokenizer = corpus.tokenizer
    final = evaluate_tokens(model, tokenizer, corpus.val_tokens, config.batch_size)
    text_out = generate_sample(config, model, tokenizer)
    if config.workspace:
        from dlf.learn.parts import whose_code

        run_dir.text(
            "Whose code ran",
            whose_code(config.workspace, LEARNER_PIECES)
            + " The embeddings, the MLP, the layer norms, the training loop and the sampler "
            "are dlf's.",
        )
    loss_figure(run_dir, corpus.parent)
    run_dir.figure(
        "lr",
        line_plot({"lr": run_dir.series("lr")}, "step", "learning rate"),
        caption="Linear warm-up, then cosine decay to min_lr.",
    )
    run_dir.table(
        "Data",
        ["source", "characters (train / val)", "tokenizer", "tokens (train / val)", "chars/token"],
        [
            [
                config.data,
                f"{corpus.train_chars:,} / {len(corpus.val_text):,}",
                repr(tokenizer),
                f"{len(corpus.train_tokens):,} / {len(corpus.val_tokens):,}",
                f"{corpus.train_chars / max(len(corpus.train_tokens), 1):.3f}",
            ]
        ],
    )
    if corpus.parent is not None:
        run_dir.text(
            "Fine-tuning",
            f"Started from {corpus.parent.folder} (step {corpus.parent.step}); its model shape "
            f"and tokenizer are kept; peak learning rate {lr:g} (finetune_learning_rate).",
        )
    c = model.config
    run_dir.table(
        "Model",
        ["n_layer", "n_head", "n_embd", "block_size", "vocab_size", "parameters", "attention"],
        [
            [c.n_layer, c.n_head, c.n_embd, c.block_size, c.vocab_size,
             model.num_params(non_embedding=False), c.attention]
        ],
    )  # fmt: skip
    evals = result.evals
    run_dir.table(
        "Evaluations (fixed batches)",
        ["step", "train loss", "val loss", "val perplexity"],
        [
            [e["step"], f"{e['train_loss']:.4f}", f"{e['val_loss']:.4f}",
             f"{e['val_perplexity']:.2f}"]
            for e in evals
        ],
    )  # fmt: skip
    rows = [per_char_row("this run", tokenizer, final)]
    compared = None
    if config.compare_with:
        other = load_trained(config.compare_with)
        compared = evaluate_text(other, corpus.val_text, config.compare_with, config.batch_size)
        rows.append(per_char_row(str(other.folder), other.tokenizer, compared))
    run_dir.table(
        "Validation text, every token predicted once",
        ["model", "tokenizer", "tokens", "characters", "chars/token", "loss (nats/token)",
         "perplexity (per token)", "bits per character"],
        rows,
    )  # fmt: skip
    run_dir.text(
        "Comparing tokenizers",
        "Loss per token depends on what a token is; loss per character does not. Every gpt-text "
        "run splits its text at the same character (val_fraction), so the bits per character "
        "of runs with different tokenizers on the same data are measured on the same "
        "validation characters. (A window of block_size BPE tokens also spans more characters "
        "of context than one of block_size characters.)",
    )
    tokens_per_second = (
        result.tokens_per_step * (result.step - result.start_step) / max(result.train_seconds, 1e-9)
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    run_dir.text(
        "Timing",
        f"{result.step - result.start_step} steps in {result.train_seconds:.1f} s of training "
        f"({tokens_per_second:,.0f} tokens/s, {torch.get_num_threads()} thread(s) x {processes} "
        f"process(es), 1-minute load average {load:.2f} at the end); {result.wall_seconds:.1f} s "
        "with evaluations and checkpoints.",
    )
    run_dir.text(
        f"Sample (temperature {config.temperature}, top-k {config.top_k})", text_out, pre=True
    )
    best = min(evals, key=lambda e: e["val_loss"])
    summary = {
        "val_loss": evals[-1]["val_loss"],
        "val_perplexity": evals[-1]["val_perplexity"],
        "best_val_loss": best["val_loss"],
        "train_loss": evals[-1]["train_loss"],
        "val_loss_all_tokens": final.loss,
        "val_perplexity_all_tokens": final.perplexity,
        "val_bits_per_char": final.bits_per_char,
        "chars_per_token": final.characters / final.tokens,
        "vocab_size": tokenizer.vocab_size,
        "steps": result.step,
        "learning_rate": lr,
        "init_from": str(corpus.parent.folder) if corpus.parent else None,
        "train_seconds": round(result.train_seconds, 2),
        "tokens_per_second": round(tokens_per_second),
        "parameters": model.num_params(non_embedding=False),
        "processes": processes,
        "load_average": round(load, 2),
        "sample": text_out,
        "code": f"workspace {config.workspace}" if config.workspace else "dlf",
    }
    if compared is not None:
        summary["compare_bits_per_char"] = compared.bits_per_char
    return summary
