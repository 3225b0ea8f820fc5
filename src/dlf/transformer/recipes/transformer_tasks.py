"""Recipe ``transformer-tasks``: one small Transformer per task on reverse, sort, multi-digit
addition and date-format translation; an exact-match table and attention heat-maps.

Each task asks something different of attention:
- reverse: output i attends to source position S - 1 - i (an anti-diagonal in cross-attention);
- sort: no fixed alignment; the decoder must count how many of each digit it has written;
- addition ("482+93" -> "575"): digit j of the sum needs digits j of both operands and a carry
  from the right, which the decoder must work out before writing the leftmost digit;
- dates ("3 March 2021" -> "2021-03-03", three formats): find the year, the month name or
  number, the day, wherever the format put them.

The full setting aims at >= 99% exact match on each test split (in distribution).
``test_long`` (longer operands or strings, and a weekday format for dates) is reported too, with
no target: Transformers trained on short inputs rarely extrapolate to long ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import torch

from dlf.data.sequences import TASKS, Seq2SeqTask, make_task
from dlf.recipes import Recipe
from dlf.recipes.config import ConfigError, ranged
from dlf.runs import RunDir, line_plot
from dlf.transformer.model import Transformer, TransformerConfig, count_parameters
from dlf.transformer.recipes.effects import learns_task
from dlf.transformer.recipes.figures import as_percent, attention_grid, tokens_of
from dlf.transformer.recipes.preflight import check_lengths, check_names, check_transformer
from dlf.transformer.seq2seq_training import (
    TrainSettings,
    evaluate,
    make_batch,
    teacher_forced_logits,
    torch_threads,
    train,
)


@dataclass
class TransformerTasksConfig:
    tasks: tuple[str, ...] = field(
        default=("reverse", "sort", "addition", "dates"),
        metadata={"help": f"any of: {', '.join(TASKS)}"},
    )
    # one per task, or one for all. Addition's space is small (about a million 3-digit sums):
    # with too few examples the model memorises them instead of learning to add
    n_train: tuple[int, ...] = ranged((20000, 20000, 200000, 20000), ge=1)
    n_test: int = ranged(1000, ge=1)
    min_len: int = ranged(3, ge=1)  # digit strings (reverse, sort)
    max_len: int = ranged(10, ge=1)
    long_len: int = ranged(14, ge=2)
    # operands of 1..this many digits, test_long's up to 2 more (int64 holds 18 digits)
    addition_max_digits: int = ranged(3, ge=1, le=16)
    # the model: transformer-copy's, twice as wide (reverse needs the width to reach 99%)
    d_model: int = ranged(128, ge=2)
    n_heads: int = ranged(4, ge=1)
    n_layers: int = ranged(2, ge=1)
    d_ff: int = ranged(256, ge=1)
    dropout: float = ranged(0.0, ge=0, lt=1)
    norm_first: bool = True
    # training: the same settings for every task, except the number of steps
    steps: tuple[int, ...] = ranged((3000, 4000, 14000, 2000), ge=1)  # one per task, or one for all
    batch_size: int = ranged(128, ge=1)
    lr: float = ranged(0.5, gt=0)  # at a higher rate addition stays long on its loss plateau
    warmup: int = ranged(100, ge=1)
    label_smoothing: float = ranged(0.0, ge=0, lt=1)
    seed: int = ranged(0, ge=0)
    threads: int = ranged(1, ge=0)


EXACT_MATCH_AT_LEAST = 0.3  # the claim of the quick setting, per task: far above guessing


def per_task(field: str, values: tuple[int, ...], tasks: tuple[str, ...]) -> dict[str, int]:
    """One value per task, or one for all: ``per_task("steps", (5,), ("a", "b"))`` ->
    ``{"a": 5, "b": 5}``; a count that is neither is a ConfigError that says what to give."""
    if len(values) not in (1, len(tasks)):
        raise ConfigError(
            f"{field}={values} gives {len(values)} values for {len(tasks)} tasks: give one per "
            "task, or one for all"
        )
    return dict(zip(tasks, values * len(tasks) if len(values) == 1 else values, strict=True))


def preflight(config: TransformerTasksConfig) -> None:
    """Cross-field rules: known tasks, one count per task (or one), the lengths, the model."""
    check_names("tasks", config.tasks, TASKS)
    per_task("steps", config.steps, config.tasks)
    per_task("n_train", config.n_train, config.tasks)
    check_lengths(config.min_len, config.max_len, config.long_len)
    check_transformer(config.d_model, config.n_heads, ["sinusoidal"])


def task_for(name: str, n_train: int, c: TransformerTasksConfig) -> Seq2SeqTask:
    """The task's splits; addition counts operand digits instead of string length."""
    if name == "addition":
        lengths = (1, c.addition_max_digits, c.addition_max_digits + 2)
    else:
        lengths = (c.min_len, c.max_len, c.long_len)
    return make_task(name, n_train, c.n_test, *lengths, seed=c.seed)


def log_task(log: Callable[..., None], task: str, step: int, **metrics: float) -> None:
    """``log(step, task=task, **metrics)``: one metrics line, tagged with the task's name."""
    log(step, task=task, **metrics)


def run(config: TransformerTasksConfig, run_dir: RunDir) -> dict:
    c = config
    steps = per_task("steps", c.steps, c.tasks)
    n_train = per_task("n_train", c.n_train, c.tasks)
    rows, summary, curves = [], {}, {}
    for name in c.tasks:
        task = task_for(name, n_train[name], c)
        with torch_threads(c.threads):
            torch.manual_seed(c.seed)
            model = Transformer(
                TransformerConfig(
                    vocab_size=len(task.vocab), d_model=c.d_model, n_heads=c.n_heads,
                    n_encoder_layers=c.n_layers, n_decoder_layers=c.n_layers, d_ff=c.d_ff,
                    dropout=c.dropout, norm_first=c.norm_first, max_len=64,
                )
            )  # fmt: skip
            settings = TrainSettings(
                steps=steps[name], batch_size=c.batch_size, lr=c.lr, warmup=c.warmup,
                label_smoothing=c.label_smoothing, log_every=max(1, min(50, steps[name] // 10)),
                seed=c.seed,
            )  # fmt: skip
            run_dir.say(f"{name}: training ({count_parameters(model):,} parameters)")
            result = train(model, task, settings, log=partial(log_task, run_dir.log, name))
            test = evaluate(model, task, task.test)
            long = evaluate(model, task, task.test_long)
            example = task.test[0]
            batch = make_batch(task, [example])
            model.record_attention(True)
            with torch.no_grad():
                teacher_forced_logits(model, batch.src, batch.tgt_in)
            maps = model.attention_maps()
            model.record_attention(False)
        run_dir.say(f"{name}: test {as_percent(test.accuracy)}, longer {as_percent(long.accuracy)}")
        learns_task(run_dir, task, test, EXACT_MATCH_AT_LEAST)
        curves[name] = run_dir.series("train_loss", where={"task": name})
        wrong = next(
            ((s, t, p) for (s, t), p, ok in zip(test.pairs, test.predictions, test.correct,
                                                strict=True) if not ok),
            None,
        )  # fmt: skip
        rows.append(
            [
                name, as_percent(test.accuracy), as_percent(long.accuracy), len(task.train),
                f"{result.seconds:.0f}", f"{example[0]} -> {example[1]}",
                "none" if wrong is None else f"{wrong[0]} -> {wrong[2]} (want {wrong[1]})",
            ]
        )  # fmt: skip
        summary[f"{name}_test_exact_match"] = test.accuracy
        summary[f"{name}_test_long_exact_match"] = long.accuracy
        summary[f"{name}_test_token_accuracy"] = test.token_accuracy
        src, tgt = example
        run_dir.figure(
            f"attention_{name}",
            attention_grid(maps, tokens_of(src), tokens_of(tgt, bos=True)),
            caption=f"{name}: attention weights on {src!r} -> {tgt!r}, one row per layer "
            "(encoder self-attention, decoder self-attention, decoder cross-attention), one "
            "column per head. Rows of each map are queries, columns keys; bright = high weight.",
        )

    run_dir.table(
        "Exact match (greedy decoding)",
        ["task", "test", "test_long", "train examples", "train s", "example", "a mistake"],
        rows,
    )
    run_dir.figure(
        "learning_curves",
        line_plot(curves, "step", "train cross-entropy", logy=True),
        caption="Training loss per task (teacher forcing).",
    )
    accuracies = [summary[f"{n}_test_exact_match"] for n in c.tasks]
    run_dir.text(
        "What this shows",
        "One architecture and one set of training settings (only the numbers of steps and of "
        "training examples differ) "
        f"for four tasks; the lowest in-distribution exact match is "
        f"{as_percent(min(accuracies))} (target 99%). The heat-maps show how each model routes "
        "information: in reverse, look for the cross-attention of decoder step i on source "
        "position S - 1 - i (an anti-diagonal); in addition, for heads that look at the digits "
        "of both operands that are added together; in dates, for heads that jump to the year, "
        "the month and the day. test_long asks for lengths (or a format) never seen in "
        "training: learning an algorithm that extrapolates is a different problem.",
    )
    summary["min_test_exact_match"] = min(accuracies)
    return summary


RECIPE = Recipe(
    name="transformer-tasks",
    module=3,
    description="reverse, sort, addition and dates: exact match >= 99% and attention heat-maps",
    config=TransformerTasksConfig,
    run=run,
    quick={
        "tasks": ("reverse", "dates"),
        "n_train": (2000,),
        "n_test": 100,
        "max_len": 6,
        "long_len": 8,
        "d_model": 32,
        "d_ff": 64,
        "n_layers": 1,
        "steps": (300,),
        "batch_size": 64,
    },  # fmt: skip
    preflight=preflight,
)
