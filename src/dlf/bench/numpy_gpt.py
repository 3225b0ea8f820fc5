"""``dlf bench numpy-gpt``: one training step of the NumPy GPT against the same GPT in PyTorch.

The NumPy GPT (``dlf.scratch.gpt``: hand-written backward) and ``dlf.gpt.GPT`` (autograd) start
from the same float32 weights (copied by :func:`dlf.gpt.numpy_twin.torch_twin`) and take the
same step on the same batch: forward, mean cross-entropy, backward, clipping of the global
gradient norm to 1, AdamW with decay on the matrices. Same threads for both (torch's pool and
NumPy's BLAS, :func:`dlf.bench.mlp.thread_limit`); the two are timed in alternation
(:func:`dlf.bench.mlp.interleaved_best`), best of ``repeats``. Both models take the same number
of steps, so their weights stay equal up to float32 rounding (reported). The PyTorch twin uses
``attention="ours"`` by default, the same arithmetic (scores, masked softmax, weights times
values); ``attention="fused"`` times PyTorch's fused kernel instead. Target: NumPy / PyTorch <= 2.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from dlf.bench import BenchReport, cpu_model, load_average
from dlf.bench.mlp import interleaved_best, thread_limit
from dlf.gpt.numpy_train import configure_optimizer, train_step
from dlf.gpt.numpy_twin import torch_twin
from dlf.scratch.gpt import GPT

TARGET = 2.0


def bench_numpy_gpt(
    n_layer: int = 4,
    n_head: int = 4,
    n_embd: int = 128,
    block_size: int = 64,
    batch_size: int = 12,
    vocab_size: int = 65,
    threads: int = 1,
    repeats: int = 10,
    attention: Literal["ours", "fused"] = "ours",
    seed: int = 0,
) -> BenchReport:
    """Milliseconds per training step, NumPy GPT and PyTorch GPT, and their ratio.

    Defaults: nanoGPT's CPU "baby GPT" (4 layers, 4 heads, 128 wide, block 64, batch 12, 65
    characters), one thread. The batch is seeded random ids (the speed does not depend on them).
    """
    if min(repeats, threads, batch_size) < 1:
        raise ValueError("bench_numpy_gpt needs repeats, threads and batch_size >= 1")
    model = GPT(vocab_size, block_size, n_layer, n_head, n_embd, rng=np.random.default_rng(seed))
    twin = torch_twin(model, attention=attention)
    rows = np.random.default_rng(seed + 1).integers(0, vocab_size, (batch_size, block_size + 1))
    x, y = torch.from_numpy(rows[:, :-1].copy()), torch.from_numpy(rows[:, 1:].copy())
    lr, betas, decay, clip = 1e-3, (0.9, 0.99), 0.1, 1.0
    optimizer = configure_optimizer(decay, lr, betas)
    torch_optimizer = twin.configure_optimizer(decay, lr, betas)
    losses: dict[str, float] = {}

    def numpy_step() -> None:
        losses["numpy"], _ = train_step(model, optimizer, rows, lr, clip)

    def torch_step() -> None:
        _, loss = twin(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(twin.parameters(), clip)
        torch_optimizer.step()
        torch_optimizer.zero_grad(set_to_none=True)
        losses["torch"] = loss.item()

    with thread_limit(threads) as blas:
        numpy_s, torch_s = interleaved_best(numpy_step, torch_step, repeats)
    state = model.state_dict()
    diff = max(
        float(np.abs(state[k] - v.detach().numpy()).max()) for k, v in twin.state_dict().items()
    )
    report = BenchReport(
        name=f"numpy-gpt ({n_layer}x{n_head}x{n_embd}, block {block_size}, batch {batch_size})"
    )
    report.rows += [
        ("NumPy GPT (dlf.scratch.gpt): training step", 1000 * numpy_s, "ms"),
        (f"PyTorch GPT (dlf.gpt, attention={attention}): training step", 1000 * torch_s, "ms"),
        (f"NumPy GPT: loss at step {repeats + 1}", losses["numpy"], "nats"),
        (f"PyTorch GPT: loss at step {repeats + 1}", losses["torch"], "nats"),
    ]
    report.ratio, report.ratio_of, report.target = numpy_s / torch_s, "time per step", TARGET
    report.notes += [
        f"{threads} thread(s) each; {blas}",
        f"{cpu_model()}; load average (1 min) {load_average():.1f}: other work skews timings",
        f"largest weight difference after {repeats + 1} steps each {diff:.1e} (float32: AdamW "
        "divides each gradient entry by its own RMS, so entries near rounding noise can differ "
        "by up to lr per step)",
    ]
    return report
