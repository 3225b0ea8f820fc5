"""Train a character-level GPT on a text file, on one process or many (DDP via torchrun).

    torchrun --standalone --nproc_per_node=2 -m dlf.gpt.train_ddp --text input.txt --out OUT \\
        n_layer=4 n_embd=128 block_size=64 batch_size=6 max_steps=2000

    python -m dlf.gpt.train_ddp --text input.txt --out OUT ...    # the same, one process

``key=value`` sets any field of ``GPTConfig`` or ``TrainConfig`` (``vocab_size`` comes from the
text). Each process reads its own share of every global batch; rank 0 alone logs (stdout and
``OUT/metrics.jsonl``) and writes ``OUT/checkpoint/`` (the training state, see
:mod:`dlf.gpt.snapshot`), ``OUT/tokenizer.json`` and ``OUT/summary.json``. Running again with
the same OUT resumes from that snapshot exactly (the records logged after it are dropped from
metrics.jsonl and logged again).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from dlf.gpt.data import split_tokens
from dlf.gpt.distributed import close_distributed, init_distributed
from dlf.gpt.model import GPT, GPTConfig
from dlf.gpt.snapshot import model_state_bytes
from dlf.gpt.tokenizer import CharTokenizer
from dlf.gpt.train import TrainConfig, keep_records_to_checkpoint, train
from dlf.recipes.config import ConfigError, ConfigMap, apply_overrides, parse_overrides
from dlf.runs import atomic_write_bytes, atomic_write_json

DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class TrainDDPConfig(TrainConfig, GPTConfig):
    """Every field of GPTConfig and TrainConfig, each ``key=value`` of the command line
    (``vocab_size`` comes from the text)."""


CONFIG_MAP = ConfigMap(TrainDDPConfig, (GPTConfig, TrainConfig))


def split_overrides(pairs: list[str]) -> tuple[GPTConfig, TrainConfig]:
    """``["n_layer=2", "max_steps=10"]`` -> (GPTConfig(n_layer=2, ...), TrainConfig(max_steps=10))
    (``vocab_size`` still to be set from the tokenizer). An unknown key is a ConfigError."""
    flat = apply_overrides(TrainDDPConfig(), parse_overrides(pairs))
    return CONFIG_MAP.build(GPTConfig, flat), CONFIG_MAP.build(TrainConfig, flat)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dlf.gpt.train_ddp", description=__doc__.split("\n")[0])
    parser.add_argument("--text", required=True, help="a UTF-8 text file to train on")
    parser.add_argument("--out", required=True, help="output folder (resumed if it exists)")
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    parser.add_argument(
        "--save-rank-weights",
        action="store_true",
        help="every rank also writes its final weights to OUT/weights-rank<r>.safetensors",
    )
    parser.add_argument("overrides", nargs="*", metavar="key=value")
    args = parser.parse_args(argv)
    try:
        model_config, train_config = split_overrides(args.overrides)
        text = Path(args.text).read_text(encoding="utf-8")
    except (ConfigError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    world = init_distributed()
    try:
        out = Path(args.out)
        tokenizer = CharTokenizer.from_text(text)
        model_config = dataclasses.replace(model_config, vocab_size=tokenizer.vocab_size)
        train_tokens, val_tokens = split_tokens(tokenizer.encode(text), args.val_fraction)
        torch.manual_seed(train_config.seed)  # the same initial weights on every rank
        model = GPT(model_config).to(DTYPES[args.dtype])

        def log(step: int, **metrics) -> None:
            with open(out / "metrics.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps({"step": step, **metrics}) + "\n")

        if world.is_main:
            out.mkdir(parents=True, exist_ok=True)
            tokenizer.save(out / "tokenizer.json")
            keep_records_to_checkpoint(out / "metrics.jsonl", out / "checkpoint")
        result = train(
            model,
            train_tokens,
            val_tokens,
            train_config,
            checkpoint_dir=out / "checkpoint",
            log=log,
            say=print,
        )
        if args.save_rank_weights:
            atomic_write_bytes(
                out / f"weights-rank{world.rank}.safetensors", model_state_bytes(model)
            )
        if world.is_main:
            summary = {
                "world_size": world.size,
                "steps": result.step,
                "final_val_loss": result.final_val_loss,
                "train_seconds": result.train_seconds,
                "tokens_per_step": result.tokens_per_step,
            }
            atomic_write_json(out / "summary.json", summary)
            print(json.dumps(summary))
    finally:
        close_distributed()
    return 0


if __name__ == "__main__":
    sys.exit(main())
