"""A trained GPT from its run directory, and its loss and perplexity on any text.

A run directory (of ``dlf run gpt-text``, ``gpt-shakespeare-char``, ``gpt-shakespeare-bpe``, or
``dlf.gpt.train_ddp``) holds ``tokenizer.json`` and ``checkpoint/`` (see
:mod:`dlf.gpt.checkpoint`). A folder without them is a :class:`CheckpointNotFound`, a
:class:`dlf.data.DataError` (``dlf`` exit status 1).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dlf.data import DataError
from dlf.gpt.checkpoint import load_gpt, read_manifest
from dlf.gpt.data import TokenDataset, split_text
from dlf.gpt.distributed import World
from dlf.gpt.model import GPT
from dlf.gpt.text import (
    TextDataError,
    Tokenizer,
    check_length,
    encode_checked,
    load_tokenizer,
    read_text,
)
from dlf.gpt.train import evaluate


class CheckpointNotFound(DataError):
    """A folder that holds no trained GPT (no checkpoint, or no tokenizer)."""


@dataclass
class TrainedGPT:
    """A GPT in eval mode, the tokenizer it was trained with, its run folder and its step."""

    model: GPT
    tokenizer: Tokenizer
    folder: Path
    step: int


def load_trained(folder: str | os.PathLike, device: torch.device | str = "cpu") -> TrainedGPT:
    """The model and tokenizer of a run directory (or a CheckpointNotFound saying what is
    missing)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise CheckpointNotFound(f"{folder}: no such run directory")
    try:
        manifest = read_manifest(folder)
    except (FileNotFoundError, ValueError) as err:
        raise CheckpointNotFound(str(err)) from None
    try:
        tokenizer = load_tokenizer(folder / "tokenizer.json")
    except TextDataError as err:
        raise CheckpointNotFound(f"{err}: the run directory is incomplete") from None
    model = load_gpt(folder, device)
    if tokenizer.vocab_size > model.config.vocab_size:
        raise CheckpointNotFound(
            f"{folder}: the tokenizer has {tokenizer.vocab_size} tokens but the model only "
            f"{model.config.vocab_size}: tokenizer.json is not the one this model was trained with"
        )
    return TrainedGPT(model, tokenizer, folder, int(manifest["step"]))


@dataclass
class TextEval:
    """The mean loss of a model over the tokens of a text, each token predicted once.

    ``loss``: mean cross-entropy, nats per token; ``perplexity`` = exp(loss); ``tokens``: the
    number of predicted tokens; ``characters``: how many characters they spell.
    ``bits_per_char`` = loss * tokens / (characters * ln 2), comparable across tokenizers.
    """

    loss: float
    perplexity: float
    tokens: int
    characters: int

    @property
    def bits_per_char(self) -> float:
        return self.loss * self.tokens / (self.characters * math.log(2))


def evaluate_tokens(
    model: GPT, tokenizer: Tokenizer, tokens: np.ndarray, batch_size: int = 32
) -> TextEval:
    """Loss and perplexity of ``model`` on a 1-D token array, over non-overlapping windows.

    Windows start at 0, T, 2T, ... (T = block_size) while a whole window fits, so tokens
    ``1 .. kT`` are each predicted once, from up to T tokens of context:
    loss = -(1 / kT) * sum_t log p(x_t | x_<t), perplexity = exp(loss). Needs at least T + 1
    tokens (checked by the caller, :func:`dlf.gpt.text.check_length`).
    """
    block_size = model.config.block_size
    dataset = TokenDataset(tokens, block_size)
    starts = np.arange(0, len(dataset), block_size)
    device = next(model.parameters()).device
    was_training = model.training
    loss = evaluate(model, dataset, starts, batch_size, device, World())
    model.train(was_training)
    n_predicted = len(starts) * block_size
    targets = np.asarray(tokens)[1 : n_predicted + 1].tolist()
    characters = len(tokenizer.decode(targets))
    return TextEval(loss, math.exp(min(loss, 700.0)), n_predicted, characters)


def evaluate_text(trained: TrainedGPT, text: str, source: str, batch_size: int = 32) -> TextEval:
    """:func:`evaluate_tokens` on ``text`` encoded with the run's own tokenizer (a character it
    cannot encode, or a text shorter than one block, is a TextDataError naming ``source``)."""
    tokens = encode_checked(trained.tokenizer, text, source)
    check_length(len(tokens), trained.model.config.block_size, source)
    return evaluate_tokens(trained.model, trained.tokenizer, np.asarray(tokens), batch_size)


def own_validation_text(folder: str | os.PathLike) -> tuple[str, str]:
    """The validation part of the text a run trained on, and a description of it.

    Read from the run's ``config.json`` (``data`` and ``val_fraction``, as the gpt-text recipes
    record them) and split as in training (:func:`dlf.gpt.data.split_text`).
    """
    path = Path(folder).expanduser() / "config.json"
    config = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    if "data" not in config or "val_fraction" not in config:
        raise TextDataError(
            f"{Path(folder)} does not record its training text (no config.json with data and "
            "val_fraction): give the text to evaluate on as data=PATH"
        )
    _, val = split_text(read_text(config["data"]), config["val_fraction"])
    return val, f"validation split of {config['data']} (last {config['val_fraction']:.0%})"
