"""Every ``dlf ...`` line of the README runs, so the README cannot drift from the code.

``COMMANDS`` maps each command line of the README's code blocks (without ``.venv/bin/`` and the
comment) to what this test runs for it, in README order, in one temporary folder: the same
command with ``--quick`` or small values where the README's would be long, and the steps a
reader would have taken before it (a text of their own, a trained run, written exercises). A
README line without an entry fails, and so does an entry whose line left the README.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import data_available

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Step:
    """One ``dlf`` command line run by the test; ``{run}`` stands for the gpt-text run folder.

    ``status``: the exit status it must end with. ``interrupt_after``: a command that runs until
    Ctrl-C (``dlf learn watch``) gets SIGINT once its output shows this text.
    """

    argv: tuple[str, ...]
    status: int = 0
    interrupt_after: str | None = None


def step(line: str, status: int = 0, interrupt_after: str | None = None) -> Step:
    return Step(tuple(shlex.split(line)), status, interrupt_after)


COMMANDS: dict[str, list[Step]] = {
    "dlf list": [step("list")],
    "dlf run mnist-mlp --help": [step("run mnist-mlp --help")],
    "dlf run mnist-mlp --quick": [step("run mnist-mlp --quick")],
    "dlf run mnist-mlp epochs=30 lr=0.05": [step("run mnist-mlp --quick epochs=1 lr=0.05")],
    "dlf run gpt-shakespeare-char --setting fast": [
        step(
            "run gpt-shakespeare-char --setting fast max_steps=4 block_size=32 "
            "eval_interval=4 eval_batches=1 sample_tokens=20"
        )
    ],
    "dlf sweep mnist-mlp lr=0.1,0.01 --quick": [
        step("sweep mnist-mlp lr=0.1,0.01 --quick epochs=1")
    ],
    "dlf checkpoints": [step("checkpoints")],
    "dlf gradcheck": [step("gradcheck")],
    "dlf path --quick --modules 1": [step("path --quick --modules 1")],
    "dlf summary resnet18": [step("summary resnet18")],
    "dlf summary gpt2 --html gpt2.html": [step("summary gpt2 --html gpt2.html")],
    "dlf receptive-field vgg16": [step("receptive-field vgg16")],
    "dlf run gpt-text data=my_notes.txt": [step("run gpt-text data=my_notes.txt --quick")],
    "dlf run gpt-text --resume runs/gpt-text/<time>": [step("run gpt-text --resume {run}")],
    (
        r'dlf sample runs/gpt-text/<time> --prompt "ROMEO:" --strategy top-p --top-p 0.9 '
        r'--stop "\n\n"'
    ): [
        step(
            r'sample {run} --prompt "ROMEO:" --strategy top-p --top-p 0.9 --stop "\n\n" '
            "--max-new-tokens 40"
        )
    ],
    "dlf eval runs/gpt-text/<time> data=other.txt": [step("eval {run} data=other.txt")],
    "dlf tokenizer train --vocab-size 512 --out tok.json": [
        step("tokenizer train --vocab-size 512 --out tok.json")
    ],
    "dlf bench mlp": [step("bench mlp n=1000 repeats=1")],
    "dlf learn init ws": [step("learn init ws")],
    "dlf learn watch --dir ws": [
        step("learn watch --dir ws", status=130, interrupt_after="svm-loss")
    ],
    # "exit 0 when all pass": the reader has written svm-loss (here: the reference)
    "dlf learn check --dir ws": [
        step("learn solve svm-loss --dir ws"),
        step("learn check --dir ws"),
    ],
    "dlf learn check svm-loss --dir ws --json": [step("learn check svm-loss --dir ws --json")],
    "dlf learn hint svm-loss --dir ws": [step("learn hint svm-loss --dir ws")],
    "dlf learn solution svm-loss --dir ws": [step("learn solution svm-loss --dir ws")],
    "dlf learn list --dir ws": [step("learn list --dir ws")],
    "dlf learn report --dir ws": [step("learn report --dir ws")],
    # the reader's own layers, loss and optimizer (here: every reference) train MNIST
    "dlf run mnist-mlp --quick workspace=ws": [
        step("learn solve --all --dir ws"),
        step("run mnist-mlp --quick workspace=ws epochs=1"),
    ],
    "dlf run cnn-mnist --quick workspace=ws": [step("run cnn-mnist --quick workspace=ws epochs=1")],
    "dlf run gpt-shakespeare-char --quick workspace=ws": [
        step("run gpt-shakespeare-char --quick workspace=ws max_steps=20")
    ],
    "dlf path --quick --modules 1 --workspace ws": [
        step("path --quick --modules 1 --workspace ws")
    ],
}


def readme_commands(text: str) -> list[str]:
    """The ``dlf`` command lines of the code blocks of a Markdown text, in order.

    ``.venv/bin/`` and a trailing ``# comment`` are dropped, white space is made single.
    Example: "```sh\\n.venv/bin/dlf list   # recipes\\n```" -> ["dlf list"].
    """
    lines, inside = [], False
    for raw in text.splitlines():
        if raw.lstrip().startswith("```"):
            inside = not inside
            continue
        line = raw.strip()
        if not inside or not re.match(r"(\.venv/bin/)?dlf\s", line):
            continue
        line = line.removeprefix(".venv/bin/")
        command = re.split(r"\s+#\s", line, maxsplit=1)[0]
        lines.append(" ".join(command.split()))
    return lines


def test_every_readme_command_has_an_entry_and_every_entry_a_readme_line():
    in_readme = readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert in_readme, "no dlf command lines found in the README's code blocks"
    missing = [line for line in in_readme if line not in COMMANDS]
    assert not missing, f"README lines with no entry in COMMANDS (add one): {missing}"
    stale = [line for line in COMMANDS if line not in in_readme]
    assert not stale, f"COMMANDS entries no longer in the README (remove them): {stale}"


def test_readme_commands_parses_code_blocks_only():
    text = "dlf list\n```sh\n.venv/bin/dlf  run x   # a comment\ndlf2 x\n```\n`dlf path`\n"
    assert readme_commands(text) == ["dlf run x"]


def _run_step(s: Step, cwd: Path, env: dict[str, str], run_dir: str) -> tuple[int, str]:
    argv = [a.replace("{run}", run_dir) for a in s.argv]
    command = [sys.executable, "-m", "dlf", *argv]
    if s.interrupt_after is None:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
        return done.returncode, done.stdout + done.stderr
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # a shell's background job starts with Ctrl-C ignored, and a child inherits that
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as proc:
        assert proc.stdout is not None
        seen = ""
        for line in proc.stdout:  # ends only if the command ends by itself
            seen += line
            if s.interrupt_after in line:
                time.sleep(0.5)
                proc.send_signal(signal.SIGINT)
                break
        try:
            rest, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        return proc.returncode, seen + rest


@pytest.mark.slow
def test_every_readme_command_runs(tmp_path):
    for name in ("mnist", "tinyshakespeare"):
        if not data_available(name):
            pytest.skip(f"{name} not in $DLF_DATA")
    # the reader's own texts: gpt-text trains on one and is evaluated on another with the
    # same characters (a character model cannot encode a character it never saw)
    notes = Path(os.environ["DLF_DATA"].split(":")[0], "tinyshakespeare", "input.txt")
    text = notes.read_text(encoding="utf-8")[:30000] if notes.is_file() else "ROMEO: hi.\n" * 3000
    (tmp_path / "my_notes.txt").write_text(text, encoding="utf-8")
    (tmp_path / "other.txt").write_text(text[-5000:], encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DLF_OFFLINE": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    run_dir = ""
    for line in readme_commands((ROOT / "README.md").read_text(encoding="utf-8")):
        for s in COMMANDS[line]:
            status, output = _run_step(s, tmp_path, env, run_dir)
            assert status == s.status, (
                f"README line `{line}`: ran `dlf {shlex.join(s.argv)}`, exit {status} "
                f"(wanted {s.status})\n{output[-3000:]}"
            )
            assert "Traceback" not in output, f"`dlf {shlex.join(s.argv)}`:\n{output[-3000:]}"
        if line.startswith("dlf run gpt-text"):
            (found,) = (tmp_path / "runs" / "gpt-text").iterdir()
            run_dir = str(found.relative_to(tmp_path))
