"""``dlf bench gpt``: training ms/iteration of a small char GPT against a plain PyTorch GPT of
the same shape, and generation tokens/s with and without the KV cache.

Training: ``gpt-shakespeare-char``'s shape (4 layers, 4 heads, 128 wide, block 64, 65
characters), timed through the one training loop :func:`dlf.gpt.train.train` on synthetic ids
(the speed does not depend on the text; evaluations and checkpoints are not timed), at each of
the recipe's ``settings`` with its batch, attention and precision (``auto`` resolved on this
CPU: bf16 autocast where it has bf16 natively, else float32). The peer is
:class:`dlf.bench.plain_gpt.PlainGPT`, the textbook model (fused attention, float32,
``torch.optim.AdamW``, nothing else), at the same batch, on the same kind of ids, in the same
run, alternating, with the same number of threads. The headline ratio is the default setting's
step (float32) over the plain one (target <= 1). ``dlf bench gpt-quality`` times whole runs to
a validation loss.

Generation: the same shape with a context of 512, so that 500 new tokens fit in it (with block
64 the cache is dropped once the context is full, as nanoGPT does). Greedy decoding of 500
tokens from one token, with the KV cache (each step feeds the new token only) and without (each
step recomputes the whole sequence, O(T^2) in all). The two must give the same tokens. Target:
the cache >= 5x the tokens/s, i.e. a time ratio cached/uncached <= 0.2.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from dlf.bench import BenchReport, best_time, load_average
from dlf.bench.plain_gpt import PlainGPT, get_batch, plain_step
from dlf.gpt.model import GPT, GPTConfig
from dlf.gpt.recipes.gpt_shakespeare_char import RECIPE
from dlf.gpt.recipes.text_lm import TextLMConfig
from dlf.gpt.train import TrainConfig, train, use_bf16
from dlf.recipes.config import ConfigError
from dlf.runs.threads import run_threads
from dlf.sampling import generate, greedy
from dlf.transformer.seq2seq_training import torch_threads

SPEEDUP_TARGET = 5.0
STEP_RATIO_TARGET = 1.0  # dlf's default step no slower than the plain model's


def generate_tokens(model: GPT, new_tokens: int, use_cache: bool, prompt: int = 0) -> list[int]:
    """Greedy decoding of ``new_tokens`` ids after the one-token prompt ``[prompt]``, with or
    without the KV cache (``GPT.step_fn(use_cache)``). Returns the new ids."""
    model.eval()
    return list(generate(model.step_fn(use_cache=use_cache), [prompt], new_tokens, greedy))


def training_ms_per_iteration(
    config: GPTConfig, batch_size: int, steps: int, seed: int = 0, precision: str = "fp32"
):
    """Milliseconds per optimizer step of :func:`dlf.gpt.train.train` (forward, backward, clip,
    AdamW) on synthetic ids, the best of two runs of ``steps`` steps after a 2-step warm-up.
    ``precision``: TrainConfig's ("bf16": autocast)."""
    tokens = synthetic_ids(config, batch_size, seed)
    n = len(tokens)
    best = float("inf")
    for max_steps in (2, steps, steps):
        torch.manual_seed(seed)
        model = GPT(config)
        settings = TrainConfig(max_steps=max_steps, batch_size=batch_size, warmup_steps=1,
                               eval_interval=10**9, eval_batches=1, device="cpu",
                               precision=precision)  # fmt: skip
        result = train(model, tokens[: n * 9 // 10], tokens[n * 9 // 10 :], settings)
        if max_steps == steps:
            best = min(best, result.train_seconds / steps)
    return 1000.0 * best


def synthetic_ids(config: GPTConfig, batch_size: int, seed: int = 0) -> np.ndarray:
    """Random int64 ids, enough for 20 batches of windows of ``block_size + 1``."""
    n = max(20 * batch_size * (config.block_size + 1), 4096)
    return np.random.default_rng(seed).integers(0, config.vocab_size, size=n).astype(np.int64)


def plain_ms_per_iteration(config: GPTConfig, batch_size: int, steps: int, seed: int = 0):
    """Milliseconds per step of :class:`PlainGPT` of ``config``'s shape on synthetic ids, its
    batches drawn inside the loop (``get_batch``, as dlf's loop draws its own), the best of two
    runs of ``steps`` steps after a 2-step warm-up."""
    tokens = torch.from_numpy(synthetic_ids(config, batch_size, seed))
    g = torch.Generator().manual_seed(seed)
    best = float("inf")
    for run_steps in (2, steps, steps):
        torch.manual_seed(seed)
        model = PlainGPT(config.vocab_size, config.block_size, config.n_layer, config.n_head,
                         config.n_embd)  # fmt: skip
        optimizer = torch.optim.AdamW(model.parameters())
        start = time.perf_counter()
        for _ in range(run_steps):
            plain_step(model, optimizer, *get_batch(tokens, config.block_size, batch_size, g))
        if run_steps == steps:
            best = min(best, (time.perf_counter() - start) / steps)
    return 1000.0 * best


def recipe_settings(settings: str) -> list[str]:
    """The names in the comma-separated ``settings``: "default" and gpt-shakespeare-char's
    setting names. Raises ConfigError (before any work) for an unknown or empty list."""
    names = [n.strip() for n in settings.split(",") if n.strip()]
    unknown = [n for n in names if n != "default" and n not in RECIPE.settings]
    if not names or unknown:
        valid = ", ".join(["default", *RECIPE.settings])
        raise ConfigError(f"settings must name some of: {valid}; got {settings!r}")
    return names


def setting_config(name: str, **overrides) -> TextLMConfig:
    """gpt-shakespeare-char's config at setting ``name`` ("default": none), then ``overrides``."""
    return RECIPE.make_config(setting=None if name == "default" else name, overrides=overrides)


def bench_gpt(
    n_layer: int = 4,
    n_head: int = 4,
    n_embd: int = 128,
    block_size: int = 64,
    batch_size: int = 0,
    vocab_size: int = 65,
    settings: str = "default,fast",
    train_steps: int = 20,
    new_tokens: int = 500,
    repeats: int = 2,
    threads: int = 0,
) -> BenchReport:
    """Training ms/iteration of each of ``settings`` against the plain GPT at the same batch,
    and generation tokens/s (KV cache on and off) of a small char GPT.

    Each setting of ``gpt-shakespeare-char`` trains with its precision (``auto`` resolved on
    this CPU), attention and batch (``batch_size`` > 0: that batch for all). ``threads``: torch
    CPU threads for every model (0: the cores free at the start, as a recipe takes them,
    :func:`dlf.runs.threads.run_threads`). The headline ratio is the first setting's step over
    the plain one's. Raises RuntimeError if cached and uncached decoding give different tokens.
    """
    names = recipe_settings(settings)
    smallest = {"n_layer": (n_layer, 1), "n_head": (n_head, 1), "n_embd": (n_embd, 1),
                "block_size": (block_size, 1), "vocab_size": (vocab_size, 1),
                "train_steps": (train_steps, 1), "new_tokens": (new_tokens, 1),
                "repeats": (repeats, 1), "batch_size": (batch_size, 0),
                "threads": (threads, 0)}  # fmt: skip
    for key, (value, least) in smallest.items():
        if value < least:
            raise ConfigError(f"{key} must be >= {least}, got {value}")
    cpu = torch.device("cpu")
    shape = dict(n_layer=n_layer, n_head=n_head, n_embd=n_embd, vocab_size=vocab_size,
                 dropout=0.0)  # fmt: skip
    runs = {}  # name -> (GPTConfig, batch, precision)
    for name in names:
        c = setting_config(name)
        precision = "bf16" if use_bf16(c.precision, cpu) else "fp32"
        model_config = GPTConfig(block_size=block_size, attention=c.attention, **shape)
        runs[name] = (model_config, batch_size or c.batch_size, precision)
    with torch_threads(threads or run_threads()):
        plain_config = GPTConfig(block_size=block_size, **shape)
        ms = dict.fromkeys(runs, float("inf"))
        plain_ms = dict.fromkeys(sorted({b for _, b, _ in runs.values()}), float("inf"))
        for _ in range(repeats):  # alternating, so that a change of load touches every model
            for b in plain_ms:
                plain_ms[b] = min(plain_ms[b], plain_ms_per_iteration(plain_config, b, train_steps))
            for name, (model_config, b, precision) in runs.items():
                step_ms = training_ms_per_iteration(
                    model_config, b, train_steps, precision=precision
                )
                ms[name] = min(ms[name], step_ms)

        torch.manual_seed(0)
        model = GPT(GPTConfig(block_size=new_tokens + 1, **shape)).eval()
        cached = generate_tokens(model, new_tokens, use_cache=True)
        uncached = generate_tokens(model, new_tokens, use_cache=False)
        if cached != uncached:
            first = next(i for i, (a, b) in enumerate(zip(cached, uncached, strict=True)) if a != b)
            raise RuntimeError(
                f"cached and uncached greedy decoding differ at token {first}: the KV cache is "
                "wrong (see GPT.step)"
            )
        seconds = {
            use: best_time(lambda u=use: generate_tokens(model, new_tokens, u), repeats, 0)
            for use in (True, False)
        }
        n_threads = torch.get_num_threads()
    with_cache, without = new_tokens / seconds[True], new_tokens / seconds[False]
    load = load_average()
    rows = [
        (f"training, plain PyTorch GPT (fused attention, fp32, AdamW), batch {b}", t, "ms/iter")
        for b, t in plain_ms.items()
    ]
    for name, (_, b, precision) in runs.items():
        rows += [
            (f"training, dlf {name} ({precision}, batch {b})", ms[name], "ms/iter"),
            (f"  {name} / plain at batch {b}", ms[name] / plain_ms[b], "x"),
        ]
    rows += [
        (f"generation {new_tokens} tokens, KV cache", with_cache, "tokens/s"),
        (f"generation {new_tokens} tokens, recomputed", without, "tokens/s"),
        ("speed-up of the KV cache", with_cache / without, "x"),
    ]
    first, (_, b, precision) = next(iter(runs.items()))
    report = BenchReport(
        name="gpt",
        rows=rows,
        ratio=ms[first] / plain_ms[b],
        ratio_of=f"ms per training step, dlf {first} ({precision}) / plain PyTorch GPT",
        target=STEP_RATIO_TARGET,
        notes=[
            f"{n_threads} torch thread(s); {n_layer}x{n_embd}, block {block_size}; generation: "
            f"greedy from one token, context {new_tokens + 1}, best of {repeats}; identical "
            "tokens with and without the cache",
            f"KV cache target: >= {SPEEDUP_TARGET:g}x the tokens/s of recomputation; "
            f"training: best of {repeats} alternating runs of {train_steps} steps",
            f"1-minute load average {load:.2f} at the end (a shared machine)",
        ],
    )
    return report
