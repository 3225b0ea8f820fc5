"""``dlf bench gpt``: training ms/iteration of a small char GPT against a plain PyTorch GPT of
the same shape, and generation tokens/s with and without the KV cache.

Training: ``gpt-shakespeare-char``'s shape (4 layers, 4 heads, 128 wide, block 64, batch 12,
65 characters), timed through the one training loop :func:`dlf.gpt.train.train` on synthetic
ids (the speed does not depend on the text; evaluations and checkpoints are not timed): the
recipe's default (float32, ``attention=auto``: PyTorch's fused kernel), and its fast settings'
``precision=auto`` (bf16 autocast where this CPU has bf16 natively, else float32). The peer
is :class:`dlf.bench.plain_gpt.PlainGPT`, the textbook model (fused attention, float32,
``torch.optim.AdamW``, nothing else), timed on the same ids in the same run, alternating, with
the same number of threads. The headline ratio is dlf's default float32 step over the plain
one (target <= 1). ``dlf bench gpt-quality`` times whole runs to a validation loss.

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
from dlf.gpt.recipes.text_lm import TextLMConfig
from dlf.gpt.train import TrainConfig, train, use_bf16
from dlf.runs.threads import run_threads
from dlf.sampling import generate, greedy
from dlf.transformer.seq2seq_training import torch_threads

SPEEDUP_TARGET = 5.0
STEP_RATIO_TARGET = 1.0  # dlf's float32 step no slower than the plain model's


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
    threads: int = 0,
) -> BenchReport:
    """Training ms/iteration and generation tokens/s (KV cache on and off) of a small char GPT.

    ``threads``: torch CPU threads for every model (0: the cores free at the start, as a recipe
    takes them, :func:`dlf.runs.threads.run_threads`). The ratio is
    seconds per generated token with the cache over without it (below 1: the cache is faster).
    Raises RuntimeError if cached and uncached decoding give different tokens.
    """
    fast_precision = "bf16" if use_bf16("auto", torch.device("cpu")) else "fp32"
    with torch_threads(threads or run_threads()):
        shape = dict(n_layer=n_layer, n_head=n_head, n_embd=n_embd, vocab_size=vocab_size,
                     dropout=0.0)  # fmt: skip
        attention = TextLMConfig().attention  # the text recipes' default setting
        train_config = GPTConfig(block_size=block_size, attention=attention, **shape)
        ms, fast_ms, plain_ms = float("inf"), float("inf"), float("inf")
        for _ in range(repeats):  # alternating, so that a change of load touches all three
            ms = min(ms, training_ms_per_iteration(train_config, batch_size, train_steps))
            plain_ms = min(plain_ms, plain_ms_per_iteration(train_config, batch_size, train_steps))
            fast_ms = min(
                fast_ms,
                training_ms_per_iteration(
                    train_config, batch_size, train_steps, precision=fast_precision
                ),
            )

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
    report = BenchReport(
        name="gpt",
        rows=[
            (
                f"training, dlf {n_layer}x{n_embd}, block {block_size}, batch {batch_size}, "
                "default (fp32)",
                ms,
                "ms/iter",
            ),
            ("training, the plain PyTorch GPT (fused attention, fp32, AdamW)", plain_ms, "ms/iter"),
            (f"training, dlf precision=auto ({fast_precision} on this CPU)", fast_ms, "ms/iter"),
            ("precision=auto step / plain step", fast_ms / plain_ms, "x"),
            (f"generation {new_tokens} tokens, KV cache", with_cache, "tokens/s"),
            (f"generation {new_tokens} tokens, recomputed", without, "tokens/s"),
            ("speed-up of the KV cache", with_cache / without, "x"),
        ],
        ratio=ms / plain_ms,
        ratio_of="ms per training step, dlf float32 / plain PyTorch GPT",
        target=STEP_RATIO_TARGET,
        notes=[
            f"{n_threads} torch thread(s); generation: greedy from one token, context "
            f"{new_tokens + 1}, best of {repeats}; identical tokens with and without the cache",
            f"KV cache target: >= {SPEEDUP_TARGET:g}x the tokens/s of recomputation; "
            f"training: best of {repeats} alternating runs of {train_steps} steps",
            f"1-minute load average {load:.2f} at the end (a shared machine)",
        ],
    )
    return report
