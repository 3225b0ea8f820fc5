"""Data parallelism: 2 processes under torchrun (gloo, CPU) against 1 process, same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from dlf.gpt.train_ddp import main

from .helpers import token_stream

MODEL = ["n_layer=2", "n_head=2", "n_embd=32", "block_size=16", "dropout=0.0"]
TRAIN = ["max_steps=3", "eval_interval=3", "eval_batches=2", "log_interval=1", "warmup_steps=1"]
TRAIN += ["device=cpu", "seed=3"]


@pytest.fixture
def text_file(tmp_path):
    alphabet = "abcdefghij \n"
    path = tmp_path / "input.txt"
    path.write_text("".join(alphabet[i % len(alphabet)] for i in token_stream(3000, 12)))
    return path


def losses(folder) -> list[float]:
    lines = (folder / "metrics.jsonl").read_text().splitlines()
    return [m["loss"] for m in map(json.loads, lines) if "loss" in m]


@pytest.mark.slow
def test_two_processes_equal_one_process_on_the_same_global_batch(tmp_path, text_file):
    """2 ranks x 2 micro-steps x 2 windows (no_sync in the first micro-step) == 1 process with
    batches of 8 windows: both ranks end with identical weights, equal to the single run's."""
    ddp_out, single_out = tmp_path / "ddp", tmp_path / "single"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc_per_node=2", "-m", "dlf.gpt.train_ddp"]
    command += ["--text", str(text_file), "--out", str(ddp_out), "--dtype", "float64"]
    command += ["--save-rank-weights", *MODEL, *TRAIN, "batch_size=2", "grad_accum_steps=2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]

    single = ["--text", str(text_file), "--out", str(single_out), "--dtype", "float64"]
    assert main([*single, "--save-rank-weights", *MODEL, *TRAIN, "batch_size=8"]) == 0

    rank0 = load_file(ddp_out / "weights-rank0.safetensors")
    rank1 = load_file(ddp_out / "weights-rank1.safetensors")
    reference = load_file(single_out / "weights-rank0.safetensors")
    assert rank0.keys() == rank1.keys() == reference.keys()
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name  # replicas identical
        torch.testing.assert_close(rank0[name], reference[name], rtol=1e-9, atol=1e-12)
    assert losses(ddp_out) == pytest.approx(losses(single_out), rel=1e-10)
    assert len(losses(ddp_out)) == 3  # rank 0 alone logged
    assert losses(ddp_out)[-1] < losses(ddp_out)[0]  # it did train
    summary = json.loads((ddp_out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["steps"] == 3
    assert json.loads((ddp_out / "checkpoint" / "checkpoint.json").read_text())["world_size"] == 2
