"""Recipe ``rnn-vs-transformer``: why attention replaced recurrence.

Four sequence-to-sequence models learn copy and reverse on digit strings of ``min_len`` to
``max_len`` digits, with the same data, the same number of steps and the same loop:

- ``rnn``: vanilla RNN encoder-decoder (Sutskever et al. 2014, with tanh cells);
- ``lstm``: the same with LSTM cells;
- ``lstm-attention``: LSTM with additive attention (Bahdanau et al. 2015);
- ``transformer``: a small encoder-decoder Transformer.

Two measurements:

1. Exact match against source length (test, and test_long beyond the training lengths).
   Without attention the whole source must pass through one fixed-size state, so accuracy
   falls with length; with attention it does not (within the training lengths).
2. Vanishing gradients: ||dL/dx_t||, the gradient of the loss of the *first* output token with
   respect to the input vector at source position t, against the distance S - t between them
   (number of recurrent steps from x_t to that output in the models without attention). In a
   vanilla RNN it decays geometrically, since it is a product of S - t Jacobians
   diag(1 - h^2) W_hh; a trained LSTM's additive cell state decays far more slowly; attention
   (and the Transformer) give every position a direct path. Measured at initialisation and after
   training on copy, on strings of ``gradient_len`` digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dlf.data.sequences import make_task
from dlf.recipes import Recipe
from dlf.runs import RunDir, new_figure
from dlf.transformer.model import Transformer, TransformerConfig, count_parameters
from dlf.transformer.recipes.figures import accuracy_by_length_plot, as_percent, merge_by_length
from dlf.transformer.seq2seq import Seq2Seq, Seq2SeqConfig
from dlf.transformer.seq2seq_training import (
    TrainSettings,
    evaluate,
    input_gradient_norms,
    make_batch,
    torch_threads,
    train,
)

MODELS = ("rnn", "lstm", "lstm-attention", "transformer")


@dataclass
class RNNvsTransformerConfig:
    tasks: tuple[str, ...] = ("copy", "reverse")
    models: tuple[str, ...] = MODELS
    n_train: int = 10000
    n_test: int = 1000
    min_len: int = 2
    max_len: int = 16
    long_len: int = 22
    # recurrent models
    d_embedding: int = 64
    d_hidden: int = 128
    rnn_lr: float = 3e-3  # Adam, constant
    # the Transformer (as in transformer-copy)
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    d_ff: int = 128
    transformer_lr: float = 1.0  # scale of the warm-up schedule
    warmup: int = 100
    # training, the same for every model
    steps: int = 1500
    batch_size: int = 64
    grad_clip: float = 1.0
    # the gradient measurement
    gradient_len: int = 16
    gradient_batch: int = 64
    seed: int = 0
    threads: int = 1


def build(kind: str, vocab_size: int, c: RNNvsTransformerConfig) -> torch.nn.Module:
    """One of MODELS, freshly initialised (seeded)."""
    torch.manual_seed(c.seed)
    if kind == "transformer":
        return Transformer(
            TransformerConfig(
                vocab_size=vocab_size, d_model=c.d_model, n_heads=c.n_heads,
                n_encoder_layers=c.n_layers, n_decoder_layers=c.n_layers, d_ff=c.d_ff,
                dropout=0.0, norm_first=True, max_len=2 * c.long_len + 8,
            )
        )  # fmt: skip
    if kind not in MODELS:
        raise ValueError(f"model {kind!r} is not known: choose from {MODELS}")
    cell, _, attention = kind.partition("-")
    config = Seq2SeqConfig(vocab_size, c.d_embedding, c.d_hidden, cell, attention == "attention")
    return Seq2Seq(config)


def settings_for(kind: str, c: RNNvsTransformerConfig) -> TrainSettings:
    common = dict(
        steps=c.steps, batch_size=c.batch_size, grad_clip=c.grad_clip,
        log_every=max(1, min(50, c.steps // 10)), seed=c.seed,
    )  # fmt: skip
    if kind == "transformer":
        return TrainSettings(optimizer="noam", lr=c.transformer_lr, warmup=c.warmup, **common)
    return TrainSettings(optimizer="adam", lr=c.rnn_lr, **common)


def gradient_profile(model: torch.nn.Module, task, c: RNNvsTransformerConfig) -> np.ndarray:
    """||dL/dx_t|| ordered by distance 1..S from the first output (index d - 1)."""
    rng = np.random.default_rng(c.seed + 1)
    sources = [
        "".join(rng.choice(list("0123456789"), c.gradient_len)) for _ in range(c.gradient_batch)
    ]
    batch = make_batch(task, [(s, s) for s in sources])
    norms = input_gradient_norms(model, batch).numpy()  # position t = 0..S-1
    return norms[::-1].copy()  # distance S - t = 1..S


def run(config: RNNvsTransformerConfig, run_dir: RunDir) -> dict:
    c = config
    summary: dict[str, float] = {}
    curves: dict[str, dict[str, dict[int, float]]] = {}
    gradients: dict[str, dict[str, np.ndarray]] = {"at initialisation": {}, "after training": {}}
    rows = []
    for task_name in c.tasks:
        task = make_task(task_name, c.n_train, c.n_test, c.min_len, c.max_len, c.long_len, c.seed)
        curves[task_name] = {}
        for kind in c.models:
            with torch_threads(c.threads):
                model = build(kind, len(task.vocab), c)
                if task_name == c.tasks[0]:
                    gradients["at initialisation"][kind] = gradient_profile(model, task, c)
                run_dir.say(f"{task_name} / {kind}: training ({count_parameters(model):,} params)")
                result = train(model, task, settings_for(kind, c))
                test = evaluate(model, task, task.test)
                long = evaluate(model, task, task.test_long)
                if task_name == c.tasks[0]:
                    gradients["after training"][kind] = gradient_profile(model, task, c)
            by_length = test.accuracy_by_length()
            curves[task_name][kind] = merge_by_length(by_length, long.accuracy_by_length())
            summary[f"{task_name}_{kind}_test"] = test.accuracy
            summary[f"{task_name}_{kind}_test_long"] = long.accuracy
            run_dir.log(
                len(rows), task=task_name, model=kind, test_exact_match=test.accuracy,
                test_long_exact_match=long.accuracy, final_train_loss=result.final_loss,
            )  # fmt: skip
            rows.append(
                [
                    task_name, kind, count_parameters(model), as_percent(test.accuracy),
                    as_percent(by_length[max(by_length)]), as_percent(long.accuracy),
                    f"{result.final_loss:.3f}", f"{result.seconds:.0f}",
                ]
            )  # fmt: skip
            run_dir.say(f"  test {as_percent(test.accuracy)}, longer {as_percent(long.accuracy)}")

    run_dir.table(
        "Exact match (greedy decoding)",
        ["task", "model", "parameters", "test", f"test, length {c.max_len}", "test_long",
         "final train loss", "train s"],
        rows,
    )  # fmt: skip
    for task_name, by_model in curves.items():
        run_dir.figure(
            f"accuracy_by_length_{task_name}",
            accuracy_by_length_plot(by_model, f"{task_name}: exact match by length", c.max_len),
            caption=f"{task_name}: exact match against source length. Trained on lengths "
            f"{c.min_len}-{c.max_len}; right of the dotted line the lengths are new.",
        )
    fig, axes = new_figure(2, 1)
    for ax, (when, profiles) in zip(axes[0], gradients.items(), strict=True):
        for kind, norms in profiles.items():
            distance = np.arange(1, len(norms) + 1)
            ax.semilogy(distance, norms / norms.max(), marker="o", markersize=3, label=kind)
            summary[f"gradient_far_near_ratio_{kind}_{when.split()[0]}"] = float(
                norms[-1] / norms[0]
            )
        ax.set_xlabel("distance S - t from input t to the first output")
        ax.set_ylabel("||dL/dx_t|| / max over t")
        ax.set_title(f"{c.tasks[0]}, S = {c.gradient_len}: {when}")
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    run_dir.figure(
        "gradient_vs_distance",
        fig,
        caption="Norm of the gradient of the first output token's loss with respect to the "
        "input vector at position t, against the distance S - t, each curve divided by its "
        "largest value (log scale). A straight falling line is geometric decay: vanishing "
        "gradients.",
    )
    ratios = [
        [kind] + [f"{summary[f'gradient_far_near_ratio_{kind}_{w}']:.1e}" for w in ("at", "after")]
        for kind in c.models
    ]
    run_dir.table(
        f"Gradient at distance {c.gradient_len} / gradient at distance 1",
        ["model", "at initialisation", "after training"],
        ratios,
    )
    run_dir.text(
        "What this shows",
        "Without attention, every bit of the source must pass through one hidden vector and, "
        "on the way back, every gradient through a product of Jacobians: the vanilla RNN's "
        "gradient from the first output to the farthest input is orders of magnitude smaller "
        "than to the nearest one (see the table), and its accuracy is the lowest. At "
        "initialisation the LSTM decays too (its forget gate starts near "
        "sigmoid(0) = 1/2, so the cell state halves at every step); training opens the gate, "
        "and its gradient then fades far more slowly, but the one-vector bottleneck remains. "
        "Attention connects every output to every input directly: the gradient no longer "
        "depends on distance, and accuracy no longer falls with length inside the training "
        "range. Beyond it (test_long), every model struggles: that is extrapolation, the topic "
        "of the positional-encodings recipe.",
    )
    return summary


RECIPE = Recipe(
    name="rnn-vs-transformer",
    module=3,
    description="RNN, LSTM, LSTM+attention, Transformer: accuracy vs length, vanishing gradients",
    config=RNNvsTransformerConfig,
    run=run,
    quick={
        "tasks": ("copy",),
        "n_train": 500,
        "n_test": 60,
        "min_len": 2,
        "max_len": 6,
        "long_len": 8,
        "d_embedding": 16,
        "d_hidden": 32,
        "d_model": 32,
        "d_ff": 64,
        "n_layers": 1,
        "steps": 30,
        "batch_size": 32,
        "gradient_len": 12,
        "gradient_batch": 8,
    },  # fmt: skip
    # wall s: quick on an idle machine (make demo); full: load 10-15, CPU 288 s
    durations={"quick": 0.7, "full": 2199.4},
)
