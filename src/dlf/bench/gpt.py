"""``dlf bench gpt``: training ms/iteration of a small char GPT, and generation tokens/s with and
without the KV cache.

Training: the issue's reference shape (4 layers, 4 heads, 128 wide, block 64, batch 12, 65
characters) in float32 with PyTorch's fused attention, and as ``gpt-shakespeare-char``'s CPU
speed settings run it (bf16 autocast, our attention), timed through the one training loop
:func:`dlf.gpt.train.train` on synthetic ids (the speed does not depend on the text);
evaluations and checkpoints are not timed.

Generation: the same shape with a context of 512, so that 500 new tokens fit in it (with block
64 the cache is dropped once the context is full, as nanoGPT does). Greedy decoding of 500
tokens from one token, with the KV cache (each step feeds the new token only) and without (each
step recomputes the whole sequence, O(T^2) in all). The two must give the same tokens. Target
(issue 6): the cache >= 5x the tokens/s, i.e. a time ratio cached/uncached <= 0.2.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import torch

from dlf.bench import BenchReport, best_time
from dlf.gpt.model import GPT, GPTConfig
from dlf.gpt.train import TrainConfig, train
from dlf.sampling import generate, greedy
from dlf.transformer.seq2seq_training import torch_threads

SPEEDUP_TARGET = 5.0


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
    rng = np.random.default_rng(seed)
    n = max(20 * batch_size * (config.block_size + 1), 4096)
    tokens = rng.integers(0, config.vocab_size, size=n).astype(np.int64)
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


def bench_gpt(
    n_layer: int = 4,
    n_head: int = 4,
    n_embd: int = 128,
    block_size: int = 64,
    batch_size: int = 12,
    vocab_size: int = 65,
    train_steps: int = 20,
    new_tokens: int = 500,
    repeats: int = 2,
    threads: int = 1,
) -> BenchReport:
    """Training ms/iteration and generation tokens/s (KV cache on and off) of a small char GPT.

    ``threads``: torch CPU threads during the benchmark (0: leave torch's setting). The ratio is
    seconds per generated token with the cache over without it (below 1: the cache is faster).
    Raises RuntimeError if cached and uncached decoding give different tokens.
    """
    with torch_threads(threads):
        shape = dict(n_layer=n_layer, n_head=n_head, n_embd=n_embd, vocab_size=vocab_size,
                     dropout=0.0, attention="fused")  # fmt: skip
        train_config = GPTConfig(block_size=block_size, **shape)
        ms = training_ms_per_iteration(train_config, batch_size, train_steps)
        # gpt-shakespeare-char's CPU speed settings: bf16 autocast and our attention
        fast_config = dataclasses.replace(train_config, attention="ours")
        fast_ms = training_ms_per_iteration(fast_config, batch_size, train_steps, precision="bf16")

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
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    report = BenchReport(
        name="gpt",
        rows=[
            (
                f"training, {n_layer}x{n_embd}, block {block_size}, batch {batch_size}",
                ms,
                "ms/iter",
            ),
            ("training, the same in bf16 with our attention (cpu-40s)", fast_ms, "ms/iter"),
            ("speed-up of the cpu-40s training step", ms / fast_ms, "x"),
            (f"generation {new_tokens} tokens, KV cache", with_cache, "tokens/s"),
            (f"generation {new_tokens} tokens, recomputed", without, "tokens/s"),
            ("speed-up of the KV cache", with_cache / without, "x"),
        ],
        ratio=seconds[True] / seconds[False],
        ratio_of="seconds per generated token, KV cache / recomputation",
        target=1.0 / SPEEDUP_TARGET,
        notes=[
            f"{n_threads} torch thread(s); generation: greedy from one token, context "
            f"{new_tokens + 1}, best of {repeats}; identical tokens with and without the cache",
            f"target: KV cache >= {SPEEDUP_TARGET:g}x the tokens/s of recomputation; "
            f"1-minute load average {load:.2f} at the end (a shared machine)",
        ],
    )
    return report
