"""A trained GPT from its run directory, and its loss and perplexity on any text.

A run directory (of ``dlf run gpt-text``, ``gpt-shakespeare-char``, ``gpt-shakespeare-bpe``, or
``dlf.gpt.train_ddp``) holds ``tokenizer.json`` and ``checkpoint/``, the run's last snapshot
(see :mod:`dlf.gpt.snapshot`). A folder without them is a :class:`CheckpointNotFound`; a file that
is damaged, disagrees with the others or points outside the folder, a :class:`RunFolderError`:
both :class:`dlf.data.DataError` (``dlf`` prints one line naming the file, exit status 1).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError

from dlf.data import DataError
from dlf.gpt.data import TokenDataset, split_text
from dlf.gpt.distributed import World
from dlf.gpt.model import GPT, GPTConfig
from dlf.gpt.snapshot import load_gpt, read_manifest
from dlf.gpt.text import (
    TextDataError,
    Tokenizer,
    check_length,
    encode_checked,
    is_corpus_name,
    load_tokenizer,
    read_text,
)
from dlf.gpt.train import evaluate


class RunFolderError(DataError):
    """A file of a run folder that cannot be used: damaged, inconsistent with the others, or
    pointing outside the folder. The message names the file and what is wrong with it."""


class CheckpointNotFound(RunFolderError):
    """A folder that holds no trained GPT (no checkpoint, or no tokenizer)."""


@dataclass
class TrainedGPT:
    """A GPT in eval mode, the tokenizer it was trained with, its run folder and its step."""

    model: GPT
    tokenizer: Tokenizer
    folder: Path
    step: int


def load_trained(folder: str | os.PathLike, device: torch.device | str = "cpu") -> TrainedGPT:
    """The model and tokenizer of a run directory, checked before use.

    Checked: ``checkpoint.json`` is a checkpoint manifest whose ``model_config`` builds a GPT,
    whose ``model_file`` lies inside the checkpoint folder and whose ``step`` is a count; the
    weights file is a complete safetensors file that fits that config, every weight finite;
    ``tokenizer.json`` is a tokenizer of exactly the model's vocabulary size. Anything else is a
    :class:`RunFolderError` (a :class:`CheckpointNotFound` when a file is missing) naming the
    file and what is wrong, in one line.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise CheckpointNotFound(f"{folder}: no such run directory")
    manifest = _read_manifest(folder)
    manifest_path = Path(manifest["folder"]) / "checkpoint.json"
    model_path = _model_path(manifest, manifest_path)
    tokenizer = _read_tokenizer(folder / "tokenizer.json")
    vocab_size = manifest["model_config"].get("vocab_size", GPTConfig.vocab_size)
    if tokenizer.vocab_size != vocab_size:
        raise RunFolderError(
            f"{folder / 'tokenizer.json'} has {tokenizer.vocab_size} tokens but the model "
            f"({manifest_path}) {vocab_size}: it is not the tokenizer this model was trained with"
        )
    try:
        model = load_gpt(folder, device)
    except SafetensorError as err:
        raise RunFolderError(
            f"{model_path} is not a complete safetensors file ({err}): the file is damaged or "
            "was cut short"
        ) from None
    except (ValueError, RuntimeError, TypeError) as err:
        raise RunFolderError(
            f"{model_path}: the weights do not fit the model_config of {manifest_path} "
            f"({_first_line(err)})"
        ) from None
    _check_finite(model, model_path)
    return TrainedGPT(model, tokenizer, folder, manifest["step"])


def _read_manifest(folder: Path) -> dict:
    """``read_manifest(folder)`` with its fields checked: ``model_config`` builds a GPTConfig,
    ``step`` is an int >= 0 (errors name checkpoint.json)."""
    try:
        manifest = read_manifest(folder)
    except FileNotFoundError as err:
        raise CheckpointNotFound(str(err)) from None
    except json.JSONDecodeError as err:
        raise RunFolderError(f"the checkpoint.json of {folder} is not JSON ({err})") from None
    except (ValueError, AttributeError, TypeError) as err:  # not UTF-8, not an object, ...
        raise RunFolderError(f"the checkpoint.json of {folder}: {_first_line(err)}") from None
    path = Path(manifest["folder"]) / "checkpoint.json"
    step, config = manifest.get("step"), manifest.get("model_config")
    if type(step) is not int or step < 0:
        raise RunFolderError(f"{path}: step must be a whole number >= 0, got {step!r}")
    if not isinstance(config, dict):
        raise RunFolderError(f"{path}: model_config must be an object, got {config!r}")
    try:
        GPTConfig(**config)
    except (TypeError, ValueError, ZeroDivisionError) as err:
        raise RunFolderError(f"{path}: model_config is not a GPT's: {_first_line(err)}") from None
    return manifest


def _model_path(manifest: dict, manifest_path: Path) -> Path:
    """The weights file named by ``model_file``: a file inside the checkpoint folder (no
    absolute path, no ``..`` or link leading out of it)."""
    name = manifest.get("model_file")
    if not isinstance(name, str) or not name:
        raise RunFolderError(f"{manifest_path}: model_file must be a file name, got {name!r}")
    inside = manifest_path.parent.resolve()
    path = (inside / name).resolve()
    if not path.is_relative_to(inside):
        raise RunFolderError(
            f"{manifest_path}: model_file {name!r} points outside the checkpoint folder "
            f"{manifest_path.parent}; a checkpoint reads only its own files"
        )
    if not path.is_file():
        raise CheckpointNotFound(f"{manifest_path} names {name}, which is not in {inside}")
    return manifest_path.parent / name


def _read_tokenizer(path: Path) -> Tokenizer:
    """:func:`dlf.gpt.text.load_tokenizer`, its errors naming ``path`` (missing: the run is
    incomplete, CheckpointNotFound; unreadable or malformed: RunFolderError)."""
    try:
        return load_tokenizer(path)
    except TextDataError as err:
        if not path.is_file():
            raise CheckpointNotFound(f"{err}: the run directory is incomplete") from None
        raise RunFolderError(str(err)) from None
    except (ValueError, KeyError, TypeError) as err:
        raise RunFolderError(f"{path}: not a usable tokenizer: {_first_line(err)}") from None


def _check_finite(model: GPT, path: Path) -> None:
    """Refuse weights holding NaN or infinity (what a diverged run would have saved)."""
    for name, weight in model.named_parameters():
        bad = int((~torch.isfinite(weight.detach())).sum())
        if bad:
            raise RunFolderError(
                f"{path}: {name} holds {bad} NaN or infinite value(s) of {weight.numel()}: "
                "these weights are unusable (saved from a diverged run?)"
            )


def _first_line(err: BaseException) -> str:
    """The first informative line of an error message (torch's load_state_dict errors start
    with a heading line). Example: ``"Error(s) in ...:\\n\\tsize mismatch for w"`` ->
    ``"size mismatch for w"``."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        return lines[1]
    return lines[0] if lines else type(err).__name__


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
    record them: ``data`` resolved to an absolute path when the run started) and split as in
    training (:func:`dlf.gpt.data.split_text`). A ``config.json`` that is not JSON, lacks these
    fields or holds values of the wrong kind, or a relative ``data`` (which folder it was
    relative to is not known), is a TextDataError naming the file.
    """
    path = Path(folder).expanduser() / "config.json"
    advice = "give the text to evaluate on as data=PATH"
    if not path.is_file():
        raise TextDataError(f"{Path(folder)} has no config.json to say its training text: {advice}")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise TextDataError(f"{path} is not JSON ({err}): {advice}") from None
    if not isinstance(config, dict) or "data" not in config or "val_fraction" not in config:
        raise TextDataError(f"{path} does not record data and val_fraction: {advice}")
    data, fraction = config["data"], config["val_fraction"]
    if not isinstance(data, str) or not data:
        raise TextDataError(f"{path}: data must be a path or a corpus name, got {data!r}")
    if type(fraction) not in (int, float) or not 0 < fraction < 1:
        raise TextDataError(f"{path}: val_fraction must be a number in (0, 1), got {fraction!r}")
    if not is_corpus_name(data) and not Path(data).expanduser().is_absolute():
        raise TextDataError(
            f"{path} records data={data}, a relative path, and not the folder it was relative "
            f"to: {advice}"
        )
    _, val = split_text(read_text(data), fraction)
    return val, f"validation split of {data} (last {fraction:.0%})"
