"""``dlf sample`` and ``dlf eval`` on a run the test trains: streaming, stops, perplexity,
Ctrl-C, and one-line errors."""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from dlf.cli import main
from dlf.cli.gpt import unescape
from dlf.gpt.data import split_text
from dlf.gpt.recipes.gpt_text import RECIPE
from dlf.gpt.trained import load_trained
from dlf.recipes import run_recipe
from dlf.sampling import generate, greedy

ROOT = Path(__file__).resolve().parents[2]
TEXT = "ROMEO: the sun rises in the east\nJULIET: and sets in the west\n\n" * 30


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("gpt-cli")
    data = root / "play.txt"
    data.write_text(TEXT, encoding="utf-8")
    overrides = {"data": str(data), "n_layer": "1", "n_head": "2", "n_embd": "32",
                 "block_size": "16", "batch_size": "8", "max_steps": "30", "warmup_steps": "2",
                 "eval_interval": "30", "eval_batches": "2", "sample_tokens": "4",
                 "threads": "1"}  # fmt: skip
    config = RECIPE.make_config(quick=True, overrides=overrides)
    run_dir, _ = run_recipe(RECIPE, config, root / "runs", quiet=True)
    return run_dir.path, data


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def greedy_continuation(folder: Path, prompt: str, n: int) -> str:
    trained = load_trained(folder)
    ids = trained.tokenizer.encode(prompt)
    new = list(generate(trained.model.step_fn(), ids, n, greedy))
    return trained.tokenizer.decode(new)


def test_sample_streams_the_greedy_continuation(run, capsys):
    folder, _ = run
    status, out, _ = _run(capsys, "sample", folder, "--prompt", "ROMEO:", "--strategy", "greedy",
                          "--max-new-tokens", "40")  # fmt: skip
    assert status == 0
    assert out == "ROMEO:" + greedy_continuation(folder, "ROMEO:", 40) + "\n"


@pytest.mark.parametrize("include", [False, True])
def test_stop_sequence_ends_the_text_exactly_there(run, capsys, include):
    folder, _ = run
    full = greedy_continuation(folder, "J", 60)
    stop = full[5:8]  # a stop that the greedy text is sure to reach
    start = full.index(stop)
    argv = ["sample", folder, "--prompt", "J", "--strategy", "greedy", "--stop", stop]
    status, out, _ = _run(capsys, *argv, *(["--include-stop"] if include else []))
    assert status == 0
    expected = full[: start + len(stop)] if include else full[:start]
    assert out == "J" + expected + "\n"


def test_stop_written_with_escapes(run, capsys):
    folder, _ = run
    full = greedy_continuation(folder, "R", 200)
    status, out, _ = _run(capsys, "sample", folder, "--prompt", "R", "--strategy", "greedy",
                          "--max-new-tokens", "200", "--stop", "\\n")  # fmt: skip
    assert status == 0 and out == "R" + full.split("\n")[0] + "\n"


@pytest.mark.parametrize("strategy", ["sample", "top-k", "top-p", "beam"])
def test_every_strategy_prints_prompt_then_text(run, capsys, strategy):
    folder, _ = run
    argv = ["sample", folder, "--prompt", "JULIET:", "--strategy", strategy, "--seed", "3",
            "--max-new-tokens", "20", "--beam-width", "2"]  # fmt: skip
    status, out, _ = _run(capsys, *argv)
    assert status == 0 and out.startswith("JULIET:") and out.endswith("\n")
    assert set(out) <= set(TEXT)
    assert _run(capsys, *argv)[1] == out  # seeded


def test_eval_perplexity_is_exp_of_the_mean_loss(run, capsys):
    folder, _ = run
    status, out, _ = _run(capsys, "eval", folder)
    assert status == 0
    values = dict(re.findall(r"^(loss|perplexity): ([0-9.]+)", out, re.M))
    loss, ppl = float(values["loss"]), float(values["perplexity"])
    assert ppl == pytest.approx(math.exp(loss), rel=2e-4)
    # reference: every validation token after the first, in windows of block_size, float64
    trained = load_trained(folder)
    _, val = split_text(TEXT, 0.1)
    ids = torch.tensor(trained.tokenizer.encode(val))
    T = trained.model.config.block_size
    k = (len(ids) - 1) // T
    x, y = ids[: k * T].view(k, T), ids[1 : k * T + 1].view(k, T)
    with torch.no_grad():
        logits, _ = trained.model(x, y)
    reference = F.cross_entropy(logits.double().view(-1, logits.shape[-1]), y.view(-1))
    assert loss == pytest.approx(float(reference), abs=1e-4)
    assert f"tokens predicted: {k * T:,}" in out


def test_eval_on_another_text(run, capsys, tmp_path):
    folder, _ = run
    other = tmp_path / "other.txt"
    other.write_text("JULIET: the sun sets in the east\n" * 10)
    status, out, _ = _run(capsys, "eval", folder, f"data={other}")
    assert status == 0 and f"data={other}" in out and "perplexity:" in out


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    ("make", "status", "words"),
    [
        (lambda d: ["eval", d / "nothing-here"], 1, "no such run directory"),
        (lambda d: ["sample", d], 1, "no GPT checkpoint"),
        (lambda d: ["eval", "RUN", f"data={d / 'missing.txt'}"], 1, "no such file or folder"),
        (lambda d: ["eval", "RUN", f"data={d / 'blob.bin'}"], 1, "not UTF-8"),
        (lambda d: ["eval", "RUN", f"data={d / 'empty.txt'}"], 1, "is empty"),
        (lambda d: ["eval", "RUN", f"data={d / 'short.txt'}"], 1, "fewer than 17"),
        (lambda d: ["eval", "RUN", f"data={d / 'accents.txt'}"], 1, "'é'"),
        (lambda d: ["eval", "RUN", "size=3"], 2, "unknown key 'size'"),
        (lambda d: ["sample", "RUN", "--strategy", "nucleus"], 2, "strategy must be one of"),
        (lambda d: ["sample", "RUN", "--top-p", "1.5"], 2, "top-p must be in (0, 1]"),
        (lambda d: ["sample", "RUN", "--temperature", "-1"], 2, "temperature must be >= 0"),
        (lambda d: ["sample", "RUN", "--prompt", "ω"], 2, "'ω'"),
        (lambda d: ["sample", "RUN", "--prompt", ""], 2, "prompt is empty"),
        (lambda d: ["sample", "RUN", "--max-new-tokens", "x"], 2, "invalid int value"),
    ],
)
def test_errors_are_one_line(run, capsys, tmp_path, make, status, words):
    folder, _ = run
    (tmp_path / "blob.bin").write_bytes(b"\xff\xfe\xfa" * 100)
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "short.txt").write_text("ROMEO: the")
    (tmp_path / "accents.txt").write_text("ROMEO: é " * 20)
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = [folder if a == "RUN" else a for a in make(tmp_path)]
    code, _, err = _run(capsys, *argv)
    assert code == status and words in _one_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_ctrl_c_prints_what_was_generated_and_exits_130(run):
    folder, _ = run
    dlf = Path(sys.executable).parent / "dlf"
    argv = [str(dlf), "sample", str(folder), "--prompt", "ROMEO:", "--max-new-tokens", "1000000",
            "--temperature", "1.0"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    os.set_blocking(proc.stdout.fileno(), False)
    seen, deadline = b"", time.time() + 120
    while len(seen) < 60 and time.time() < deadline and proc.poll() is None:
        seen += proc.stdout.read() or b""
        time.sleep(0.05)
    assert len(seen) >= 60, "dlf sample never streamed"
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=60)
    out = (seen + (rest or b"")).decode()
    assert proc.returncode == 130, err.decode()
    assert out.startswith("ROMEO:") and out.endswith("\n") and len(out) > 60
    assert "interrupted" in err.decode() and b"Traceback" not in err


@pytest.mark.parametrize(
    ("typed", "meant"), [("a\\nb", "a\nb"), ("\\n\\n", "\n\n"), ("x\\\\n", "x\\n"), ("\\q", "\\q")]
)
def test_unescape(typed, meant):
    assert unescape(typed) == meant
