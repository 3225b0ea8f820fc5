"""Training a GPT: one loop for one process or many (DDP), with exact resume.

Each optimizer step sees one global batch of ``batch_size * grad_accum_steps * world_size``
windows, drawn without replacement within an epoch (:class:`dlf.gpt.data.EpochSampler`).
Process r takes, in micro-step m, the slice ``(m * world_size + r) * batch_size`` of it; each
micro-batch's mean loss is divided by ``grad_accum_steps`` before ``backward``, and DDP averages
the gradients over processes, so the gradient is the mean over the whole global batch, whatever
the split. Then: clip the gradient norm, set the learning rate (linear warm-up, cosine decay),
AdamW step.

Evaluation: the mean loss over fixed, seeded batches of the training and the validation windows
(the same batches at every evaluation), and the perplexity exp(loss).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from dlf.gpt.data import EpochSampler, TokenDataset
from dlf.gpt.distributed import World, all_reduce_mean, current_world
from dlf.gpt.model import GPT, GPTConfig
from dlf.gpt.snapshot import (
    load_model_state,
    load_optimizer_state,
    read_manifest,
    read_state_tensors,
    write_snapshot,
)
from dlf.recipes.config import ConfigError, check_ranges, ranged
from dlf.runs import Diverged
from dlf.scratch.schedules import CosineAnnealing, LinearWarmup, Schedule


@dataclass
class TrainConfig:
    """How to train. ``batch_size`` is per process and micro-step (the global batch is
    ``batch_size * grad_accum_steps * world_size``). ``lr_decay_steps``: where the cosine reaches
    ``min_lr`` (0: at ``max_steps``). ``grad_clip``: the largest global gradient norm (0: off).
    ``checkpoint_interval``: steps between saves of the training state (:mod:`dlf.gpt.snapshot`;
    0: at every evaluation); the last step always saves. ``precision``: "bf16" runs the forward
    pass under bf16 autocast; "auto" picks bf16 where the hardware computes it natively (see
    :func:`use_bf16`), else fp32.
    ``device``: "auto" is GPU ``LOCAL_RANK`` if there is one, else the CPU (see
    :func:`check_device`). Every number is checked against its range when the config is made
    (ConfigError, a ValueError)."""

    max_steps: int = ranged(2000, ge=1)
    batch_size: int = ranged(12, ge=1)
    grad_accum_steps: int = ranged(1, ge=1)
    learning_rate: float = ranged(1e-3, gt=0, lt=math.inf)
    min_lr: float = ranged(1e-4, ge=0, lt=math.inf)
    warmup_steps: int = ranged(100, ge=0)
    lr_decay_steps: int = ranged(0, ge=0)
    weight_decay: float = ranged(0.1, ge=0, lt=math.inf)
    beta1: float = ranged(0.9, ge=0, lt=1)
    beta2: float = ranged(0.99, ge=0, lt=1)
    grad_clip: float = ranged(1.0, ge=0, lt=math.inf)
    eval_interval: int = ranged(250, ge=1)
    eval_batches: int = ranged(20, ge=1)
    log_interval: int = ranged(10, ge=1)
    checkpoint_interval: int = ranged(0, ge=0)
    seed: int = ranged(1337, ge=0)
    device: str = "auto"
    precision: Literal["auto", "fp32", "bf16"] = "fp32"
    compile: bool = False

    def __post_init__(self):
        check_ranges(self)


def check_device(name: str) -> None:
    """Raise ConfigError unless ``name`` is "auto" or a torch device this machine has.

    Example: "cpu" and "auto" pass; "bogus" and, without a GPU, "cuda" raise.
    """
    if name == "auto":
        return
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device must be auto, cpu or cuda[:N], got {name!r}") from None
    if device.type == "cuda":
        count = torch.cuda.device_count()
        if count == 0 or (device.index or 0) >= count:
            raise ConfigError(f"device {name!r}: this machine has {count} CUDA GPU(s)")
    elif device.type != "cpu":
        raise ConfigError(f"device must be auto, cpu or cuda[:N], got {name!r}")


class NonFiniteLossError(Diverged):
    """Training stopped because the loss (or the gradient norm) stopped being a finite number."""


@dataclass
class TrainResult:
    """What a run did. ``losses``: (step, training loss) of every step run in this call;
    ``evals``: one dict per evaluation (step, train_loss, val_loss, val_perplexity);
    ``train_seconds``: time spent in training steps (evaluations and saves excluded);
    ``saved_in``: the folder of the last snapshot this call saved, if any; ``precision``: the
    forward passes' arithmetic, "fp32" or "bf16" (autocast), as ``TrainConfig.precision``
    resolved on this machine."""

    step: int
    start_step: int
    losses: list[tuple[int, float]] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)
    train_seconds: float = 0.0
    wall_seconds: float = 0.0
    tokens_per_step: int = 0
    saved_in: str | None = None
    precision: str = "fp32"

    @property
    def final_val_loss(self) -> float:
        return self.evals[-1]["val_loss"] if self.evals else math.nan


def lr_schedule(config: TrainConfig) -> Schedule:
    """lr(t) for step t = 0, 1, ...: linear warm-up, then cosine decay to ``min_lr``.

        lr(t) = lr * (t + 1) / (W + 1)                                     t < W
        lr(t) = min_lr + (lr - min_lr) * (1 + cos(pi * (t - W) / (D - W))) / 2   W <= t <= D
        lr(t) = min_lr                                                     t > D

    with W = ``warmup_steps``, D = ``lr_decay_steps`` (or ``max_steps``): nanoGPT's schedule,
    built from Module 1's ``LinearWarmup`` and ``CosineAnnealing``.
    Example: lr 1, min_lr 0, W 1, D 3 -> 0.5, 1.0, 0.5, 0.0, 0.0.
    """
    total = config.lr_decay_steps or config.max_steps
    cosine = CosineAnnealing(
        config.learning_rate, max(total - config.warmup_steps, 1), config.min_lr
    )
    if config.warmup_steps == 0:
        return cosine
    W = config.warmup_steps
    return LinearWarmup(cosine, W, start_factor=1.0 / (W + 1))


def resolve_device(name: str, world: World) -> torch.device:
    """ "auto" -> ``cuda:<local_rank>`` if CUDA is available, else ``cpu``; other names as given."""
    if name == "auto":
        return torch.device(f"cuda:{world.local_rank}" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes in bfloat16 natively: a GPU that supports it, or a CPU with
    AVX-512 BF16 or AMX tiles. Elsewhere bf16 is emulated and autocast is slower than fp32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        cpu = torch.cpu
        return any(
            bool(getattr(cpu, probe, lambda: False)())
            for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        )
    return False


def use_bf16(precision: str, device: torch.device) -> bool:
    """Whether to run forward passes under bf16 autocast: "bf16" yes, "fp32" no, "auto" where
    the device has bf16 natively (:func:`native_bf16`), decided on the machine that trains."""
    if precision == "auto":
        return native_bf16(device)
    return precision == "bf16"


def accumulate_gradients(
    model: nn.Module,
    micro_batches: Sequence[tuple[Tensor, Tensor]],
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
) -> Tensor:
    """Forward and backward over k micro-batches, leaving in ``.grad`` the gradient of the mean
    loss over all of them: sum_m grad(L_m / k). Returns the mean loss (detached).

    Equal micro-batches make this the gradient of one batch k times larger. Under DDP the
    gradients are synchronised in the last micro-step only (``no_sync()`` before).
    ``micro_batches``: k pairs (x, y), each int64 (B, T).
    """
    k = len(micro_batches)
    total = torch.zeros((), dtype=torch.float64)
    for m, (x, y) in enumerate(micro_batches):
        defer_sync = isinstance(model, DistributedDataParallel) and m < k - 1
        with model.no_sync() if defer_sync else contextlib.nullcontext():
            with autocast():
                _, loss = model(x, y)
            (loss / k).backward()
        total = total + loss.detach().double().cpu()
    return total / k


@torch.no_grad()
def evaluate(
    model: GPT,
    dataset: TokenDataset,
    indices: np.ndarray,
    batch_size: int,
    device: torch.device,
    world: World,
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
) -> float:
    """Mean loss over the windows ``indices``, in batches of ``batch_size``; the batches are
    shared out over the processes and their losses averaged. The model is left in train mode."""
    model.eval()
    batches = [indices[i : i + batch_size] for i in range(0, len(indices), batch_size)]
    loss_sum, count = 0.0, 0
    for b in range(world.rank, len(batches), world.size):
        x, y = dataset.batch(batches[b], device)
        with autocast():
            _, loss = model(x, y)
        loss_sum += float(loss) * len(batches[b])
        count += len(batches[b])
    total = torch.tensor([loss_sum, count], dtype=torch.float64, device=device)
    if world.size > 1:
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
    model.train()
    return float(total[0] / total[1])


def eval_indices(n: int, count: int, seed: int, stream: int) -> np.ndarray:
    """``min(count, n)`` distinct window indices, fixed by (seed, stream) for the whole run."""
    return np.random.default_rng([seed, 0xE7A1, stream]).choice(n, min(count, n), replace=False)


def gather_rng_states(world: World, device: torch.device) -> dict[str, Tensor]:
    """Every process's RNG states (the torch CPU generator, and CUDA's) as named uint8 tensors,
    gathered on all ranks: ``{"rng.torch.0": ..., "rng.torch.1": ..., "rng.cuda.0": ...}``."""
    local = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        local["cuda"] = torch.cuda.get_rng_state(device)
    every = [local]
    if world.size > 1:
        every = [None] * world.size
        dist.all_gather_object(every, local)
    return {f"rng.{name}.{r}": t for r, states in enumerate(every) for name, t in states.items()}


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


@contextlib.contextmanager
def signals_held():
    """Inside ``with``, Ctrl-C (SIGINT) and SIGTERM wait: they are delivered on leaving the block.

    So an optimizer step, its step count and its log line happen whole or not at all, and an
    interrupted run can be saved as it stood after its last whole step. Outside the main thread
    (where Python cannot set handlers) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    old = {s: signal.signal(s, lambda signum, frame: got.append(signum)) for s in held}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        for s in dict.fromkeys(got):
            signal.raise_signal(s)


def divergence_message(
    loss: float, grad_norm: float, step: int, kept: str | None, config: TrainConfig
) -> str:
    """The one line a diverged run ends with: what became non-finite, what was kept, what to try.

    Example: loss nan at step 120, weights of step 119 kept in run/checkpoint, learning_rate
    3e-3 -> "the loss became nan at step 120 (gradient norm nan); the weights of step 119 are
    kept in run/checkpoint; run again with a lower learning rate (e.g. learning_rate=0.0015) or
    a longer warmup_steps".
    """
    where = f"the weights of {kept} are kept" if kept else "no weights were saved"
    return (
        f"the loss became {loss} at step {step} (gradient norm {grad_norm}); {where}; run again "
        f"with a lower learning rate (e.g. learning_rate={config.learning_rate / 2:g}) or a "
        "longer warmup_steps"
    )


def train(
    model: GPT,
    train_tokens: np.ndarray,
    val_tokens: np.ndarray,
    config: TrainConfig,
    checkpoint_dir: str | Path | None = None,
    log: Callable[..., None] | None = None,
    say: Callable[[str], None] | None = None,
    resume: bool = True,
    until: Callable[[TrainResult], bool] | None = None,
) -> TrainResult:
    """Train ``model`` on windows of ``train_tokens``, evaluating on ``val_tokens`` (1-D ids).

    Joins a DDP run if torch.distributed is initialised (see ``dlf.gpt.distributed``). Rank 0
    alone calls ``log(step, **metrics)`` (e.g. ``RunDir.log``), ``say(message)`` and saves the
    training state (a snapshot, :mod:`dlf.gpt.snapshot`) in ``checkpoint_dir``. If ``resume``
    and ``checkpoint_dir`` holds a snapshot, the run continues from it exactly: weights, AdamW
    moments, the sampler's place in its epoch and every process's RNG state are restored, so the
    losses are those of an uninterrupted run, and nothing logged before the snapshot is logged
    again.

    On one process, Ctrl-C or SIGTERM (KeyboardInterrupt) saves the state of the last whole step
    before the interrupt goes on, so the run can be resumed exactly. A non-finite loss or
    gradient raises :class:`NonFiniteLossError` (a :class:`dlf.runs.Diverged`) before the step
    is taken, after saving the weights it was taken from (on one process, if they are finite);
    a snapshot is never written with non-finite weights.

    ``until(result)``, if given, is asked after every evaluation (``result.evals[-1]`` is the
    new one, ``result.train_seconds`` the training time so far); True ends the run there, its
    state saved as at the last step, e.g. ``until=lambda r: r.evals[-1]["val_loss"] <= 1.5``
    stops at a target validation loss. Time spent in ``until`` is not training time.
    """
    started = time.perf_counter()
    world = current_world()
    device = resolve_device(config.device, world)
    model.to(device)
    log = log if (log is not None and world.is_main) else (lambda step, **metrics: None)
    say = say if (say is not None and world.is_main) else (lambda message: None)
    bf16 = use_bf16(config.precision, device)

    def autocast():
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)

    block_size = model.config.block_size
    train_set, val_set = (
        TokenDataset(train_tokens, block_size),
        TokenDataset(val_tokens, block_size),
    )
    micro = config.batch_size
    global_batch = micro * config.grad_accum_steps * world.size
    sampler = EpochSampler(len(train_set), global_batch, seed=config.seed)
    n_eval = config.eval_batches * micro
    eval_sets = {
        "train": (train_set, eval_indices(len(train_set), n_eval, config.seed, 0)),
        "val": (val_set, eval_indices(len(val_set), n_eval, config.seed, 1)),
    }
    optimizer = model.configure_optimizer(
        config.weight_decay, config.learning_rate, (config.beta1, config.beta2)
    )
    torch.manual_seed(config.seed + world.rank)  # this process's dropout stream
    step, evaluated_at = 0, -1
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if resume and folder is not None and (folder / "checkpoint.json").is_file():
        step, evaluated = restore(folder, model, optimizer, sampler, world, global_batch, device)
        evaluated_at = step if evaluated else -1
        say(f"resumed from {folder} at step {step}")
    result = TrainResult(
        step=step,
        start_step=step,
        tokens_per_step=global_batch * block_size,
        precision="bf16" if bf16 else "fp32",
    )

    net: nn.Module = torch.compile(model) if config.compile else model
    if world.size > 1:
        net = DistributedDataParallel(net, device_ids=[device] if device.type == "cuda" else None)
    schedule = lr_schedule(config)
    save_every = config.checkpoint_interval or config.eval_interval
    # On one process: the sampler's and the RNG's states at the start of the current step, what
    # a snapshot of that step holds when it is saved in the middle of the next one.
    alone = world.size == 1 and folder is not None
    at_step_start = (sampler.state_dict(), gather_rng_states(world, device)) if alone else None
    model.train()
    try:
        while True:
            due = step % config.eval_interval == 0 or step == config.max_steps
            if due and evaluated_at != step:
                losses = {
                    name: evaluate(model, data, idx, micro, device, world, autocast)
                    for name, (data, idx) in eval_sets.items()
                }
                record = {
                    "train_loss": losses["train"],
                    "val_loss": losses["val"],
                    "val_perplexity": math.exp(min(losses["val"], 700.0)),
                }
                with signals_held():
                    result.evals.append({"step": step, **record})
                    log(step, **record)
                    evaluated_at = step
                say(f"step {step}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
            stop = step >= config.max_steps
            if until is not None and result.evals and result.evals[-1]["step"] == step:
                stop = stop or until(result)
            due = stop or step % save_every == 0
            if folder is not None and step > result.start_step and due:
                with signals_held():
                    result.saved_in = save_training_state(
                        folder, model, optimizer, step, sampler, config, world
                    )
            if stop:
                break

            tick = time.perf_counter()
            set_lr(optimizer, schedule(step))
            indices = sampler.next_batch()
            micro_batches = []
            for m in range(config.grad_accum_steps):
                start = (m * world.size + world.rank) * micro
                micro_batches.append(train_set.batch(indices[start : start + micro], device))
            loss = accumulate_gradients(net, micro_batches, autocast)
            loss = float(all_reduce_mean(loss.to(device), world))
            max_norm = config.grad_clip if config.grad_clip > 0 else math.inf
            grad_norm = float(nn.utils.clip_grad_norm_(model.parameters(), max_norm))
            if not (math.isfinite(loss) and math.isfinite(grad_norm)):
                kept = None
                if at_step_start is not None and weights_finite(model):
                    save_training_state(folder, model, optimizer, step, at_step_start, config,
                                        world, evaluated=evaluated_at == step)  # fmt: skip
                if folder is not None and (folder / "checkpoint.json").is_file():
                    kept = f"step {read_manifest(folder)['step']} ({folder})"
                raise NonFiniteLossError(
                    divergence_message(loss, grad_norm, step + 1, kept, config)
                )
            with signals_held():
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                result.step = step
                result.losses.append((step, loss))
                result.train_seconds += time.perf_counter() - tick
                if step % config.log_interval == 0 or step == config.max_steps:
                    log(step, loss=loss, lr=optimizer.param_groups[0]["lr"], grad_norm=grad_norm)
                if alone:
                    at_step_start = (sampler.state_dict(), gather_rng_states(world, device))
    except KeyboardInterrupt:
        if at_step_start is not None and step > 0 and weights_finite(model):
            with signals_held():
                save_training_state(folder, model, optimizer, step, at_step_start, config,
                                    world, evaluated=evaluated_at == step)  # fmt: skip
            say(f"interrupted: step {step} saved in {folder}")
        raise
    result.wall_seconds = time.perf_counter() - started
    return result


def weights_finite(model: nn.Module) -> bool:
    """True if every parameter of ``model`` is finite (no NaN, no inf)."""
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def save_training_state(
    folder: Path,
    model: GPT,
    optimizer: torch.optim.Optimizer,
    step: int,
    sampler: EpochSampler | tuple[dict, dict[str, Tensor]],
    config: TrainConfig,
    world: World,
    evaluated: bool = True,
) -> str:
    """Save the snapshot of ``step`` in ``folder`` (:func:`dlf.gpt.snapshot.write_snapshot`, on
    rank 0; every rank takes part in gathering the RNG states). Refuses weights that are not
    finite, so the last snapshot is always a good one. Returns ``folder``.

    ``sampler``: the sampler (its state and the RNG's are taken now), or the pair ``(sampler
    state, RNG states)`` taken at the start of ``step``. ``evaluated``: whether the evaluation of
    ``step`` (if one was due) was logged; a resumed run makes it if not.
    """
    if not weights_finite(model):
        raise NonFiniteLossError(
            f"weights are not finite at step {step}: not saving; the previous snapshot in "
            f"{folder} is kept"
        )
    if isinstance(sampler, EpochSampler):
        sampler_state, rng = sampler.state_dict(), gather_rng_states(world, model_device(model))
    else:
        sampler_state, rng = sampler
    if world.is_main:
        info = {
            "train_config": asdict(config),
            "sampler": sampler_state,
            "world_size": world.size,
            "evaluated": evaluated,
        }
        write_snapshot(folder, model, optimizer, step, rng, info)
    if world.size > 1:
        dist.barrier()
    return str(folder)


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def keep_records_to_checkpoint(metrics: Path, folder: Path) -> list[dict]:
    """Cut the metrics file ``metrics`` (one JSON record a line) to the records up to the step
    of the snapshot in ``folder`` (a run's ``checkpoint/``), which a resumed run goes on from,
    and return them: what was logged after it is logged again by the resumed run. The file is
    cut in place, so a logger that appends to it keeps working. No snapshot: the run starts
    again from step 0, and nothing is kept.
    Example: records of steps 0..7 and a snapshot of step 5 -> the records of steps 0..5.
    A last line cut short (the process was killed while writing it) is dropped with the rest."""
    if not metrics.is_file():
        return []
    step = read_manifest(folder)["step"] if (folder / "checkpoint.json").is_file() else -1
    kept, size = [], 0
    for line in metrics.read_bytes().splitlines(keepends=True):
        try:
            record = json.loads(line)
        except ValueError:  # a torn line: nothing after it was written whole
            break
        if record["step"] > step:
            break
        kept.append(record)
        size += len(line)
    os.truncate(metrics, size)
    return kept


def restore(
    folder: Path,
    model: GPT,
    optimizer: torch.optim.Optimizer,
    sampler: EpochSampler,
    world: World,
    global_batch: int,
    device: torch.device,
) -> tuple[int, bool]:
    """Load a snapshot saved by :func:`train` into the model, optimizer, sampler and this
    process's RNG; returns its step and whether that step's evaluation was logged."""
    manifest = read_manifest(folder)
    try:  # a field added to GPTConfig since the snapshot was written takes its default
        same = GPTConfig(**manifest["model_config"]) == model.config
    except (TypeError, ValueError):
        same = False
    if not same:
        raise ValueError(
            f"the snapshot in {folder} is of a different model ({manifest['model_config']}); "
            "build the model from that config or train into a new folder"
        )
    saved = manifest["train_config"]
    saved_batch = saved["batch_size"] * saved["grad_accum_steps"] * manifest["world_size"]
    if saved_batch != global_batch or manifest["world_size"] != world.size:
        raise ValueError(
            f"the snapshot was written by {manifest['world_size']} process(es) with a global "
            f"batch of {saved_batch}; resume with the same number of processes and batch"
        )
    load_model_state(model, (folder / manifest["model_file"]).read_bytes())
    tensors = read_state_tensors(manifest)
    load_optimizer_state(optimizer, tensors, manifest["optimizer_param_groups"])
    sampler.load_state_dict(manifest["sampler"])
    torch.set_rng_state(tensors[f"rng.torch.{world.rank}"])
    if device.type == "cuda" and f"rng.cuda.{world.rank}" in tensors:
        torch.cuda.set_rng_state(tensors[f"rng.cuda.{world.rank}"], device)
    return int(manifest["step"]), bool(manifest.get("evaluated", True))
