"""`dlf run NAME --help`, `dlf --version`, one "dlf:" per error, a closed pipe."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

import dlf
from dlf.cli import main
from dlf.recipes import CATALOG, Recipe, get_recipe, register
from dlf.recipes.describe import describe, field_comments, format_value, type_name
from tests.toy_recipe import RECIPE

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def toy():
    register(RECIPE)


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@dataclass
class _Base:
    size: int = 3  # how many


@dataclass
class _Commented(_Base):
    """What the commented config is for."""

    # the first part
    rate: float = 0.5  # how fast
    mode: Literal["a", "b"] = "a"
    names: tuple[str, ...] = ("x", "y")
    limit: int | None = None
    text: str = ""
    tuned: int = field(default=2, metadata={"help": "from metadata", "range": ">= 1"})


def test_the_toy_recipe_help_lists_keys_defaults_and_settings(capsys):
    status, out, err = _run(capsys, "run", "toy", "--help")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("usage: dlf run toy ")
    assert "toy (module 0): gradient descent on w^2 (tests only)" in out
    assert "A tiny recipe for testing the machinery" in out  # the module's docstring
    rows = {line.split()[0]: line.split()[1:] for line in lines if line.startswith("  ")}
    assert rows["steps"] == ["int", "20"]
    assert rows["lr"] == ["float", "0.1"]
    assert rows["hidden"] == ["int,...", "4,2"]
    assert rows["dataset"] == ["str", "or", "none", "none"]
    assert rows["use_bias"] == ["bool", "true"]
    assert "quick setting (--quick): steps=3" in out
    assert "  fast  steps=5 lr=0.3" in out


def test_help_wins_over_overrides_and_runs_nothing(tmp_path, capsys):
    status, out, _ = _run(capsys, "run", "toy", "lr=0.3", "--help", "--runs-dir", str(tmp_path))
    assert status == 0 and "steps" in out
    assert not list(tmp_path.iterdir())


def test_sweep_help_describes_the_recipe_too(capsys):
    status, out, _ = _run(capsys, "sweep", "toy", "-h")
    assert status == 0 and out.startswith("usage: dlf sweep toy key=v1,v2")


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_help_without_a_recipe_is_the_commands_own(command, capsys):
    status, out, _ = _run(capsys, command, "--help")
    assert status == 0 and out.startswith(f"usage: dlf {command} RECIPE") and "--quick" in out


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_recipe_help_lists_every_key(name):
    recipe = get_recipe(name)
    text = describe(recipe)
    assert text.startswith(f"{name} (module {recipe.module}): {recipe.description}")
    rows = {line.split()[0] for line in text.splitlines() if line.startswith("  ")}
    assert {f.name for f in dataclasses.fields(recipe.config)} <= rows
    assert "quick setting (--quick" in text and "named settings (--setting NAME)" in text
    for setting in recipe.settings:
        assert f"  {setting} " in text


def test_descriptions_come_from_comments_and_metadata():
    comments = field_comments(_Commented)
    assert comments["size"] == ((), "how many")  # from the base class
    assert comments["rate"] == (("the first part",), "how fast")
    assert comments["mode"] == ((), "")
    recipe = Recipe("commented", 0, "a config with comments", _Commented, lambda c, d: {})
    text = describe(recipe)
    assert "What the commented config is for." in text
    assert "  # the first part" in text
    rows = {line.split()[0]: line for line in text.splitlines() if line.startswith("  ")}
    assert rows["rate"].split()[1:] == ["float", "0.5", "how", "fast"]
    assert rows["tuned"].endswith("from metadata (range: >= 1)")
    assert "quick setting (--quick): the defaults" in text
    assert "named settings (--setting NAME): none" in text


@pytest.mark.parametrize(
    ("tp", "name"),
    [(int, "int"), (tuple[int, ...], "int,..."), (tuple[int, int], "int,int"),
     (Literal["sgd", "adamw"], "sgd|adamw"), (int | None, "int or none"), (list[str], "str,...")],
)  # fmt: skip
def test_type_names(tp, name):
    assert type_name(tp) == name


@pytest.mark.parametrize(
    ("value", "text"),
    [((512, 256), "512,256"), (True, "true"), (None, "none"), ("", "''"), ("\n", "'\\n'"),
     ("tinyshakespeare", "tinyshakespeare"), (3e-4, "0.0003"), ((), "()")],
)  # fmt: skip
def test_values_are_written_as_key_value_reads_them(value, text):
    assert format_value(value) == text


def test_version_is_the_installed_one(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code in (0, None)
    expected = importlib.metadata.version(dlf.DISTRIBUTION)
    assert capsys.readouterr().out == f"dlf {expected}\n"


def test_version_without_an_install_is_pyprojects(monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'version = "{dlf.__version__}"' in pyproject


@pytest.mark.parametrize(
    ("argv", "message"),
    [([], "the following arguments are required: COMMAND"),
     (["frobnicate"], "argument COMMAND: invalid choice: 'frobnicate'"),
     (["run"], "run: the following arguments are required: recipe"),
     (["learn"], "learn: the following arguments are required: ACTION"),
     (["learn", "hint"], "learn hint: the following arguments are required: NAME"),
     (["learn", "check", "--timeout", "x"], "learn check: argument --timeout: invalid float"),
     (["list", "extra"], "list: unrecognized arguments: extra"),
     (["run", "toy", "--bogus"], "run: expected key=value config overrides, got '--bogus'")],
)  # fmt: skip
def test_an_error_says_dlf_once(argv, message, capsys):
    status, _, err = _run(capsys, *argv)
    assert status == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(f"dlf: error: {message}"), line
    assert line.count("dlf:") == 1 and "error: dlf" not in line


@pytest.mark.parametrize("argv", [["list"], ["learn", "list", "--dir", "WS"]])
def test_a_closed_pipe_ends_quietly(argv, tmp_path):
    """`dlf list | head -1` when head has gone: no traceback, the status of a SIGPIPE death."""
    if "WS" in argv:
        assert main(["learn", "init", str(tmp_path / "ws")]) == 0
        argv = [str(tmp_path / "ws") if a == "WS" else a for a in argv]
    proc = subprocess.Popen(
        [sys.executable, "-m", "dlf", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == ""
