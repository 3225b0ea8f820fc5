"""``dlf bench gpt-quality``: training time to a validation loss, dlf's settings against a plain
PyTorch GPT, in one run.

Every run trains ``gpt-shakespeare-char``'s model (4 x 4 x 128, block 64, batch 12) on Tiny
Shakespeare's characters, split as the recipe splits them, and stops at the first evaluation
whose validation loss is at or below ``target`` (1.886: what nanoGPT's CPU recipe reaches with
this model in 2000 steps):

- each of the recipe's ``settings``, through the recipe's own model and
  :func:`dlf.gpt.train.train` (its learning-rate schedule, clipping, precision and attention);
- the peer, :class:`dlf.bench.plain_gpt.PlainGPT` trained as the "Let's build GPT" lecture
  does: random windows (``get_batch``), ``torch.optim.AdamW`` at a constant ``plain_lr``, fp32.

Every run is judged by the same float32 evaluation (whatever precision it trains in) on the
same ``eval_windows`` validation windows, every ``eval_tokens`` training tokens (a run of
larger batches every fewer steps, so that every stop is found to the same resolution); all use
the same number of threads and are timed on their training steps only (evaluations are not
counted). The ratio is a setting's time over the plain model's; the
headline is the fastest setting's (target <= 0.5). A run that never reaches the target is
reported as such.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from dlf.bench import BenchReport, load_average
from dlf.bench.gpt import recipe_settings, setting_config
from dlf.bench.plain_gpt import PlainGPT, get_batch, plain_step
from dlf.gpt.data import TokenDataset
from dlf.gpt.recipes import text_lm
from dlf.gpt.recipes.gpt_shakespeare_char import RECIPE
from dlf.gpt.train import TrainConfig, TrainResult, eval_indices, train, use_bf16
from dlf.recipes.config import ConfigError
from dlf.runs.threads import run_threads
from dlf.transformer.seq2seq_training import torch_threads

NANOGPT_VAL_LOSS = 1.886  # nanoGPT's train_shakespeare_char on CPU, 2000 steps of this model
TIME_RATIO_TARGET = 0.5


def validation_windows(eval_windows: int) -> tuple[TokenDataset, np.ndarray]:
    """The validation windows every run is judged on: ``eval_windows`` windows of the recipe's
    validation part, drawn as :func:`dlf.gpt.train.train` draws its own, with the recipe's seed."""
    config = RECIPE.make_config()
    val = TokenDataset(text_lm.prepare(config).val_tokens, config.block_size)
    return val, eval_indices(len(val), eval_windows, config.seed, 1)


@torch.no_grad()
def val_loss(
    model: torch.nn.Module, logits_of, windows: TokenDataset, indices: np.ndarray, batch: int = 12
) -> float:
    """Mean cross-entropy of ``model`` over the windows ``indices``, in eval mode and float32
    whatever a run trains in, ``batch`` windows at a time; ``logits_of(x)``: (B, T) ids ->
    (B, T, V) logits. The model is left in train mode."""
    model.eval()
    total = 0.0
    try:
        for i in range(0, len(indices), batch):
            x, y = windows.batch(indices[i : i + batch])
            logits = logits_of(x).float()
            total += float(F.cross_entropy(logits.flatten(0, 1), y.flatten())) * len(x)
    finally:
        model.train()
    return total / len(indices)


def setting_time(
    setting: str, target: float, eval_tokens: int, eval_windows: int, max_steps: int = 0
) -> tuple[float, int, float, str]:
    """Train ``gpt-shakespeare-char`` at ``setting`` ("default" or a setting's name) until the
    float32 validation loss on :func:`validation_windows` is <= ``target``, asked every
    ``eval_tokens`` training tokens. Returns (training seconds, steps, that loss at the stop,
    precision); seconds are NaN if the run ends above the target. ``max_steps`` (> 0)
    shortens the run, its schedule included."""
    config = setting_config(setting, **({"max_steps": max_steps} if max_steps else {}))
    corpus = text_lm.prepare(config)
    model, lr = text_lm.build_model(config, corpus)
    every = steps_per(eval_tokens, config.batch_size, config.block_size)
    train_config = text_lm.CONFIG_MAP.build(
        TrainConfig, config, learning_rate=lr, min_lr=min(config.min_lr, lr), device="cpu",
        eval_interval=every, eval_batches=1,
    )  # fmt: skip
    windows, indices = validation_windows(eval_windows)
    losses: list[float] = []

    def until(_result: TrainResult) -> bool:
        losses.append(val_loss(model, lambda x: model(x)[0], windows, indices))
        return losses[-1] <= target

    result = train(model, corpus.train_tokens, corpus.val_tokens, train_config, until=until)
    seconds = result.train_seconds if losses[-1] <= target else math.nan
    return seconds, result.step, losses[-1], result.precision


def steps_per(tokens: int, batch_size: int, block_size: int) -> int:
    """The steps in which batches of ``batch_size`` windows of ``block_size`` hold ``tokens``
    training tokens (at least 1). Example: 38,400 tokens at 12 x 64 -> 50 steps, at 24 x 64 -> 25.
    """
    return max(1, round(tokens / (batch_size * block_size)))


def plain_time(
    target: float, eval_tokens: int, eval_windows: int, lr: float, max_steps: int, seed: int = 0
) -> tuple[float, int, float]:
    """Train the plain GPT of the recipe's shape until its validation loss on
    :func:`validation_windows` is <= ``target``, asked every ``eval_tokens`` training tokens,
    at most ``max_steps`` steps. Returns (training seconds,
    steps, validation loss at the stop); seconds are NaN if the target is not reached."""
    config = RECIPE.make_config()
    corpus = text_lm.prepare(config)
    T, B = config.block_size, config.batch_size
    every = steps_per(eval_tokens, B, T)
    tokens = torch.from_numpy(corpus.train_tokens)
    windows, indices = validation_windows(eval_windows)
    torch.manual_seed(seed)
    model = PlainGPT(corpus.tokenizer.vocab_size, T, config.n_layer, config.n_head, config.n_embd)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    seconds, step, loss = 0.0, 0, math.inf
    while step < max_steps:
        start = time.perf_counter()
        for _ in range(every):
            plain_step(model, optimizer, *get_batch(tokens, T, B, generator))
        seconds += time.perf_counter() - start
        step += every
        loss = val_loss(model, model, windows, indices)
        if loss <= target:
            return seconds, step, loss
    return math.nan, step, loss


def bench_gpt_quality(
    target: float = NANOGPT_VAL_LOSS,
    settings: str = "default,fast",
    eval_tokens: int = 38400,
    eval_windows: int = 600,
    plain_lr: float = 1e-3,
    plain_max_steps: int = 8000,
    max_steps: int = 0,
    repeats: int = 2,
    threads: int = 0,
) -> BenchReport:
    """Training seconds to validation loss ``target``: each of ``settings`` (comma-separated:
    "default" and gpt-shakespeare-char's setting names) against the plain GPT, in one run.

    Every run is made ``repeats`` times, in reversed order each round (plain first, then last),
    and its least disturbed time is kept: a machine whose speed drifts during the bench then
    touches every run alike. ``threads``: torch CPU threads for every run (0: the cores free
    at the start). ``max_steps`` (> 0): every setting's run length, schedule included.
    """
    names = recipe_settings(settings)
    counts = {"eval_tokens": eval_tokens, "eval_windows": eval_windows,
              "plain_max_steps": plain_max_steps, "repeats": repeats}  # fmt: skip
    for key, value in counts.items():
        if value < 1:
            raise ConfigError(f"{key} must be >= 1, got {value}")
    if not (math.isfinite(target) and target > 0 and plain_lr > 0 and max_steps >= 0):
        raise ConfigError("target and plain_lr must be finite and > 0, max_steps >= 0")

    def measure(name: str) -> tuple[float, int, float, str]:
        if name == "plain":
            args = (target, eval_tokens, eval_windows, plain_lr, plain_max_steps)
            return (*plain_time(*args), "fp32")
        return setting_time(name, target, eval_tokens, eval_windows, max_steps)

    runs: dict[str, tuple[float, int, float, str]] = {}
    order = ["plain", *names]
    with torch_threads(threads or run_threads()):
        n_threads = torch.get_num_threads()
        for r in range(repeats):
            for name in order if r % 2 == 0 else order[::-1]:
                seconds, steps, loss, precision = measure(name)
                if name not in runs or math.isnan(runs[name][0]) or seconds < runs[name][0]:
                    runs[name] = (seconds, steps, loss, precision)
    plain_s, plain_steps, plain_loss, _ = runs.pop("plain")
    report = BenchReport(name="gpt-quality")
    report.rows.append(
        (f"plain GPT (fp32, AdamW lr {plain_lr:g}), {plain_steps} steps", plain_s, "s")
    )
    if math.isnan(plain_s):
        report.notes.append(f"the plain GPT ended at validation loss {plain_loss:.4f} > {target}")
    for name, (seconds, steps, loss, precision) in runs.items():
        report.rows.append((f"dlf {name} ({precision}), {steps} steps", seconds, "s"))
        report.rows.append((f"  {name} / plain", seconds / plain_s, "x"))
        if math.isnan(seconds):
            report.notes.append(f"{name} ended at validation loss {loss:.4f} > {target}")
    finished = {n: run[0] for n, run in runs.items() if not math.isnan(run[0])}
    if finished and not math.isnan(plain_s):
        fastest = min(finished, key=finished.get)
        report.ratio = finished[fastest] / plain_s
        report.ratio_of = f"training seconds to validation loss {target}, {fastest} / plain"
        report.target = TIME_RATIO_TARGET
    report.notes += [
        f"{n_threads} torch thread(s) for every run; bf16 natively on this CPU: "
        f"{use_bf16('auto', torch.device('cpu'))}; best of {repeats} rounds in alternating order",
        f"judged in float32 every {eval_tokens:,} training tokens on the same {eval_windows} "
        "validation windows; evaluations not timed",
        f"1-minute load average {load_average():.2f} at the end (a shared machine)",
    ]
    return report
