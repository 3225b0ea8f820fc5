"""Why gradient accumulation exists: the batch the optimisation wants may not fit in memory.

A step over a batch of B windows keeps the activations of all B windows until its backward
pass. Split into k micro-batches of B/k, run one after the other, each backward adding its share
of the gradient (:func:`dlf.gpt.train.accumulate_gradients`: sum_m grad(L_m / k)), the step
holds the activations of B/k windows at a time, and its gradient is the same: the mean over all
B windows. So a GPT whose batch does not fit trains as if it did, at the price of k smaller,
less efficient matrix products per step.

For each k of ``ks``, the same GPT from the same initial weights trains ``steps`` AdamW steps
on the same batches of Tiny Shakespeare (characters), each step of ``batch_size`` windows in k
micro-batches. Each k runs in a process of its own, so that its peak memory is its own: the
kernel's high-water mark of the process's resident memory, reset when the model and data are
ready (Linux's ``VmHWM``; elsewhere ``resource.getrusage``'s ``ru_maxrss``), less the resident
memory at that moment. The report shows the loss curves on top of each other, equal up to
float32 rounding, and the peak memory falling as k grows, with the time per step.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

from dlf.recipes import ConfigError, Recipe, ranged
from dlf.runs import Diverged, RunDir, check_finite, line_plot

MIB = 2**20


@dataclass
class GradAccumConfig:
    batch_size: int = ranged(64, ge=1)  # B: windows per optimizer step, for every k
    ks: tuple[int, ...] = ranged((1, 2, 4, 8), ge=1)  # micro-batches per step; each divides B
    steps: int = ranged(60, ge=1)  # optimizer steps per k
    block_size: int = ranged(128, ge=2)  # T: characters per window
    n_layer: int = ranged(4, ge=1)
    n_head: int = ranged(4, ge=1)
    n_embd: int = ranged(128, ge=1)  # divisible by n_head
    learning_rate: float = ranged(1e-3, gt=0)  # AdamW
    seed: int = ranged(0, ge=0)  # initial weights and batches, the same for every k


def preflight(config: GradAccumConfig) -> None:
    """Each k must split the batch into equal micro-batches; the heads must split n_embd."""
    uneven = [k for k in config.ks if config.batch_size % k]
    if uneven:
        raise ConfigError(
            f"ks {uneven} do not divide batch_size={config.batch_size}: micro-batches must be "
            "equal for the accumulated gradient to be the batch's"
        )
    if config.n_embd % config.n_head:
        raise ConfigError(f"n_embd={config.n_embd} must be divisible by n_head={config.n_head}")


def _status_bytes(field: str) -> int | None:
    """A memory figure of /proc/self/status (Linux), e.g. ``VmRSS`` or ``VmHWM``, in bytes."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _max_rss_bytes() -> int:
    """The process's peak resident memory (``ru_maxrss``: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


class PeakMemory:
    """The peak resident memory of this process from the moment it is made, above the resident
    memory of that moment.

    On Linux the kernel's high-water mark (``VmHWM``) is reset to the current resident memory
    (``5`` written to /proc/self/clear_refs), and ``grown()`` is ``VmHWM - VmRSS at the start``.
    Elsewhere, or where the reset is refused, the growth of ``ru_maxrss``, which misses a peak
    lower than one reached before.
    """

    def __init__(self) -> None:
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
                clear.write("5")
            self.start, self.reset = _status_bytes("VmRSS"), True
        except OSError:
            self.start, self.reset = None, False
        if self.start is None:
            self.start, self.reset = _max_rss_bytes(), False

    def grown(self) -> int:
        """Bytes of the peak since the start above the start."""
        peak = _status_bytes("VmHWM") if self.reset else None
        return (peak if peak is not None else _max_rss_bytes()) - self.start


def train_accumulated(config: GradAccumConfig, k: int, threads: int) -> dict:
    """Train with each step's batch in ``k`` micro-batches; returns the losses, the median
    seconds per step and the peak memory growth in bytes. Runs in a process of its own."""
    import torch

    from dlf.data.text import load_text
    from dlf.gpt.data import TokenDataset
    from dlf.gpt.model import GPT, GPTConfig
    from dlf.gpt.tokenizer import CharTokenizer
    from dlf.gpt.train import accumulate_gradients

    torch.set_num_threads(threads)
    text = load_text("tinyshakespeare")
    tokenizer = CharTokenizer.from_text(text)
    data = TokenDataset(np.asarray(tokenizer.encode(text)), config.block_size)
    torch.manual_seed(config.seed)
    model = GPT(
        GPTConfig(
            vocab_size=tokenizer.vocab_size,
            block_size=config.block_size,
            n_layer=config.n_layer,
            n_head=config.n_head,
            n_embd=config.n_embd,
            dropout=0.0,
        )
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    rng = np.random.default_rng(config.seed)
    micro = config.batch_size // k
    losses, seconds = [], []
    memory = PeakMemory()  # after the model, the data and the imports: what training adds
    for step in range(config.steps):
        x, y = data.batch(rng.integers(0, len(data), config.batch_size))
        start = time.perf_counter()
        batches = [(x[i : i + micro], y[i : i + micro]) for i in range(0, config.batch_size, micro)]
        loss = accumulate_gradients(model, batches)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        seconds.append(time.perf_counter() - start)
        losses.append(check_finite(loss, step, advice="try a lower learning_rate"))
    return {
        "losses": losses,
        "step_seconds": statistics.median(seconds),
        "peak_bytes": memory.grown(),
    }


def in_own_process(config: GradAccumConfig, k: int, threads: int) -> dict:
    """:func:`train_accumulated` in a fresh Python process (this module run as a script), so
    that the peak memory it reports is this k's alone.

    The child answers with one JSON object on stdout: the result, or ``{"diverged": message}``
    when its loss stopped being finite, raised here as :class:`dlf.runs.Diverged`. Any other
    failure of the child is a one-line RuntimeError with the last line of its stderr (its
    traceback stays in the captured stderr, never printed).
    """
    request = json.dumps({"config": asdict(config), "k": k, "threads": threads})
    command = [sys.executable, "-m", __name__]
    done = subprocess.run(command, input=request, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise RuntimeError(f"training with k={k} failed: {lines[-1]}")
    answer = json.loads(done.stdout)
    if "diverged" in answer:
        raise Diverged(f"training with k={k}: {answer['diverged']}")
    return answer


def run(config: GradAccumConfig, run_dir: RunDir) -> dict:
    import torch

    threads = torch.get_num_threads()
    results = {}
    for k in config.ks:
        run_dir.say(f"k={k}: {config.batch_size // k} windows per micro-batch")
        results[k] = in_own_process(config, k, threads)
        for step, loss in enumerate(results[k]["losses"]):
            run_dir.log(step, **{f"loss_k{k}": loss})
    return report(config, results, run_dir)


def report(config: GradAccumConfig, results: dict[int, dict], run_dir: RunDir) -> dict:
    ks = sorted(results)
    first = np.asarray(results[ks[0]]["losses"])
    gaps = {k: float(np.max(np.abs(np.asarray(r["losses"]) - first))) for k, r in results.items()}
    peaks = {k: results[k]["peak_bytes"] / MIB for k in ks}
    run_dir.text(
        "Why accumulate",
        f"Every k trains on the same {config.batch_size} windows per step, so the optimisation "
        "is the same: the curves lie on top of each other, apart from float32 rounding, which "
        "depends on the order of the sums. What changes is how many windows' activations are "
        f"held at once: {config.batch_size} at k=1, {config.batch_size // ks[-1]} at "
        f"k={ks[-1]}. When the batch an optimisation wants does not fit in memory, "
        "accumulation gives that batch's gradient from micro-batches that do, paying in time "
        "for the smaller, less efficient matrix products.",
    )
    rows = [
        [k, config.batch_size // k, f"{peaks[k]:.1f}", f"{results[k]['step_seconds'] * 1e3:.1f}",
         f"{results[k]['losses'][-1]:.4f}", f"{gaps[k]:.1e}"]
        for k in ks
    ]  # fmt: skip
    run_dir.table(
        "One batch, k micro-batches",
        ["k", "windows per micro-batch", "peak memory growth (MiB)", "ms per step",
         "final loss", f"max |loss - loss at k={ks[0]}|"],
        rows,
    )  # fmt: skip
    curves = {f"k={k}": (list(range(len(r["losses"]))), r["losses"]) for k, r in results.items()}
    title = "Every k's curve lies on the others"
    run_dir.figure("loss_curves", line_plot(curves, "step", "training loss", title))
    memory = {"peak memory growth": (ks, [peaks[k] for k in ks])}
    title = "Peak memory of training"
    run_dir.figure("peak_memory", line_plot(memory, "k (micro-batches per step)", "MiB", title))
    falling = all(peaks[a] > peaks[b] for a, b in zip(ks, ks[1:], strict=False))
    run_dir.effect(
        "peak memory falls as the batch is split into more micro-batches",
        len(ks) > 1 and falling and peaks[ks[-1]] < 0.75 * peaks[ks[0]],
        ", ".join(f"k={k}: {peaks[k]:.0f} MiB" for k in ks),
    )
    worst = max(gaps.values())
    run_dir.effect(
        "the loss curves are the same for every k, up to float32 rounding",
        # float32 sums in another order differ by a few eps (1.2e-7) of the loss, and the
        # steps carry that along; a different batch or gradient would differ by far more
        worst < 1e-5 * float(first.max()),
        f"largest difference {worst:.1e} on losses near {first[-1]:.2f}",
    )
    return {
        "final_loss": float(first[-1]),
        "max_loss_difference": worst,
        **{f"peak_mib_k{k}": round(peaks[k], 1) for k in ks},
        **{f"ms_per_step_k{k}": round(results[k]["step_seconds"] * 1e3, 2) for k in ks},
    }


RECIPE = Recipe(
    name="grad-accum",
    module=4,
    description="gradient accumulation: the same loss curve, less memory per step",
    config=GradAccumConfig,
    run=run,
    quick={"steps": 6, "ks": (1, 4), "block_size": 64, "n_layer": 2},
    datasets=lambda config: ("tinyshakespeare",),
    preflight=preflight,
)

__all__ = ["RECIPE", "GradAccumConfig", "train_accumulated"]

if __name__ == "__main__":  # one k, asked for on stdin by in_own_process
    asked = json.loads(sys.stdin.read())
    config = GradAccumConfig(**{**asked["config"], "ks": tuple(asked["config"]["ks"])})
    try:
        answer = train_accumulated(config, asked["k"], asked["threads"])
    except Diverged as err:  # told to the parent, which raises it again
        answer = {"diverged": str(err)}
    print(json.dumps(answer))
