"""Recipe ``transformer-copy``: a small encoder-decoder Transformer learns to copy digit strings.

The simplest task that needs every part: the encoder must keep each digit and its position,
and the decoder's cross-attention must find "the source position I am at now". The trained
model's cross-attention is a clean diagonal (see the heat-maps). Target: 100% exact match on the
test split (lengths seen in training, strings not); ``test_long`` (longer strings) shows how
little of that carries over to lengths never seen.

Training: teacher forcing with cross-entropy, Adam with the paper's warm-up schedule, batches of
similar lengths, all through :func:`dlf.transformer.seq2seq_training.train`; evaluation by greedy
decoding through :mod:`dlf.sampling`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from dlf.data.sequences import make_task
from dlf.recipes import Recipe
from dlf.recipes.config import ranged
from dlf.runs import RunDir, line_plot
from dlf.runs.architecture import add_architecture
from dlf.transformer.configs import transformer_diagram
from dlf.transformer.model import Transformer, TransformerConfig, count_parameters
from dlf.transformer.recipes.effects import learns_task
from dlf.transformer.recipes.figures import (
    accuracy_by_length_plot,
    as_percent,
    attention_grid,
    merge_by_length,
    tokens_of,
)
from dlf.transformer.recipes.preflight import ENCODING_HELP, check_lengths, check_transformer
from dlf.transformer.seq2seq_training import (
    TrainSettings,
    decoding_budget,
    evaluate,
    make_batch,
    teacher_forced_logits,
    torch_threads,
    train,
)


@dataclass
class TransformerCopyConfig:
    # the task: digit strings of min_len..max_len digits; test_long has max_len+1..long_len
    n_train: int = ranged(10000, ge=1)
    n_test: int = ranged(1000, ge=1)
    min_len: int = ranged(3, ge=1)
    max_len: int = ranged(10, ge=1)
    long_len: int = ranged(14, ge=2)
    # the model (the paper's base model is d_model 512, 8 heads, 6+6 layers, d_ff 2048)
    d_model: int = ranged(64, ge=2)
    n_heads: int = ranged(4, ge=1)
    n_layers: int = ranged(2, ge=1)  # encoder layers = decoder layers
    d_ff: int = ranged(128, ge=1)
    dropout: float = ranged(0.0, ge=0, lt=1)
    norm_first: bool = True  # pre-norm: trains at a higher rate without diverging
    positional: str = field(default="sinusoidal", metadata={"help": ENCODING_HELP})
    # training
    steps: int = ranged(1500, ge=1)
    batch_size: int = ranged(64, ge=1)
    lr: float = ranged(1.0, gt=0)  # peak learning rate = lr / sqrt(d_model * warmup)
    warmup: int = ranged(100, ge=1)
    label_smoothing: float = ranged(0.0, ge=0, lt=1)
    eval_every: int = ranged(250, ge=0)  # steps between exact-match checks (0 = only at the end)
    seed: int = ranged(0, ge=0)
    threads: int = ranged(1, ge=0)  # intra-op threads (0 = PyTorch's default); 1 suits tiny models


EXACT_MATCH_AT_LEAST = 0.5  # the claim of the quick setting: most unseen strings copied exactly


def preflight(config: TransformerCopyConfig) -> None:
    """Cross-field rules: the lengths, and a Transformer the library accepts."""
    check_lengths(config.min_len, config.max_len, config.long_len)
    check_transformer(config.d_model, config.n_heads, [config.positional])


def run(config: TransformerCopyConfig, run_dir: RunDir) -> dict:
    c = config
    task = make_task("copy", c.n_train, c.n_test, c.min_len, c.max_len, c.long_len, c.seed)
    with torch_threads(c.threads):
        torch.manual_seed(c.seed)
        model = Transformer(
            TransformerConfig(
                vocab_size=len(task.vocab), d_model=c.d_model, n_heads=c.n_heads,
                n_encoder_layers=c.n_layers, n_decoder_layers=c.n_layers, d_ff=c.d_ff,
                dropout=c.dropout, positional=c.positional, norm_first=c.norm_first,
                max_len=decoding_budget(c.long_len),
            )
        )  # fmt: skip
        settings = TrainSettings(
            steps=c.steps, batch_size=c.batch_size, lr=c.lr, warmup=c.warmup,
            label_smoothing=c.label_smoothing, eval_every=c.eval_every,
            log_every=max(1, min(50, c.steps // 10)), seed=c.seed,
        )  # fmt: skip
        run_dir.say(f"training a {count_parameters(model):,}-parameter Transformer on copy")
        result = train(model, task, settings, log=run_dir.log)
        test = evaluate(model, task, task.test)
        long = evaluate(model, task, task.test_long)
        example = task.test[max(range(len(task.test)), key=lambda i: len(task.test[i][0]))]
        batch = make_batch(task, [example])
        model.record_attention(True)
        with torch.no_grad():
            teacher_forced_logits(model, batch.src, batch.tgt_in)
        maps = model.attention_maps()
        model.record_attention(False)

    run_dir.say(f"test exact match {as_percent(test.accuracy)}, longer {as_percent(long.accuracy)}")
    learns_task(run_dir, task, test, EXACT_MATCH_AT_LEAST)
    run_dir.figure(
        "learning_curve",
        line_plot({"train loss": run_dir.series("train_loss")}, "step", "cross-entropy", logy=True),
        caption="Training loss (teacher forcing), mean over each logging interval.",
    )
    if c.eval_every:
        run_dir.figure(
            "exact_match",
            line_plot(
                {"test (first 200)": run_dir.series("test_exact_match")}, "step", "exact match"
            ),
            caption="Exact match of greedy decoding on the first 200 test strings during training.",
        )
    run_dir.figure(
        "accuracy_by_length",
        accuracy_by_length_plot(
            {"Transformer": merge_by_length(test.accuracy_by_length(), long.accuracy_by_length())},
            "copy: exact match by length",
            train_max=c.max_len,
        ),
        caption="Exact match by source length: test (lengths seen in training) and test_long "
        "(longer). The model has never produced an output longer than max_len + 1 tokens.",
    )
    add_architecture(run_dir, transformer_diagram(model, title="Transformer (copy)"))
    cross = {k: v for k, v in maps.items() if k.endswith("cross_attn")}
    src, tgt = example
    run_dir.figure(
        "cross_attention",
        attention_grid(cross, tokens_of(src), tokens_of(tgt, bos=True)),
        caption=f"Cross-attention on the test string {src!r}, per decoder layer (rows) and head "
        "(columns): decoder input i (with <s> first) attends to source position i, the digit "
        "it must write next.",
    )
    pairs = zip(test.pairs, test.predictions, strict=True)
    rows = [[s, t, p, "yes" if p == t else "no"] for (s, t), p in pairs]
    wrong = [r for r in rows if r[3] == "no"]
    run_dir.table(
        "Examples (greedy decoding)", ["source", "target", "output", "exact"], (wrong + rows)[:10]
    )
    long_pairs = zip(long.pairs, long.predictions, strict=True)
    long_rows = [[s, t, p, "yes" if p == t else "no"] for (s, t), p in long_pairs]
    run_dir.table(
        "Longer than training (test_long)", ["source", "target", "output", "exact"], long_rows[:6]
    )
    too_short = sum(len(p) < len(t) for (_, t), p in zip(long.pairs, long.predictions, strict=True))
    run_dir.text(
        "What this shows",
        f"After {c.steps} steps ({result.seconds:.0f} s) the model copies "
        f"{as_percent(test.accuracy)} of {len(test.pairs)} unseen test strings exactly "
        f"({len(wrong)} wrong). On strings longer than any it was trained on it reaches "
        f"{as_percent(long.accuracy)}: nothing in training told it what to do at positions "
        f"beyond {c.max_len + 1}; {too_short} of its {len(long.pairs)} outputs there are shorter "
        "than the target. In the cross-attention heat-maps, look for heads that attend from "
        "decoder input i (<s> first) to source position i: the digit to write next.",
    )
    return {
        "test_exact_match": test.accuracy,
        "test_long_exact_match": long.accuracy,
        "test_token_accuracy": test.token_accuracy,
        "final_train_loss": result.final_loss,
        "parameters": count_parameters(model),
        "train_seconds": round(result.seconds, 1),
    }


RECIPE = Recipe(
    name="transformer-copy",
    module=3,
    description="a small Transformer learns to copy digit strings: 100% exact match",
    config=TransformerCopyConfig,
    run=run,
    quick={
        "n_train": 1000,
        "n_test": 100,
        "max_len": 6,
        "long_len": 8,
        "d_model": 32,
        "d_ff": 64,
        "steps": 250,
        "eval_every": 0,
    },  # fmt: skip
    preflight=preflight,
)
