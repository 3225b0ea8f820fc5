"""The report of a ``text_lm`` run (gpt-text, gpt-shakespeare-char, gpt-shakespeare-bpe): the
loss curves (both phases when fine-tuning), the data, model and evaluation tables, bits per
character beside another run's, a sample, the stated effect, and the summary."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from dlf.bench import load_average
from dlf.gpt.model import GPT
from dlf.gpt.pictures import report_gpt
from dlf.gpt.stream import TextStream
from dlf.gpt.text import Tokenizer, encode_checked
from dlf.gpt.train import TrainResult
from dlf.gpt.trained import TextEval, TrainedGPT, evaluate_text, evaluate_tokens, load_trained
from dlf.runs import RunDir, line_plot
from dlf.sampling import generate, sample

if TYPE_CHECKING:
    from dlf.gpt.recipes.text_lm import Corpus, TextLMConfig

PROMPT_ADVICE = "give a prompt= of characters the text holds"
SURER_THAN_UNIFORM = 2  # the validation perplexity must fall below V / this


def generate_sample(config: TextLMConfig, model: GPT, tokenizer: Tokenizer) -> str:
    """The prompt and ``sample_tokens`` tokens sampled after it (temperature, top-k, seeded)."""
    model.eval()
    return sample_text(config, model.step_fn(), tokenizer, next(model.parameters()).device)


def sample_text(
    config: TextLMConfig, step_fn, tokenizer: Tokenizer, device: torch.device | str = "cpu"
) -> str:
    """``config.prompt`` and ``config.sample_tokens`` tokens sampled after it from any model
    behind a ``dlf.sampling`` ``step_fn`` (temperature, top-k, seeded by ``config.seed``)."""
    generator = torch.Generator(device=device).manual_seed(config.seed)
    strategy = functools.partial(
        sample, temperature=config.temperature, top_k=config.top_k, generator=generator
    )
    prompt = torch.tensor(
        encode_checked(tokenizer, config.prompt, "prompt", PROMPT_ADVICE), device=device
    )
    tokens = generate(step_fn, prompt, config.sample_tokens, strategy)
    return config.prompt + "".join(TextStream(tokens, tokenizer))


def read_metrics(folder: Path) -> list[dict]:
    """The records of a run's metrics.jsonl ([] if it has none)."""
    path = folder / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def loss_series(run_dir: RunDir, parent: TrainedGPT | None) -> dict[str, tuple[list, list]]:
    """The curves of the loss figure, ``label -> (steps, losses)``: training (each logged batch)
    and the evaluations (train, val); when fine-tuning, the parent run's evaluations first
    (phase 1, read from its metrics.jsonl) and this run's after them, its steps shifted by the
    parent's (phase 2)."""
    if parent is None:
        keys = (("loss", "train (batch)"), ("train_loss", "train"), ("val_loss", "validation"))
        return {label: run_dir.series(key) for key, label in keys}
    series = {}
    records = read_metrics(parent.folder)
    phases = [
        ("phase 1 (pre-training)", 0, records),
        ("phase 2 (fine-tuning)", parent.step, run_dir.history),
    ]
    for phase, offset, rows in phases:
        for key, label in (("train_loss", "train"), ("val_loss", "validation")):
            kept = [r for r in rows if key in r]
            series[f"{phase}: {label}"] = (
                [r["step"] + offset for r in kept],
                [r[key] for r in kept],
            )
    return series


def loss_figure(run_dir: RunDir, parent: TrainedGPT | None) -> None:
    """The loss curves of :func:`loss_series` in the report."""
    caption = (
        "Training loss of each logged batch, and the loss of fixed train/validation batches at "
        "every evaluation."
    )
    if parent is not None:
        caption = (
            f"Both phases: pre-training ({parent.folder}, {parent.step} steps, read from its "
            "metrics.jsonl), then fine-tuning from its checkpoint on this run's text, steps "
            "counted on from there. The loss of fixed train/validation batches at every "
            "evaluation, each phase on its own text."
        )
    series = loss_series(run_dir, parent)
    run_dir.figure("loss", line_plot(series, "step", "cross-entropy (nats/token)"), caption=caption)


def per_char_row(name: str, tokenizer: Tokenizer, evaluation: TextEval) -> list:
    return [
        name,
        f"{type(tokenizer).__name__} ({tokenizer.vocab_size})",
        evaluation.tokens,
        evaluation.characters,
        f"{evaluation.characters / evaluation.tokens:.3f}",
        f"{evaluation.loss:.4f}",
        f"{evaluation.perplexity:.2f}",
        f"{evaluation.bits_per_char:.4f}",
    ]


def report(
    config: TextLMConfig,
    run_dir: RunDir,
    corpus: Corpus,
    model: GPT,
    lr: float,
    result: TrainResult,
    processes: int,
    whose: str | None = None,
) -> dict:
    """Figures, tables, the sample and the stated effect; returns the summary. ``whose``: who
    wrote the code that ran (a learner's workspace), if not dlf alone."""
    tokenizer = corpus.tokenizer
    final = evaluate_tokens(model, tokenizer, corpus.val_tokens, config.batch_size)
    text_out = generate_sample(config, model, tokenizer)
    # every evaluation of the run, those before a resume included
    evals = [r for r in run_dir.history if "val_loss" in r]
    vocab, last = tokenizer.vocab_size, evals[-1]
    run_dir.effect(
        f"the validation perplexity falls below V/{SURER_THAN_UNIFORM}: the model is more than "
        f"{SURER_THAN_UNIFORM} times as sure of the next token as a uniform guess over the V "
        "tokens (perplexity V)",
        last["val_perplexity"] < vocab / SURER_THAN_UNIFORM,
        f"validation perplexity {evals[0]['val_perplexity']:.1f} at step {evals[0]['step']}, "
        f"{last['val_perplexity']:.1f} at step {last['step']}; V = {vocab}",
    )
    if whose:
        run_dir.text(
            "Whose code ran",
            whose + " The embeddings, the MLP, the layer norms, the training loop and the "
            "sampler are dlf's.",
        )
    loss_figure(run_dir, corpus.parent)
    run_dir.figure(
        "lr",
        line_plot({"lr": run_dir.series("lr")}, "step", "learning rate"),
        caption="Linear warm-up, then cosine decay to min_lr.",
    )
    run_dir.table(
        "Data",
        ["source", "characters (train / val)", "tokenizer", "tokens (train / val)", "chars/token"],
        [
            [
                config.data,
                f"{corpus.train_chars:,} / {len(corpus.val_text):,}",
                repr(tokenizer),
                f"{len(corpus.train_tokens):,} / {len(corpus.val_tokens):,}",
                f"{corpus.train_chars / max(len(corpus.train_tokens), 1):.3f}",
            ]
        ],
    )
    if corpus.parent is not None:
        run_dir.text(
            "Fine-tuning",
            f"Started from {corpus.parent.folder} (step {corpus.parent.step}); its model shape "
            f"and tokenizer are kept; peak learning rate {lr:g} (finetune_learning_rate).",
        )
    c = model.config
    run_dir.table(
        "Model",
        ["n_layer", "n_head", "n_embd", "block_size", "vocab_size", "parameters", "attention"],
        [
            [c.n_layer, c.n_head, c.n_embd, c.block_size, c.vocab_size,
             model.num_params(non_embedding=False), c.attention]
        ],
    )  # fmt: skip
    report_gpt(run_dir, model, tokenizer, corpus.val_tokens)
    run_dir.table(
        "Evaluations (fixed batches)",
        ["step", "train loss", "val loss", "val perplexity"],
        [
            [e["step"], f"{e['train_loss']:.4f}", f"{e['val_loss']:.4f}",
             f"{e['val_perplexity']:.2f}"]
            for e in evals
        ],
    )  # fmt: skip
    rows = [per_char_row("this run", tokenizer, final)]
    compared = None
    if config.compare_with:
        other = load_trained(config.compare_with)
        compared = evaluate_text(other, corpus.val_text, config.compare_with, config.batch_size)
        rows.append(per_char_row(str(other.folder), other.tokenizer, compared))
    run_dir.table(
        "Validation text, every token predicted once",
        ["model", "tokenizer", "tokens", "characters", "chars/token", "loss (nats/token)",
         "perplexity (per token)", "bits per character"],
        rows,
    )  # fmt: skip
    run_dir.text(
        "Comparing tokenizers",
        "Loss per token depends on what a token is; loss per character does not. Every gpt-text "
        "run splits its text at the same character (val_fraction), so the bits per character "
        "of runs with different tokenizers on the same data are measured on the same "
        "validation characters. (A window of block_size BPE tokens also spans more characters "
        "of context than one of block_size characters.)",
    )
    tokens_per_second = (
        result.tokens_per_step * (result.step - result.start_step) / max(result.train_seconds, 1e-9)
    )
    load = load_average()
    run_dir.text(
        "Timing",
        f"{result.step - result.start_step} steps in {result.train_seconds:.1f} s of training "
        f"({tokens_per_second:,.0f} tokens/s in {result.precision}, {torch.get_num_threads()} "
        f"thread(s) x {processes} "
        f"process(es), 1-minute load average {load:.2f} at the end); {result.wall_seconds:.1f} s "
        "with evaluations and checkpoints.",
    )
    run_dir.text(
        f"Sample (temperature {config.temperature}, top-k {config.top_k})", text_out, pre=True
    )
    best = min(evals, key=lambda e: e["val_loss"])
    summary = {
        "val_loss": evals[-1]["val_loss"],
        "val_perplexity": evals[-1]["val_perplexity"],
        "best_val_loss": best["val_loss"],
        "train_loss": evals[-1]["train_loss"],
        "val_loss_all_tokens": final.loss,
        "val_perplexity_all_tokens": final.perplexity,
        "val_bits_per_char": final.bits_per_char,
        "chars_per_token": final.characters / final.tokens,
        "vocab_size": tokenizer.vocab_size,
        "steps": result.step,
        "learning_rate": lr,
        "init_from": str(corpus.parent.folder) if corpus.parent else None,
        "train_seconds": round(result.train_seconds, 2),
        "tokens_per_second": round(tokens_per_second),
        "precision": result.precision,
        "parameters": model.num_params(non_embedding=False),
        "processes": processes,
        "load_average": round(load, 2),
        "sample": text_out,
        "code": f"workspace {config.workspace}" if config.workspace else "dlf",
    }
    if compared is not None:
        summary["compare_bits_per_char"] = compared.bits_per_char
    return summary
