"""``dlf bench mlp``: one epoch of the same MLP in ``dlf.scratch`` (NumPy) and in PyTorch (CPU).

The model is 784-512-256-10 with ReLU, trained in float32 by SGD with momentum 0.9 on softmax
cross-entropy, batch 128. Both frameworks start from the same weights (copied from the scratch
model into the torch one by :func:`copy_scratch_to_torch`), see the same batches in the same
order (one seeded permutation per epoch, shared) and run on the same number of threads (torch's
intra-op pool and, through ``threadpoolctl`` when installed, NumPy's BLAS). Both do the same
arithmetic, which is what makes the time ratio a fair comparison. Their weights agree to float32
rounding at first; over many steps a ReLU input within a few ulps of 0 can take opposite signs in
the two and the runs drift apart slowly, so the printed largest weight difference grows with the
number of steps (a wrong update would differ by the whole distance the weights moved).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dlf.bench import BenchReport, best_time, load_average
from dlf.scratch import Momentum, Sequential, softmax_cross_entropy
from dlf.scratch.mlp import mlp

SIZES = (784, 512, 256, 10)
TARGET = 0.9


@dataclass
class MLPData:
    """Inputs ``x`` (N, 784) float32 in [0, 1], labels ``y`` (N,) int64, and their source."""

    x: np.ndarray
    y: np.ndarray
    source: str


def load_mnist_or_random(n: int = 60000, seed: int = 0) -> MLPData:
    """The first ``n`` MNIST training images, flattened and scaled to [0, 1] (``to_float``).

    When MNIST is not found (no ``$DLF_DATA``, offline), seeded uniform random pixels and labels of
    the same shapes and dtypes instead: the timing depends only on the shapes.
    Example: ``load_mnist_or_random(256).x.shape`` -> ``(256, 784)``.
    """
    from dlf.data import DataError, load_images, to_float

    try:
        data = load_images("mnist")
    except DataError as err:
        rng = np.random.default_rng(seed)
        x = rng.random((n, SIZES[0]), dtype=np.float32)
        y = rng.integers(0, SIZES[-1], n).astype(np.int64)
        return MLPData(x, y, f"seeded random data (MNIST not available: {type(err).__name__})")
    images = data.x_train[:n]
    x = to_float(images.reshape(len(images), -1))
    return MLPData(np.ascontiguousarray(x), data.y_train[:n].copy(), f"MNIST train, first {n}")


def torch_mlp(sizes: tuple[int, ...] = SIZES) -> nn.Sequential:
    """The PyTorch twin of ``dlf.scratch.mlp.mlp(sizes)``: ``nn.Linear`` and ``nn.ReLU`` layers."""
    layers: list[nn.Module] = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(d_in, d_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def copy_scratch_to_torch(scratch: Sequential, model: nn.Sequential) -> None:
    """Copy every ``Linear``'s weights of the scratch model into the torch model, in place.

    Scratch stores ``W`` as (in, out) for ``y = x W + b``; ``nn.Linear`` stores ``weight`` as
    (out, in) for ``y = x weight^T + bias``; so ``weight = W^T`` and ``bias = b``. Layers are
    matched by position in the two ``Sequential`` containers.
    """
    with torch.no_grad():
        for i, layer in enumerate(scratch.layers):
            if "W" not in layer.params:
                continue
            twin = model[i]
            shape = layer.params["W"].shape[::-1]
            if not isinstance(twin, nn.Linear) or tuple(twin.weight.shape) != shape:
                raise ValueError(f"layer {i}: no nn.Linear of matching shape in the torch model")
            twin.weight.copy_(torch.from_numpy(layer.params["W"].T))
            twin.bias.copy_(torch.from_numpy(layer.params["b"]))


def epoch_batches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Index arrays of one shuffled epoch: a permutation of ``range(n)`` cut into batches.

    The last batch is smaller when ``batch_size`` does not divide ``n``.
    Example: ``[len(b) for b in epoch_batches(300, 128, rng)]`` -> ``[128, 128, 44]``.
    """
    order = rng.permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def scratch_epoch(
    model: Sequential, opt: Momentum, x: np.ndarray, y: np.ndarray, batches: list[np.ndarray]
) -> float:
    """One epoch of mini-batch training of the scratch model; returns the last batch's loss."""
    params, grads = model.params, model.grads  # the same arrays every step
    loss = float("nan")
    for idx in batches:
        logits = model.forward(x[idx])
        loss, dlogits = softmax_cross_entropy(logits, y[idx])
        model.backward(dlogits)
        opt.step(params, grads)
    return loss


def torch_epoch(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    batches: list[torch.Tensor],
) -> float:
    """One epoch of the same training in PyTorch; returns the last batch's loss."""
    loss = torch.tensor(float("nan"))
    for idx in batches:
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(loss.detach())


@dataclass
class MLPPair:
    """The scratch and torch models with their optimizers, started from the same weights."""

    scratch: Sequential
    scratch_opt: Momentum
    torch: nn.Sequential
    torch_opt: torch.optim.SGD


def make_pair(lr: float = 0.01, momentum: float = 0.9, seed: int = 0) -> MLPPair:
    """Both models (scratch He init from ``seed``, copied into torch), each with SGD + momentum."""
    scratch = mlp(SIZES, rng=np.random.default_rng(seed))
    # The data need no gradient: skip dL/dx of the first layer, as torch does for its input.
    scratch.layers[0].needs_input_grad = False
    model = torch_mlp(SIZES)
    copy_scratch_to_torch(scratch, model)
    return MLPPair(
        scratch,
        Momentum(lr, momentum=momentum),
        model,
        torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum),
    )


@contextlib.contextmanager
def thread_limit(threads: int):
    """Run torch's intra-op pool and NumPy's BLAS on ``threads`` threads; restored on exit.

    Yields a description of NumPy's BLAS (library, kernel, threads), or a note that
    ``threadpoolctl`` is missing, in which case NumPy's BLAS keeps its own default.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        try:
            from threadpoolctl import threadpool_info, threadpool_limits
        except ImportError:
            yield "threadpoolctl not installed: NumPy's BLAS threads not set (pip install it)"
            return
        with threadpool_limits(limits=threads, user_api="blas"):
            blas = [
                f"{i['internal_api']} {i.get('version')} kernel {i.get('architecture')}, "
                f"{i['num_threads']} threads"
                for i in threadpool_info()
                if i["user_api"] == "blas" and "torch" not in i["filepath"]
            ]
            yield "NumPy BLAS: " + ("; ".join(blas) or "none found")
    finally:
        torch.set_num_threads(before)


def interleaved_best(
    ours: Callable[[], object], peer: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """Best seconds of ``ours`` and of ``peer`` (:func:`dlf.bench.best_time`), each warmed up once,
    then timed in ``repeats`` alternating rounds, so that a change in the load of a shared machine
    hits both alike. Example: ``interleaved_best(f, g, 3)`` runs f f g g f g f g (the first of
    each pair of the first round is its warm-up) and returns (best f, best g).
    """
    ours_s = peer_s = float("inf")
    for round_ in range(repeats):
        warmup = 1 if round_ == 0 else 0
        ours_s = min(ours_s, best_time(ours, repeats=1, warmup=warmup))
        peer_s = min(peer_s, best_time(peer, repeats=1, warmup=warmup))
    return ours_s, peer_s


def bench_mlp(
    epochs: int = 1,
    batch_size: int = 128,
    threads: int | None = None,
    n: int = 60000,
    repeats: int = 3,
    lr: float = 0.01,
    seed: int = 0,
) -> BenchReport:
    """Time ``epochs`` epochs of the 784-512-256-10 MLP, ``dlf.scratch`` against PyTorch (CPU).

    ``threads``: threads for both (default: torch's current setting); ``n``: training examples
    (MNIST's first ``n``, or random data of that shape). Each side is timed as the best of
    ``repeats`` runs after one warm-up run, alternating with the other side
    (:func:`interleaved_best`), over the same batch order. The ratio is scratch time
    / torch time per epoch (below 1: scratch is faster). The notes give the final losses, the
    largest weight difference between the two models and the BLAS kernel in use.
    """
    if repeats < 1 or epochs < 1 or batch_size < 1:
        raise ValueError("bench_mlp needs epochs >= 1, batch_size >= 1 and repeats >= 1")
    threads = torch.get_num_threads() if threads is None else threads
    data = load_mnist_or_random(n, seed)
    n = len(data.x)
    rng = np.random.default_rng(seed)
    schedule = [epoch_batches(n, batch_size, rng) for _ in range(epochs)]
    schedule_t = [[torch.from_numpy(b) for b in batches] for batches in schedule]
    x_t, y_t = torch.from_numpy(data.x), torch.from_numpy(data.y)
    pair = make_pair(lr=lr, seed=seed)
    losses = {}

    def run_scratch() -> None:
        for batches in schedule:
            losses["scratch"] = scratch_epoch(
                pair.scratch, pair.scratch_opt, data.x, data.y, batches
            )

    def run_torch() -> None:
        for batches in schedule_t:
            losses["torch"] = torch_epoch(pair.torch, pair.torch_opt, x_t, y_t, batches)

    with thread_limit(threads) as blas:
        scratch_s, torch_s = (t / epochs for t in interleaved_best(run_scratch, run_torch, repeats))

    report = BenchReport(name=f"mlp ({'-'.join(map(str, SIZES))}, batch {batch_size})")
    report.rows += [
        ("dlf.scratch (NumPy): time per epoch", scratch_s, "s"),
        ("PyTorch (CPU): time per epoch", torch_s, "s"),
        ("steps per epoch", float(len(schedule[0])), ""),
    ]
    report.ratio, report.ratio_of, report.target = scratch_s / torch_s, "time per epoch", TARGET
    diff = max_weight_difference(pair.scratch, pair.torch)
    report.notes += [
        f"data: {data.source}; {n} examples, float32; {threads} threads",
        blas,
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; load average "
        f"(1 min) {load_average():.1f} on {os.cpu_count()} CPUs: other work skews timings",
        f"after {repeats + 1} passes over the same batches each: last loss scratch "
        f"{losses['scratch']:.4f}, torch {losses['torch']:.4f}; "
        f"largest weight difference {diff:.2e}",
    ]
    return report


def max_weight_difference(scratch: Sequential, model: nn.Sequential) -> float:
    """Largest ``|W - weight^T|`` or ``|b - bias|`` over the matching layers of the two models."""
    diff = 0.0
    for i, layer in enumerate(scratch.layers):
        if "W" in layer.params:
            w = model[i].weight.detach().numpy().T
            b = model[i].bias.detach().numpy()
            diff = max(diff, float(np.abs(layer.params["W"] - w).max()))
            diff = max(diff, float(np.abs(layer.params["b"] - b).max()))
    return diff
