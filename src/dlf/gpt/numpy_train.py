"""Training the NumPy GPT (``dlf.scratch.gpt``) step for step as :func:`dlf.gpt.train.train`.

Each step, as ``train`` does on one process without gradient accumulation: the next batch of
windows from the same seeded :class:`~dlf.gpt.data.EpochSampler`, the loss and the hand-written
backward, clipping of the global gradient norm (``dlf.scratch.optim.clip_grad_norm``), the
learning rate of :func:`~dlf.gpt.train.lr_schedule` (linear warm-up, cosine decay), and an AdamW
step that decays the matrices only (``AdamW(decay=is_decayed)``). Evaluations: the mean loss
over the same fixed batches of training and validation windows (``eval_indices``). Started from
the same weights, the NumPy run and the PyTorch run see the same data in the same order. All
the arithmetic is NumPy's; from ``dlf.gpt`` come only the sampler's indices and the schedule.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dlf.gpt.data import EpochSampler
from dlf.gpt.train import (
    NonFiniteLossError,
    TrainConfig,
    TrainResult,
    divergence_message,
    eval_indices,
    lr_schedule,
    signals_held,
)
from dlf.scratch.gpt import GPT
from dlf.scratch.losses import is_decayed
from dlf.scratch.optim import AdamW, clip_grad_norm
from dlf.scratch.trainer import weights_finite


def windows(tokens: np.ndarray, block_size: int) -> np.ndarray:
    """Every window of ``block_size + 1`` consecutive tokens, as a read-only view
    (len(tokens) - block_size, block_size + 1): row i is input ``[:-1]`` and targets ``[1:]``.
    Example: tokens ``[5, 6, 7, 8]``, block_size 2 -> ``[[5, 6, 7], [6, 7, 8]]``."""
    return sliding_window_view(np.asarray(tokens, dtype=np.int64), block_size + 1)


def configure_optimizer(
    weight_decay: float, learning_rate: float, betas: tuple[float, float]
) -> AdamW:
    """nanoGPT's AdamW (``dlf.gpt.GPT.configure_optimizer``) for the NumPy GPT: decay on the
    parameters of 2 or more dimensions only (``is_decayed``), torch's eps."""
    return AdamW(learning_rate, betas, weight_decay=weight_decay, decay=is_decayed)


def train_step(
    model: GPT, optimizer: AdamW, rows: np.ndarray, lr: float, grad_clip: float
) -> tuple[float, float]:
    """One optimizer step on the windows ``rows`` (B, T + 1); returns (loss, gradient norm
    before clipping). ``grad_clip`` 0: no clipping. A non-finite loss or norm leaves the weights
    as they were (no step is taken) and is returned for the caller to stop on."""
    loss = model.loss(rows[:, :-1], rows[:, 1:])
    model.backward()
    grads = model.grads
    norm = clip_grad_norm(grads, grad_clip if grad_clip > 0 else math.inf)
    if math.isfinite(loss) and math.isfinite(norm):
        optimizer.lr = lr
        optimizer.step(model.params, grads)
    return loss, norm


def evaluate(model: GPT, rows: np.ndarray, indices: np.ndarray, batch_size: int) -> float:
    """Mean loss over the windows ``rows[indices]``, in batches of ``batch_size``."""
    total = 0.0
    for i in range(0, len(indices), batch_size):
        chunk = rows[indices[i : i + batch_size]]
        total += model.loss(chunk[:, :-1], chunk[:, 1:]) * len(chunk)
    return total / len(indices)


# A non-finite value is caught and reported once (NonFiniteLossError): no NumPy warnings.
@np.errstate(over="ignore", invalid="ignore")
def train_numpy(
    model: GPT,
    train_tokens: np.ndarray,
    val_tokens: np.ndarray,
    config: TrainConfig,
    log: Callable[..., None] | None = None,
    say: Callable[[str], None] | None = None,
    keep: Callable[[GPT], str] | None = None,
) -> TrainResult:
    """Train ``model`` as :func:`dlf.gpt.train.train` would train its PyTorch twin (one process;
    no checkpoints; device, precision and compile do not apply). ``log(step, **metrics)`` gets
    the same keys: loss, lr, grad_norm every ``log_interval`` steps; train_loss, val_loss,
    val_perplexity at every evaluation. A non-finite loss or gradient norm, or a step that
    leaves a weight non-finite (a finite loss at too large a learning rate can), raises
    :class:`NonFiniteLossError` (a :class:`dlf.runs.Diverged`) with ``model`` at the weights of
    the last whole step whose weights were all finite (a copy is kept before every step, about
    0.1% of a step's time), which ``keep(model)``, if given, saves first (it returns where, for
    the message). NumPy's overflow and invalid-value warnings are silenced while it trains: a
    non-finite value is reported once, by that error. Ctrl-C or SIGTERM ends the run between
    two steps, never inside one."""
    if config.grad_accum_steps != 1:
        raise ValueError("train_numpy takes grad_accum_steps=1 (no gradient accumulation)")
    started = time.perf_counter()
    log = log or (lambda step, **metrics: None)
    say = say or (lambda message: None)
    T, B = model.block_size, config.batch_size
    train_rows, val_rows = windows(train_tokens, T), windows(val_tokens, T)
    sampler = EpochSampler(len(train_rows), B, seed=config.seed)
    n_eval = config.eval_batches * B
    eval_sets = {
        "train": (train_rows, eval_indices(len(train_rows), n_eval, config.seed, 0)),
        "val": (val_rows, eval_indices(len(val_rows), n_eval, config.seed, 1)),
    }
    optimizer = configure_optimizer(
        config.weight_decay, config.learning_rate, (config.beta1, config.beta2)
    )
    schedule = lr_schedule(config)
    result = TrainResult(step=0, start_step=0, tokens_per_step=B * T)
    step = 0
    last_whole = {k: v.copy() for k, v in model.params.items()}  # the weights before each step
    while True:
        if step % config.eval_interval == 0 or step == config.max_steps:
            losses = {
                name: evaluate(model, rows, idx, B) for name, (rows, idx) in eval_sets.items()
            }
            record = {
                "train_loss": losses["train"],
                "val_loss": losses["val"],
                "val_perplexity": math.exp(min(losses["val"], 700.0)),
            }
            result.evals.append({"step": step, **record})
            log(step, **record)
            say(f"step {step}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
        if step >= config.max_steps:
            break
        tick = time.perf_counter()
        lr = schedule(step)
        with signals_held():  # a step, its count and its log line whole, or not at all
            loss, norm = train_step(
                model, optimizer, train_rows[sampler.next_batch()], lr, config.grad_clip
            )
            stepped = math.isfinite(loss) and math.isfinite(norm)  # else no step was taken
            broke = stepped and not weights_finite(model)
            if broke:  # a finite loss, too large a step: back to the weights before it
                params = model.params
                for k, saved in last_whole.items():
                    params[k][...] = saved
            if broke or not stepped:
                kept = f"step {step} ({keep(model)})" if keep is not None else None
                message = divergence_message(loss, norm, step + 1, kept, config)
                if broke:  # "the loss became 4.2 at step 3 (...); the weights of ..."
                    message = (f"a weight became non-finite at step {step + 1} (loss {loss}, "
                               f"gradient norm {norm}); {message.split('; ', 1)[1]}")  # fmt: skip
                raise NonFiniteLossError(message)
            for k, v in model.params.items():
                np.copyto(last_whole[k], v)
            step += 1
            result.step = step
            result.losses.append((step, loss))
            result.train_seconds += time.perf_counter() - tick
            if step % config.log_interval == 0 or step == config.max_steps:
                log(step, loss=loss, lr=lr, grad_norm=norm)
    result.wall_seconds = time.perf_counter() - started
    return result
