"""numpy-gpt: the character-level GPT on Tiny Shakespeare trained in NumPy alone, every backward
written by hand (``dlf.scratch.gpt``), and the same run in PyTorch beside it.

1. The text, split and tokenized as ``gpt-shakespeare-char`` does (:mod:`dlf.gpt.recipes.text_lm`).
2. A NumPy GPT of nanoGPT's "baby" shape (4 layers, 4 heads, 128 wide, block 64), GPT-2's
   initialisation. Before training, its logits, loss and gradients are compared with autograd's
   in float64 on one training batch (:func:`dlf.gpt.numpy_twin.gradient_parity`).
3. Trained in float32 by :func:`dlf.gpt.numpy_train.train_numpy`: NumPy forward, hand-written
   backward, global-norm clipping, warm-up and cosine, AdamW (Module 1's, decay on the matrices).
4. ``peer=true``: ``dlf.gpt.GPT`` starts from a copy of the same initial weights and is trained
   by :func:`dlf.gpt.train.train` on the same batches in the same order, same threads; its
   curves (``torch_*`` in metrics.jsonl) are drawn over the NumPy ones, and both are sampled.

The stated effect, checked and marked in the report: the NumPy model's validation loss ends at
least 1 nat below ln(V), the loss of a uniform guess, and close to PyTorch's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from dlf.gpt.model import GPTConfig
from dlf.gpt.numpy_train import train_numpy, windows
from dlf.gpt.numpy_twin import gradient_parity, torch_twin
from dlf.gpt.recipes.numpy_gpt_report import report
from dlf.gpt.recipes.small_gpt import prefixed_log
from dlf.gpt.recipes.text_lm import TextLMConfig, is_corpus_name, prepare
from dlf.gpt.recipes.text_lm import preflight as text_preflight
from dlf.gpt.train import TrainConfig, train
from dlf.recipes import ConfigError, Recipe
from dlf.runs import RunDir
from dlf.runs.weights import save_arrays
from dlf.scratch.gpt import GPT as NumpyGPT


@dataclass
class NumpyGPTConfig:
    """Data, model shape and training with ``gpt-shakespeare-char``'s names and defaults
    (nanoGPT's CPU "baby GPT"; learning rate 3e-3, 50 warm-up steps); the model is always
    float32 with no dropout. ``threads``: NumPy BLAS and torch threads (0: leave both as they
    are). ``peer``: also train the PyTorch twin. Sampling: ``prompt``, ``sample_tokens``,
    ``temperature``, ``top_k`` as in gpt-shakespeare-char."""

    data: str = "tinyshakespeare"
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    bias: bool = True
    max_steps: int = 2000
    batch_size: int = 12
    learning_rate: float = 3e-3
    min_lr: float = 1e-4
    warmup_steps: int = 50
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0
    eval_interval: int = 250
    eval_batches: int = 20
    log_interval: int = 10
    val_fraction: float = 0.1
    seed: int = 1337
    threads: int = 1
    peer: bool = True
    sample_tokens: int = 500
    prompt: str = "\n"
    temperature: float = 0.8
    top_k: int = 40


QUICK = {
    "n_layer": 2,
    "n_embd": 64,
    "block_size": 32,
    "max_steps": 200,
    "warmup_steps": 20,
    "eval_interval": 50,
    "eval_batches": 8,
    "sample_tokens": 100,
}


def text_config(config: NumpyGPTConfig) -> TextLMConfig:
    """The fields text_lm reads the data with (character tokenizer)."""
    names = {f.name for f in dataclasses.fields(TextLMConfig)} & {
        f.name for f in dataclasses.fields(NumpyGPTConfig)
    }
    return TextLMConfig(tokenizer="char", **{k: getattr(config, k) for k in names})


def train_config(config: NumpyGPTConfig) -> TrainConfig:
    """The TrainConfig both runs follow (CPU, float32, one process)."""
    names = {f.name for f in dataclasses.fields(TrainConfig)} & {
        f.name for f in dataclasses.fields(NumpyGPTConfig)
    }
    fields = {k: getattr(config, k) for k in names}
    return TrainConfig(device="cpu", precision="fp32", **fields)


def preflight(config: NumpyGPTConfig) -> None:
    """Every value checked before any work: the model's shape (GPTConfig's rules), the
    training's (TrainConfig's), the ranges below, then the text (text_lm's preflight)."""
    try:
        GPTConfig(
            block_size=config.block_size,
            n_layer=config.n_layer,
            n_head=config.n_head,
            n_embd=config.n_embd,
            bias=config.bias,
        )
        train_config(config)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    if min(config.n_head, config.n_embd, config.block_size, config.log_interval) < 1:
        raise ConfigError("n_head, n_embd, block_size and log_interval must be >= 1")
    if not 0 <= config.min_lr <= config.learning_rate:
        raise ConfigError(
            f"need 0 <= min_lr <= learning_rate, got {config.min_lr}, {config.learning_rate}"
        )
    if config.weight_decay < 0 or config.grad_clip < 0 or config.threads < 0:
        raise ConfigError("weight_decay, grad_clip and threads must be >= 0")
    if not (0 <= config.beta1 < 1 and 0 <= config.beta2 < 1):
        raise ConfigError(f"betas must lie in [0, 1), got {config.beta1}, {config.beta2}")
    if config.temperature <= 0 or config.top_k < 1 or config.sample_tokens < 0:
        raise ConfigError("need temperature > 0, top_k >= 1 and sample_tokens >= 0")
    text_preflight(text_config(config))


def datasets(config: NumpyGPTConfig) -> tuple[str, ...]:
    return (config.data,) if is_corpus_name(config.data) else ()


def initial_parity(model: NumpyGPT, rows: np.ndarray, batch_size: int) -> dict[str, float]:
    """:func:`gradient_parity` of ``model``'s weights in float64 on the first ``batch_size``
    training windows (a copy: ``model`` is not touched)."""
    exact = torch_twin(model).double()
    chunk = torch.from_numpy(np.ascontiguousarray(rows[:batch_size]))
    return gradient_parity(exact, chunk[:, :-1], chunk[:, 1:])


def run(config: NumpyGPTConfig, run_dir: RunDir) -> dict:
    corpus = prepare(text_config(config))
    tokenizer = corpus.tokenizer
    tokenizer.save(run_dir.path / "tokenizer.json")
    settings = train_config(config)
    model = NumpyGPT(
        tokenizer.vocab_size,
        config.block_size,
        config.n_layer,
        config.n_head,
        config.n_embd,
        config.bias,
        rng=np.random.default_rng(config.seed),
    )
    peer_model = torch_twin(model) if config.peer else None  # the same initial weights
    parity = initial_parity(
        model, windows(corpus.train_tokens, config.block_size), config.batch_size
    )
    run_dir.say(
        f"{model.num_parameters():,} parameters, vocabulary {tokenizer.vocab_size}; gradients "
        f"against autograd (float64): max relative error {max(parity.values()):.1e}"
    )
    threads = config.threads or None
    if threads:
        torch.set_num_threads(threads)
    with threadpool_limits(limits=threads, user_api="blas"):
        run_dir.say("NumPy:")
        result = train_numpy(
            model,
            corpus.train_tokens,
            corpus.val_tokens,
            settings,
            log=run_dir.log,
            say=run_dir.say,
        )
        peer = None
        if peer_model is not None:
            run_dir.say("PyTorch:")
            peer = train(
                peer_model,
                corpus.train_tokens,
                corpus.val_tokens,
                settings,
                log=prefixed_log(run_dir, "torch_"),
                say=run_dir.say,
            )
    save_arrays(run_dir.path / "model.safetensors", model.state_dict())
    return report(config, run_dir, model, peer_model, result, peer, parity, tokenizer)


RECIPE = Recipe(
    name="numpy-gpt",
    module=4,
    description="the char GPT trained in NumPy alone (hand-written backward), PyTorch beside it",
    config=NumpyGPTConfig,
    run=run,
    quick=QUICK,
    datasets=datasets,
    preflight=preflight,
)
