"""A small character-level GPT for the recipes that need one to sample from (``sampling``,
``masked-lm``): trained on the spot with the one training loop (:func:`dlf.gpt.train.train`),
or loaded from the run directory of a ``gpt-shakespeare-char`` run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dlf.gpt.data import split_tokens
from dlf.gpt.model import GPT, GPTConfig
from dlf.gpt.tokenizer import CharTokenizer
from dlf.gpt.train import TrainConfig, TrainResult, train
from dlf.gpt.trained import load_trained
from dlf.runs import RunDir


@dataclass
class SmallGPT:
    """A trained char GPT (eval mode), its tokenizer, where it came from, and its training run
    (None when loaded)."""

    model: GPT
    tokenizer: CharTokenizer
    source: str
    result: TrainResult | None = None


def prefixed_log(run_dir: RunDir, prefix: str):
    """A ``log(step, **metrics)`` that writes each metric to ``run_dir`` as ``prefix + name``,
    so several models' curves share one metrics.jsonl. Example: prefix ``"gpt_"``, ``loss=2.1``
    -> ``{"step": s, "gpt_loss": 2.1}``."""

    def log(step: int, **metrics) -> None:
        run_dir.log(step, **{prefix + k: v for k, v in metrics.items()})

    return log


def load_char_gpt(run_dir: str | Path) -> SmallGPT:
    """The GPT and character tokenizer of a ``gpt-shakespeare-char`` run directory
    (:func:`dlf.gpt.trained.load_trained`); a BPE run is refused, since these recipes compare
    characters."""
    trained = load_trained(run_dir)
    if not isinstance(trained.tokenizer, CharTokenizer):
        raise ValueError(
            f"{run_dir} holds a {type(trained.tokenizer).__name__}; give the run directory of a "
            "character-level run (gpt-shakespeare-char)"
        )
    source = f"loaded from {trained.folder} (step {trained.step})"
    return SmallGPT(trained.model, trained.tokenizer, source)


def train_char_gpt(
    text: str,
    model_config: GPTConfig,
    train_config: TrainConfig,
    run_dir: RunDir,
    val_fraction: float = 0.1,
) -> SmallGPT:
    """Train a char GPT of ``model_config`` (its vocab_size replaced by the text's) on the first
    ``1 - val_fraction`` of ``text``; metrics go to ``run_dir`` with the prefix ``gpt_``.
    Returns the model in eval mode. (The tokenizer is ``CharTokenizer.from_text(text)``.)"""
    import torch

    tokenizer = CharTokenizer.from_text(text)
    train_tokens, val_tokens = split_tokens(np.array(tokenizer.encode(text)), val_fraction)
    model_config = dataclasses.replace(model_config, vocab_size=tokenizer.vocab_size)
    torch.manual_seed(train_config.seed)
    model = GPT(model_config)

    log = prefixed_log(run_dir, "gpt_")
    result = train(model, train_tokens, val_tokens, train_config, log=log, say=run_dir.say)
    model.eval()
    c = model_config
    source = (
        f"trained here: {c.n_layer} layers, {c.n_embd} wide, block {c.block_size}, "
        f"{result.step} steps in {result.train_seconds:.1f} s, val loss {result.final_val_loss:.3f}"
    )
    return SmallGPT(model, tokenizer, source, result)
