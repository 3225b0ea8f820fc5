"""A GPT run stopped by SIGTERM (or Ctrl-C) and resumed with ``--resume`` logs what an
uninterrupted run logs, step for step; a stopped or diverged run keeps good weights."""

from __future__ import annotations

import json
import math
import os
import signal
import threading

import pytest
import torch

from dlf.cli import main
from dlf.gpt.recipes.gpt_text import RECIPE
from dlf.gpt.snapshot import load_gpt, read_manifest
from dlf.recipes import ConfigError, run_recipe
from dlf.recipes.runner import resume_config
from dlf.runs import Diverged, RunDir

TINY = {
    "n_layer": "1", "n_head": "2", "n_embd": "16", "block_size": "16", "batch_size": "4",
    "max_steps": "12", "eval_interval": "4", "eval_batches": "2", "log_interval": "1",
    "warmup_steps": "2", "dropout": "0.1", "sample_tokens": "5", "threads": "1",
}  # fmt: skip


@pytest.fixture
def text(tmp_path):
    words = "to be or not that is the question whether tis nobler in the mind".split()
    lines = [" ".join(words[(i * 7 + j * 3) % len(words)] for j in range(8)) for i in range(200)]
    path = tmp_path / "text.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def records(folder) -> list[dict]:
    return [json.loads(s) for s in (folder / "metrics.jsonl").read_text().splitlines()]


def only_run_folder(root):
    (folder,) = (root / "gpt-text").iterdir()
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("stop_at", [5, 8])  # between evaluations, and on one
def test_a_stopped_run_resumed_logs_what_an_unstopped_run_logs(
    tmp_path, text, monkeypatch, stop_at
):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can be set only in the main thread")
    config = RECIPE.make_config(overrides={**TINY, "data": str(text)})
    whole, _ = run_recipe(RECIPE, config, tmp_path / "whole", quiet=True)

    log = RunDir.log

    def terminated_at(self, step, **metrics):
        log(self, step, **metrics)
        if step == stop_at and "loss" in metrics:
            os.kill(os.getpid(), signal.SIGTERM)  # delivered once the step is whole

    monkeypatch.setattr(RunDir, "log", terminated_at)
    with pytest.raises(KeyboardInterrupt):
        run_recipe(RECIPE, config, tmp_path / "stopped", quiet=True)
    monkeypatch.setattr(RunDir, "log", log)
    folder = only_run_folder(tmp_path / "stopped")
    stopped = json.loads((folder / "summary.json").read_text())
    assert stopped["status"] == "interrupted"
    assert f"checkpoint/model-{stop_at:07d}.safetensors" in stopped["weights_files"]
    assert read_manifest(folder / "checkpoint")["step"] == stop_at

    resumed = resume_config(RECIPE, folder, {})
    assert resumed == config
    _, summary = run_recipe(RECIPE, resumed, tmp_path / "unused", quiet=True, resume=folder)
    assert summary["status"] == "completed" and summary["steps"] == 12
    assert not (tmp_path / "unused").exists()
    got, want = records(folder), records(whole.path)
    steps = [(r["step"], "loss" in r) for r in got]
    assert len(steps) == len(set(steps))  # no step logged twice
    assert got == want  # losses, evaluations, learning rates: bit for bit


def test_resume_refuses_what_it_cannot_continue(tmp_path, text):
    with pytest.raises(ConfigError, match="not a run folder"):
        resume_config(RECIPE, tmp_path, {})
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"recipe": "mnist-mlp"}))
    with pytest.raises(ConfigError, match="a run of 'mnist-mlp', not of gpt-text"):
        resume_config(RECIPE, other, {})
    mine = tmp_path / "mine"
    mine.mkdir()
    config = {"recipe": "gpt-text", **RECIPE.config().__dict__, "data": str(text)}
    (mine / "config.json").write_text(json.dumps(config))
    assert resume_config(RECIPE, mine, {"max_steps": "4000"}).max_steps == 4000
    with pytest.raises(ConfigError, match="n_layer=2 differs"):
        resume_config(RECIPE, mine, {"n_layer": "2"})


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--resume", "{mine}", "n_layer=2"], "n_layer=2 differs from the run's 4"),
        (["--resume", "{none}"], "not a run folder"),
        (["--resume", "{mine}", "--quick"], "give no --quick or --setting"),
    ],
)
def test_a_refused_resume_is_one_line_and_exit_2(tmp_path, text, capsys, extra, message):
    mine = tmp_path / "mine"
    mine.mkdir()
    config = {"recipe": "gpt-text", **RECIPE.config().__dict__, "data": str(text)}
    (mine / "config.json").write_text(json.dumps(config))
    before = sorted(mine.iterdir())
    argv = [a.format(mine=mine, none=tmp_path / "none") for a in extra]
    status = main(["run", "gpt-text", *argv, "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1
    assert sorted(mine.iterdir()) == before and not (tmp_path / "runs").exists()


def test_a_diverged_run_ends_diverged_with_finite_weights_kept(tmp_path, text):
    # a learning rate so high that the float32 weights overflow within a few steps
    overrides = {**TINY, "data": str(text), "learning_rate": "1e30", "warmup_steps": "0"}
    config = RECIPE.make_config(overrides=overrides)
    with pytest.raises(Diverged, match=r"run again with a lower learning rate \(e.g. learn"):
        run_recipe(RECIPE, config, tmp_path, quiet=True)
    folder = only_run_folder(tmp_path)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "diverged"
    assert any(name.startswith("checkpoint/model-") for name in summary["weights_files"])
    model = load_gpt(folder / "checkpoint")
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters())
    assert math.isfinite(read_manifest(folder / "checkpoint")["step"])
