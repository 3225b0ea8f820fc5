"""Every subcommand: a help line, the arguments it takes, and the function it calls."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from dlf.cli.gpt import add_eval, add_sample, cmd_eval, cmd_sample
from dlf.cli.learn import add_learn, cmd_learn
from dlf.cli.run import (
    add_measure,
    add_path,
    add_run,
    add_sweep,
    cmd_list,
    cmd_measure,
    cmd_path,
    cmd_run,
    cmd_sweep,
)
from dlf.cli.tokenizer import add_tokenizer, cmd_tokenizer
from dlf.cli.tools import (
    BENCHES,
    add_bench,
    add_checkpoints,
    add_model,
    add_report,
    add_summary,
    cmd_bench,
    cmd_checkpoints,
    cmd_gradcheck,
    cmd_receptive_field,
    cmd_report,
    cmd_summary,
)


def _nothing(parser: argparse.ArgumentParser) -> None:
    pass


Command = tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]

COMMANDS: dict[str, Command] = {
    "path": ("run the learning path's recipes and checkpoints, one report", add_path, cmd_path),
    "run": ("run one recipe: dlf run NAME [--quick] key=value ...", add_run, cmd_run),
    "sweep": ("run a grid: dlf sweep NAME lr=0.1,0.01 [other=a,b]", add_sweep, cmd_sweep),
    "list": ("list the recipes, with their measured wall times", _nothing, cmd_list),
    "measure": (
        "run recipes and record their wall time, figures and effects: dlf measure [NAME ...]",
        add_measure,
        cmd_measure,
    ),
    "checkpoints": ("run the path's critical checkpoints", add_checkpoints, cmd_checkpoints),
    "gradcheck": ("gradient-check every from-scratch layer and loss", _nothing, cmd_gradcheck),
    "report": ("show a run's summary and where its report is", add_report, cmd_report),
    "summary": (
        "layer table and data-flow diagram of a model: dlf summary gpt2|resnet18|transformer-base",
        add_summary,
        cmd_summary,
    ),
    "receptive-field": (
        "receptive field, jump and start at every layer of a model",
        add_model,
        cmd_receptive_field,
    ),
    "tokenizer": (
        "train a BPE tokenizer, or show how a text is tokenized",
        add_tokenizer,
        cmd_tokenizer,
    ),
    "sample": (
        "continue a prompt with a trained GPT: dlf sample RUN_DIR|--model DIR --prompt TEXT",
        add_sample,
        cmd_sample,
    ),
    "eval": (
        "loss and perplexity of a trained GPT: dlf eval RUN_DIR [data=PATH]",
        add_eval,
        cmd_eval,
    ),
    "learn": (
        "write the pieces yourself and have dlf grade them: dlf learn init|list|check|watch|...",
        add_learn,
        cmd_learn,
    ),
    "bench": (
        f"time ours against a peer in the same run: dlf bench {'|'.join(BENCHES)}",
        add_bench,
        cmd_bench,
    ),
}
