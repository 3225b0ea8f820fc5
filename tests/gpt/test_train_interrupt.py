"""Ctrl-C in the middle of training saves the last whole step; resuming from it gives the
losses of a run never stopped. The metrics file of a resumed run is cut back to its checkpoint."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import threading

import pytest
import torch

from dlf.gpt.data import split_tokens
from dlf.gpt.snapshot import read_manifest
from dlf.gpt.train import keep_records_to_checkpoint, train

from .helpers import tiny_gpt, token_stream
from .test_train import TINY


@pytest.fixture
def ctrl_c():
    """Ctrl-C raises KeyboardInterrupt here (as in a terminal), whatever the test runner set."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can be set only in the main thread")
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


@pytest.mark.parametrize("stop_at", [3, 4])  # between evaluations, and on one
def test_ctrl_c_saves_the_last_whole_step_and_resuming_continues_exactly(tmp_path, ctrl_c, stop_at):
    train_tokens, val_tokens = split_tokens(token_stream(3000), 0.1)
    config = dataclasses.replace(TINY, checkpoint_interval=100)  # only the last step saves
    model = tiny_gpt(seed=7, dtype=torch.float32, dropout=0.1)
    whole_log: list = []
    train(model, train_tokens, val_tokens, config, tmp_path / "whole",
          log=lambda step, **m: whole_log.append((step, m)))  # fmt: skip

    log: list = []

    def interrupted(step, **metrics):
        log.append((step, metrics))
        if step == stop_at and "loss" in metrics:
            os.kill(os.getpid(), signal.SIGINT)  # lands inside the step: held until it is whole

    with pytest.raises(KeyboardInterrupt):
        train(tiny_gpt(seed=7, dtype=torch.float32, dropout=0.1), train_tokens, val_tokens,
              config, tmp_path / "split", log=interrupted)  # fmt: skip
    assert read_manifest(tmp_path / "split")["step"] == stop_at
    torch.manual_seed(12345)  # the resumed run must not depend on the RNG it finds
    resumed = tiny_gpt(seed=99, dtype=torch.float32, dropout=0.1)
    train(resumed, train_tokens, val_tokens, config, tmp_path / "split",
          log=lambda step, **m: log.append((step, m)))  # fmt: skip
    assert log == whole_log  # every loss, evaluation and learning rate, none twice
    for p, q in zip(model.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(p, q)


def test_the_metrics_of_a_resumed_run_are_cut_back_to_its_checkpoint(tmp_path):
    train_tokens, val_tokens = split_tokens(token_stream(2000), 0.1)
    config = dataclasses.replace(TINY, max_steps=4, eval_interval=2)
    train(tiny_gpt(dtype=torch.float32), train_tokens, val_tokens, config, tmp_path)
    metrics = tmp_path / "metrics.jsonl"
    records = [{"step": s, "loss": 1.0 / (s + 1)} for s in range(7)]
    metrics.write_text("".join(json.dumps(r) + "\n" for r in records))
    with open(metrics, "a") as appender:  # a logger that has the file open
        assert keep_records_to_checkpoint(metrics, tmp_path) == records[:5]
        appender.write(json.dumps({"step": 5}) + "\n")
    assert [json.loads(s)["step"] for s in metrics.read_text().splitlines()] == [0, 1, 2, 3, 4, 5]
    assert keep_records_to_checkpoint(metrics, tmp_path / "none") == []  # starts again: none kept
    assert metrics.read_text() == ""


def test_a_metrics_line_torn_by_a_kill_is_dropped_on_resume(tmp_path):
    train_tokens, val_tokens = split_tokens(token_stream(2000), 0.1)
    config = dataclasses.replace(TINY, max_steps=4, eval_interval=2)
    train(tiny_gpt(dtype=torch.float32), train_tokens, val_tokens, config, tmp_path)
    metrics = tmp_path / "metrics.jsonl"
    records = [{"step": s, "loss": 0.5} for s in range(3)]
    metrics.write_text("".join(json.dumps(r) + "\n" for r in records) + '{"step": 3, "lo')
    assert keep_records_to_checkpoint(metrics, tmp_path) == records
    assert metrics.read_text().splitlines() == [json.dumps(r) for r in records]


def test_a_snapshot_saved_before_a_config_field_existed_resumes(tmp_path):
    train_tokens, val_tokens = split_tokens(token_stream(2000), 0.1)
    config = dataclasses.replace(TINY, max_steps=2, eval_interval=2)
    train(tiny_gpt(dtype=torch.float32), train_tokens, val_tokens, config, tmp_path)
    manifest_file = tmp_path / "checkpoint.json"
    manifest = read_manifest(tmp_path)
    del manifest["model_config"]["positional"]  # as written before the field was added
    manifest_file.write_text(json.dumps(manifest))
    more = dataclasses.replace(config, max_steps=4)
    result = train(tiny_gpt(dtype=torch.float32), train_tokens, val_tokens, more, tmp_path)
    assert result.start_step == 2 and result.step == 4
    rope = tiny_gpt(dtype=torch.float32, positional="rope")
    with pytest.raises(ValueError, match="different model"):
        train(rope, train_tokens, val_tokens, dataclasses.replace(more, max_steps=6), tmp_path)
