"""``dlf bench conv``: a small CNN's forward + backward, ``dlf.scratch`` against PyTorch CPU.

The net (both sides, same weights, float32):

    conv 1->32 3x3, ReLU, max-pool 2, conv 32->64 3x3, ReLU, max-pool 2, flatten, linear -> 10

over a batch of random 1x28x28 images, the backward pass seeded with a random ``dL/dy``. Both
sides are timed in the same run, alternating, with the same number of threads, and the report
gives ``ratio = scratch / torch`` (target 1.5; PyTorch runs oneDNN/MKL kernels, the scratch net
NumPy's im2col + BLAS matrix products).
"""

from __future__ import annotations

import os

import numpy as np

from dlf.bench import BenchReport, best_time

TARGET_RATIO = 1.5


def _blas_threads() -> int:
    """Threads NumPy's OpenBLAS uses: fixed when NumPy loads, from these variables or all CPUs."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def scratch_net(padding: int = 0, rng: np.random.Generator | None = None):
    """The benchmark CNN built from ``dlf.scratch`` layers (float32); input (N, 1, 28, 28)."""
    from dlf.scratch import Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential

    side = ((28 + 2 * padding - 2) // 2 + 2 * padding - 2) // 2
    return Sequential(
        Conv2d(1, 32, 3, padding=padding, rng=rng),
        ReLU(),
        MaxPool2d(2),
        Conv2d(32, 64, 3, padding=padding, rng=rng),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(64 * side * side, 10, rng=rng),
    )


def torch_twin(net, padding: int = 0):
    """The same network in ``torch.nn`` with a copy of ``net``'s weights (Linear's W transposed)."""
    import torch
    from torch import nn

    conv1, conv2, linear = net[0], net[3], net[7]
    twin = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=padding),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=padding),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(linear.in_features, 10),
    )
    with torch.no_grad():
        for ours, theirs in ((conv1, twin[0]), (conv2, twin[3])):
            theirs.weight.copy_(torch.from_numpy(ours.params["W"]))
            theirs.bias.copy_(torch.from_numpy(ours.params["b"]))
        twin[7].weight.copy_(torch.from_numpy(linear.params["W"].T))
        twin[7].bias.copy_(torch.from_numpy(linear.params["b"]))
    return twin


def bench_conv(
    batch: int = 64, repeats: int = 5, threads: int | None = None, *, padding: int = 0
) -> BenchReport:
    """Time forward + backward of the benchmark CNN, scratch vs PyTorch, in one run.

    ``repeats`` rounds alternate the two sides; each round takes the best of 5 calls of each
    after a warm-up, and the report keeps each side's best round. ``threads`` sets PyTorch's
    thread count (``torch.set_num_threads``, restored afterwards); by default it matches NumPy's
    BLAS, whose thread count is fixed when NumPy loads (``OPENBLAS_NUM_THREADS``). ``padding``
    of both convolutions (0: 28 -> 26 -> 13 -> 11 -> 5). Returns a :class:`BenchReport` whose
    ratio is scratch time / torch time per batch.
    """
    import torch

    rng = np.random.default_rng(0)
    net = scratch_net(padding, rng)
    twin = torch_twin(net, padding)
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    dy = rng.standard_normal((batch, 10)).astype(np.float32)
    x_t, dy_t = torch.from_numpy(x), torch.from_numpy(dy)

    def scratch_step() -> None:
        net.forward(x)
        net.backward(dy)

    def torch_step() -> None:
        for p in twin.parameters():
            p.grad = None
        twin(x_t).backward(dy_t)

    blas_threads = _blas_threads()
    n_threads = threads if threads is not None else blas_threads
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        gap = float(np.max(np.abs(net.forward(x) - twin(x_t).detach().numpy())))
        t_scratch = t_torch = float("inf")
        for _ in range(repeats):
            t_scratch = min(t_scratch, best_time(scratch_step, repeats=5, warmup=1))
            t_torch = min(t_torch, best_time(torch_step, repeats=5, warmup=1))
    finally:
        torch.set_num_threads(previous)

    report = BenchReport(
        name="conv",
        rows=[
            ("dlf.scratch forward+backward", 1e3 * t_scratch, "ms"),
            ("torch forward+backward", 1e3 * t_torch, "ms"),
            ("batch", batch, "images 1x28x28"),
            ("threads (torch)", n_threads, ""),
            ("max |output difference|", gap, "(same weights, float32)"),
        ],
        ratio=t_scratch / t_torch,
        ratio_of="forward+backward time per batch",
        target=TARGET_RATIO,
    )
    report.notes.append(
        "net: conv 1->32 3x3, ReLU, maxpool 2, conv 32->64 3x3, ReLU, maxpool 2, flatten, "
        f"linear -> 10; padding {padding}; float32"
    )
    if n_threads != blas_threads:
        report.notes.append(
            f"NumPy's BLAS runs {blas_threads} threads: start Python with "
            f"OPENBLAS_NUM_THREADS={n_threads} to give both sides the same count"
        )
    if os.environ.get("OPENBLAS_CORETYPE"):
        report.notes.append(f"OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} is set")
    return report
