"""gpt-shakespeare-char: the hands-on project of Module 4, a character-level GPT on Tiny
Shakespeare (nanoGPT's shakespeare_char), trained on a laptop CPU, then sampled."""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from dlf.data import load_text
from dlf.gpt.data import split_tokens
from dlf.gpt.model import GPT, GPTConfig
from dlf.gpt.tokenizer import CharTokenizer
from dlf.gpt.train import TrainConfig, train
from dlf.recipes import Recipe
from dlf.runs import RunDir, line_plot
from dlf.sampling import generate, sample


@dataclass
class GptShakespeareCharConfig:
    """Model (GPTConfig's names), training (TrainConfig's names) and sampling. ``data``: a corpus
    name (``tinyshakespeare``), a UTF-8 text file, or a folder of ``.txt`` files. ``threads``:
    torch CPU threads (0: torch's default; 1 is fastest for a small model on a busy machine)."""

    data: str = "tinyshakespeare"
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    dropout: float = 0.0
    bias: bool = True
    attention: Literal["ours", "fused"] = "fused"
    max_steps: int = 2000
    batch_size: int = 12
    grad_accum_steps: int = 1
    learning_rate: float = 2e-3
    min_lr: float = 1e-4
    warmup_steps: int = 50
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0
    eval_interval: int = 250
    eval_batches: int = 20
    val_fraction: float = 0.1
    seed: int = 1337
    threads: int = 1
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    compile: bool = False
    device: str = "auto"
    sample_tokens: int = 500
    prompt: str = "\n"
    temperature: float = 0.8
    top_k: int = 40


def read_text(data: str) -> str:
    """The training text: a named corpus, a UTF-8 file, or the ``.txt`` files of a folder
    (sorted by name, joined by newlines)."""
    path = Path(data).expanduser()
    if path.is_dir():
        files = sorted(path.glob("*.txt"))
        if not files:
            raise ValueError(f"folder {path} holds no .txt files")
        return "\n".join(f.read_text(encoding="utf-8") for f in files)
    if path.is_file():
        return path.read_text(encoding="utf-8")
    return load_text(data)


def run(config: GptShakespeareCharConfig, run_dir: RunDir) -> dict:
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    text = read_text(config.data)
    tokenizer = CharTokenizer.from_text(text)
    tokenizer.save(run_dir.path / "tokenizer.json")
    train_tokens, val_tokens = split_tokens(tokenizer.encode(text), config.val_fraction)
    fields = dataclasses.asdict(config)
    model_config = GPTConfig(
        vocab_size=tokenizer.vocab_size,
        **{f.name: fields[f.name] for f in dataclasses.fields(GPTConfig) if f.name in fields},
    )
    train_config = TrainConfig(
        **{f.name: fields[f.name] for f in dataclasses.fields(TrainConfig) if f.name in fields}
    )
    torch.manual_seed(config.seed)
    model = GPT(model_config)
    run_dir.say(
        f"{len(text):,} characters, vocabulary {tokenizer.vocab_size}; "
        f"{model.num_params(non_embedding=False):,} parameters; {torch.get_num_threads()} thread(s)"
    )
    result = train(
        model,
        train_tokens,
        val_tokens,
        train_config,
        checkpoint_dir=run_dir.path / "checkpoint",
        log=run_dir.log,
        say=run_dir.say,
    )

    model.eval()
    generator = torch.Generator(device=next(model.parameters()).device).manual_seed(config.seed)
    strategy = functools.partial(
        sample, temperature=config.temperature, top_k=config.top_k, generator=generator
    )
    prompt = tokenizer.encode(config.prompt)
    device = next(model.parameters()).device
    ids = generate(
        model.step_fn(), torch.tensor(prompt, device=device), config.sample_tokens, strategy
    )
    text_out = config.prompt + tokenizer.decode(list(ids))

    run_dir.figure(
        "loss",
        line_plot(
            {
                "train (batch)": run_dir.series("loss"),
                "train (eval)": run_dir.series("train_loss"),
                "validation": run_dir.series("val_loss"),
            },
            "step",
            "cross-entropy (nats/char)",
        ),
        caption="Training loss of each logged batch, and the loss of fixed train/validation "
        "batches at every evaluation.",
    )
    run_dir.figure(
        "lr",
        line_plot({"lr": run_dir.series("lr")}, "step", "learning rate"),
        caption="Linear warm-up, then cosine decay to min_lr.",
    )
    c = model_config
    run_dir.table(
        "Model",
        ["n_layer", "n_head", "n_embd", "block_size", "vocab_size", "parameters", "attention"],
        [
            [
                c.n_layer,
                c.n_head,
                c.n_embd,
                c.block_size,
                c.vocab_size,
                model.num_params(non_embedding=False),
                c.attention,
            ]
        ],
    )
    evals = result.evals
    run_dir.table(
        "Evaluations",
        ["step", "train loss", "val loss", "val perplexity"],
        [
            [
                e["step"],
                f"{e['train_loss']:.4f}",
                f"{e['val_loss']:.4f}",
                f"{e['val_perplexity']:.2f}",
            ]
            for e in evals
        ],
    )
    tokens_per_second = (
        result.tokens_per_step * (result.step - result.start_step) / max(result.train_seconds, 1e-9)
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    run_dir.text(
        "Timing",
        f"{result.step - result.start_step} steps in {result.train_seconds:.1f} s of training "
        f"({tokens_per_second:,.0f} tokens/s, {torch.get_num_threads()} thread(s), "
        f"1-minute load average {load:.2f} at the end); {result.wall_seconds:.1f} s with "
        "evaluations and checkpoints.",
    )
    run_dir.text(
        f"Sample (temperature {config.temperature}, top-k {config.top_k})", text_out, pre=True
    )
    best = min(evals, key=lambda e: e["val_loss"])
    return {
        "val_loss": evals[-1]["val_loss"],
        "val_perplexity": evals[-1]["val_perplexity"],
        "best_val_loss": best["val_loss"],
        "train_loss": evals[-1]["train_loss"],
        "steps": result.step,
        "train_seconds": round(result.train_seconds, 2),
        "tokens_per_second": round(tokens_per_second),
        "parameters": model.num_params(non_embedding=False),
        "load_average": round(load, 2),
        "sample": text_out,
    }


RECIPE = Recipe(
    name="gpt-shakespeare-char",
    module=4,
    description="the hands-on project: a character-level GPT on Tiny Shakespeare",
    config=GptShakespeareCharConfig,
    run=run,
    quick={
        "n_layer": 2,
        "n_embd": 64,
        "block_size": 32,
        "max_steps": 60,
        "warmup_steps": 10,
        "eval_interval": 30,
        "eval_batches": 4,
        "sample_tokens": 100,
    },
    datasets=lambda c: (c.data,) if c.data == "tinyshakespeare" else (),
    durations={},
)
