"""The report of ``numpy-gpt``: both runs' curves overlaid, the stated effects (✓/✗, the
gradient parity among them), the evaluations side by side, timing, and a sample from each model."""

from __future__ import annotations

import math

import numpy as np

from dlf.bench import cpu_model, load_average
from dlf.gpt.numpy_twin import numpy_step_fn
from dlf.gpt.recipes.text_lm_report import generate_sample, sample_text
from dlf.gpt.text import Tokenizer
from dlf.gpt.train import TrainResult
from dlf.runs import RunDir
from dlf.runs.plots import new_figure
from dlf.scratch.gpt import GPT as NumpyGPT

PARITY = 1e-8  # float64 gradients against autograd's, relative (round-off is ~1e-15)
BELOW_UNIFORM = 1.0  # nats below ln(V) the validation loss must reach
PEER_GAP = 0.1  # nats between the NumPy and the PyTorch validation loss at the end
CURVES = (("loss", "train (batch)", "C0"), ("val_loss", "validation", "C1"))


def effects(vocab_size: int, val: float, peer_val: float | None) -> list[tuple[str, bool, str]]:
    """The recipe's stated effects as ``(claim, holds, figure)``: the NumPy validation loss ends
    at least BELOW_UNIFORM nats below ln(V) (a uniform guess) and within PEER_GAP of PyTorch's.
    Example: ``effects(65, 2.46, 2.46)`` -> two claims, both True."""
    uniform = math.log(vocab_size)
    found = [
        (
            f"the NumPy GPT's validation loss ends at least {BELOW_UNIFORM:g} nat below ln(V), "
            "the loss of a uniform guess",
            val <= uniform - BELOW_UNIFORM,
            f"validation loss {val:.3f}; ln({vocab_size}) = {uniform:.3f}",
        )
    ]
    if peer_val is not None:
        found.append(
            (
                f"it ends within {PEER_GAP:g} nat of its PyTorch twin's, trained on the same "
                "batches from the same weights",
                abs(val - peer_val) <= PEER_GAP,
                f"NumPy {val:.4f}, PyTorch {peer_val:.4f} (difference {val - peer_val:+.1e})",
            )
        )
    return found


def loss_figure(run_dir: RunDir, with_peer: bool) -> None:
    """Left: both runs' losses, NumPy wide and pale, PyTorch dashed on top. Right (with the
    peer): |NumPy - PyTorch| at each logged step, log scale (zeros left out)."""
    fig, axes = new_figure(ncols=2 if with_peer else 1)
    curves, gaps = axes[0, 0], axes[0, -1]
    for key, label, colour in CURVES:
        steps, ours = run_dir.series(key)
        curves.plot(steps, ours, color=colour, lw=3, alpha=0.5, label=f"NumPy: {label}")
        if not with_peer:
            continue
        _, theirs = run_dir.series(f"torch_{key}")
        curves.plot(steps, theirs, color="k", lw=0.8, ls="--", label=f"PyTorch: {label}")
        gap = np.abs(np.subtract(ours, theirs))
        gaps.semilogy(np.array(steps)[gap > 0], gap[gap > 0], ".-", color=colour, label=label)
    curves.set(xlabel="step", ylabel="cross-entropy (nats/token)")
    curves.legend(fontsize="small")
    if with_peer:
        gaps.set(xlabel="step", ylabel="|NumPy - PyTorch| (nats)")
        gaps.legend(fontsize="small")
    for ax in axes[0]:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    run_dir.figure(
        "loss",
        fig,
        caption=(
            "The NumPy GPT (hand-written backward) and its PyTorch twin (autograd), from the "
            "same initial weights on the same batches, in float32: loss of each logged batch "
            "and of fixed validation batches; on the right, how far apart the two runs are."
        ),
    )


def timing_text(config, result: TrainResult, peer: TrainResult | None) -> str:
    """Seconds and ms per step of each run, their ratio, threads, CPU and load."""
    ms = 1000 * result.train_seconds / max(result.step, 1)
    text = (
        f"NumPy: {result.step} steps in {result.train_seconds:.1f} s of training ({ms:.1f} ms/step)"
    )
    if peer is not None:
        peer_ms = 1000 * peer.train_seconds / max(peer.step, 1)
        text += (
            f"; PyTorch: {peer.train_seconds:.1f} s ({peer_ms:.1f} ms/step); NumPy / "
            f"PyTorch {ms / peer_ms:.2f}"
        )
    return text + (
        f". {config.threads or 'default'} thread(s) each; {cpu_model()}; 1-minute load average "
        f"{load_average():.2f} at the end (a shared machine: `dlf bench numpy-gpt` times the two "
        "in alternation)."
    )


def report(
    config,
    run_dir: RunDir,
    model: NumpyGPT,
    peer_model,
    result: TrainResult,
    peer: TrainResult | None,
    parity: dict[str, float],
    tokenizer: Tokenizer,
) -> dict:
    """Figures, tables, samples; returns the summary."""
    loss_figure(run_dir, peer is not None)
    val = result.final_val_loss
    peer_val = peer.final_val_loss if peer is not None else None
    for claim, holds, figure in effects(tokenizer.vocab_size, val, peer_val):
        run_dir.effect(claim, holds, figure)
    worst = max(parity, key=parity.get)
    run_dir.effect(
        "every gradient written by hand equals PyTorch's autograd (float64)",
        parity[worst] <= PARITY,
        f"largest relative error {parity[worst]:.1e} ({worst}), bound {PARITY:g}",
    )
    run_dir.text(
        "Gradients against autograd",
        (
            f"At the initial weights, in float64, on one training batch of "
            f"{config.batch_size} x {config.block_size}: the logits, the loss and all "
            f"{len(parity) - 2} parameter gradients of the NumPy GPT agree with PyTorch's "
            f"autograd to a relative error of at most {parity[worst]:.1e} ({worst}); bound "
            f"{PARITY:g}."
        ),
    )
    theirs = {e["step"]: e for e in (peer.evals if peer is not None else [])}
    rows = [
        [
            e["step"],
            f"{e['train_loss']:.4f}",
            f"{e['val_loss']:.4f}",
            *(
                [f"{theirs[e['step']]['train_loss']:.4f}", f"{theirs[e['step']]['val_loss']:.4f}"]
                if e["step"] in theirs
                else ["-", "-"]
            ),
        ]
        for e in result.evals
    ]
    run_dir.table(
        "Evaluations (fixed batches)",
        ["step", "NumPy train", "NumPy val", "PyTorch train", "PyTorch val"],
        rows,
    )
    run_dir.table(
        "Model",
        ["n_layer", "n_head", "n_embd", "block_size", "vocab_size", "parameters", "dtype"],
        [
            [
                model.n_layer,
                model.n_head,
                model.n_embd,
                model.block_size,
                model.vocab_size,
                model.num_parameters(),
                str(model.dtype),
            ]
        ],
    )
    run_dir.text("Timing", timing_text(config, result, peer))
    title = f"Sample (temperature {config.temperature}, top-k {config.top_k})"
    text_out = sample_text(config, numpy_step_fn(model), tokenizer)
    run_dir.text(f"{title}: the NumPy GPT", text_out, pre=True)
    ms = 1000 * result.train_seconds / max(result.step, 1)
    summary = {
        "val_loss": val,
        "train_loss": result.evals[-1]["train_loss"],
        "val_perplexity": result.evals[-1]["val_perplexity"],
        "uniform_loss": math.log(tokenizer.vocab_size),
        "parity_max_rel_error": parity[worst],
        "steps": result.step,
        "train_seconds": round(result.train_seconds, 2),
        "ms_per_step": round(ms, 2),
        "parameters": model.num_parameters(),
        "cpu": cpu_model(),
        "load_average": round(load_average(), 2),
        "sample": text_out,
    }
    if peer is not None:
        peer_text = generate_sample(config, peer_model, tokenizer)
        run_dir.text(f"{title}: the PyTorch twin", peer_text, pre=True)
        summary.update(
            torch_val_loss=peer_val,
            torch_train_seconds=round(peer.train_seconds, 2),
            torch_ms_per_step=round(1000 * peer.train_seconds / max(peer.step, 1), 2),
            torch_sample=peer_text,
        )
    return summary
