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

import math
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
from dlf.gpt.train import NonFiniteLossError, TrainConfig, train
from dlf.recipes import ConfigError, Recipe
from dlf.recipes.config import ConfigMap, ranged
from dlf.runs import RunDir
from dlf.runs.weights import save_arrays
from dlf.scratch.gpt import GPT as NumpyGPT
from dlf.scratch.trainer import weights_finite


@dataclass
class NumpyGPTConfig:
    """Data, model shape and training with ``gpt-shakespeare-char``'s names and defaults
    (nanoGPT's CPU "baby GPT"; learning rate 3e-3, 50 warm-up steps); the model is always
    float32 with no dropout. ``threads``: NumPy BLAS and torch threads (0: leave both as they
    are). ``peer``: also train the PyTorch twin. Sampling: ``prompt``, ``sample_tokens``,
    ``temperature``, ``top_k`` as in gpt-shakespeare-char."""

    data: str = "tinyshakespeare"  # a UTF-8 file, a folder of .txt files, or tinyshakespeare
    n_layer: int = ranged(4, ge=1)  # transformer blocks
    n_head: int = ranged(4, ge=1)  # attention heads; n_embd must be a multiple of it
    n_embd: int = ranged(128, ge=1)  # width of the residual stream
    block_size: int = ranged(64, ge=1)  # context length in characters
    bias: bool = True  # biases in the Linear and LayerNorm layers
    max_steps: int = ranged(2000, ge=1)  # optimizer steps
    batch_size: int = ranged(12, ge=1)  # windows per step
    learning_rate: float = ranged(3e-3, gt=0, lt=math.inf)  # peak learning rate
    min_lr: float = ranged(1e-4, ge=0, lt=math.inf)  # where the cosine decay ends
    warmup_steps: int = ranged(50, ge=0)  # linear warm-up steps
    weight_decay: float = ranged(0.1, ge=0, lt=math.inf)  # AdamW's, on the matrices only
    beta1: float = ranged(0.9, ge=0, lt=1)  # AdamW's first-moment decay
    beta2: float = ranged(0.99, ge=0, lt=1)  # AdamW's second-moment decay
    grad_clip: float = ranged(1.0, ge=0, lt=math.inf)  # largest gradient norm (0: no clipping)
    eval_interval: int = ranged(250, ge=1)  # steps between evaluations
    eval_batches: int = ranged(20, ge=1)  # fixed batches per evaluation
    log_interval: int = ranged(10, ge=1)  # steps between logged training losses
    val_fraction: float = ranged(0.1, gt=0, lt=1)  # the held-out end of the text
    seed: int = ranged(1337, ge=0)  # initial weights and batches
    threads: int = ranged(1, ge=0)  # BLAS and torch threads (0: leave them as they are)
    peer: bool = True  # also train the PyTorch twin from the same weights
    sample_tokens: int = ranged(500, ge=0)  # characters sampled after the prompt
    prompt: str = "\n"  # where the sample starts
    temperature: float = ranged(0.8, gt=0, lt=math.inf)  # logits divided by it before sampling
    top_k: int = ranged(40, ge=1)  # sample among the k likeliest characters


# The model's fields are GPTConfig's, the training's TrainConfig's; the data's and the
# sample's are text_lm's, whose reader, preflight and sampler this recipe uses (with all the
# fields gpt-shakespeare-char shares with it).
CONFIG_MAP = ConfigMap(
    NumpyGPTConfig,
    (GPTConfig, TrainConfig),
    own={"data", "val_fraction", "threads", "peer", "sample_tokens", "prompt", "temperature",
         "top_k"},
)  # fmt: skip
TEXT_MAP = ConfigMap(NumpyGPTConfig, (TextLMConfig,), own={"peer"})


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
    """The text_lm config this run reads its data with (character tokenizer)."""
    return TEXT_MAP.build(TextLMConfig, config, tokenizer="char")


def train_config(config: NumpyGPTConfig) -> TrainConfig:
    """The TrainConfig both runs follow (CPU, float32, one process)."""
    return CONFIG_MAP.build(TrainConfig, config, device="cpu", precision="fp32")


def preflight(config: NumpyGPTConfig) -> None:
    """Every value checked before any work: the rules between fields (text_lm's: n_embd a
    multiple of n_head, the library configs' rules), min_lr <= learning_rate, then the text."""
    if not config.min_lr <= config.learning_rate:
        raise ConfigError(
            f"need min_lr <= learning_rate, got {config.min_lr}, {config.learning_rate}"
        )
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
    weights = run_dir.path / "model.safetensors"

    def keep(model: NumpyGPT) -> str:
        """Save ``model``'s weights as model.safetensors, never non-finite ones; returns where."""
        if not weights_finite(model):  # train_numpy never leaves them so: a defect if it did
            raise NonFiniteLossError(f"the weights are not finite: not saved; {weights} is kept")
        save_arrays(weights, model.state_dict())
        return str(weights)

    with threadpool_limits(limits=threads, user_api="blas"):
        run_dir.say("NumPy:")
        try:
            result = train_numpy(
                model,
                corpus.train_tokens,
                corpus.val_tokens,
                settings,
                log=run_dir.log,
                say=run_dir.say,
                keep=keep,
            )
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the weights of the last whole step
            keep(model)
            raise
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
    keep(model)
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
