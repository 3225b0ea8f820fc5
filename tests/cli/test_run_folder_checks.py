"""Loading a GPT run folder checks what it loads: each damaged file is one line that names it,
exit status 1, for ``dlf eval`` and ``dlf sample`` alike; the text a run trained on is found
again from any folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from dlf.gpt.recipes.gpt_text import RECIPE
from dlf.gpt.snapshot import read_manifest
from dlf.gpt.trained import RunFolderError, load_trained
from dlf.recipes import run_recipe
from tests.cli.helpers import one_line, run_dlf

TEXT = "ROMEO: the sun rises in the east\nJULIET: and sets in the west\n\n" * 30


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A tiny gpt-text run trained on ``data=notes.txt``, a path relative to where it started."""
    root = tmp_path_factory.mktemp("run-folder")
    (root / "notes.txt").write_text(TEXT, encoding="utf-8")
    overrides = {"data": "notes.txt", "n_layer": "1", "n_head": "2", "n_embd": "32",
                 "block_size": "16", "batch_size": "8", "max_steps": "10", "warmup_steps": "2",
                 "eval_interval": "10", "eval_batches": "1", "sample_tokens": "4",
                 "threads": "1"}  # fmt: skip
    before = Path.cwd()
    os.chdir(root)
    try:
        config = RECIPE.make_config(quick=True, overrides=overrides)
        run_dir, _ = run_recipe(RECIPE, config, root / "runs", quiet=True)
    finally:
        os.chdir(before)
    return run_dir.path


def _edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        target = data
        *parents, last = key.split("__")
        for p in parents:
            target = target[p]
        target[last] = value
    path.write_text(json.dumps(data), encoding="utf-8")


def _model_file(folder: Path) -> Path:
    manifest = read_manifest(folder)
    return Path(manifest["folder"]) / manifest["model_file"]


def truncate_weights(folder: Path) -> str:
    path = _model_file(folder)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path.name


def nan_weights(folder: Path) -> str:
    path = _model_file(folder)
    state = load_file(path)
    name = sorted(state)[0]
    state[name].view(-1)[0] = float("nan")
    save_file(state, path)
    return path.name


def indivisible_heads(folder: Path) -> str:
    _edit_json(folder / "checkpoint" / "checkpoint.json", model_config__n_head=5)
    return "checkpoint.json"


def wider_model(folder: Path) -> str:
    _edit_json(folder / "checkpoint" / "checkpoint.json", model_config__n_embd=64)
    return _model_file(folder).name


def deeper_model(folder: Path) -> str:
    _edit_json(folder / "checkpoint" / "checkpoint.json", model_config__n_layer=2)
    return _model_file(folder).name


def manifest_not_json(folder: Path) -> str:
    (folder / "checkpoint" / "checkpoint.json").write_text("{not json")
    return "checkpoint.json"


def weights_outside(folder: Path) -> str:
    outside = folder.parent / "elsewhere.safetensors"
    shutil.copy(_model_file(folder), outside)
    _edit_json(folder / "checkpoint" / "checkpoint.json", model_file="../../elsewhere.safetensors")
    return "checkpoint.json"


def weights_absolute(folder: Path) -> str:
    outside = folder.parent / "elsewhere.safetensors"
    shutil.copy(_model_file(folder), outside)
    _edit_json(folder / "checkpoint" / "checkpoint.json", model_file=str(outside))
    return "checkpoint.json"


def tokenizer_too_small(folder: Path) -> str:
    _edit_json(folder / "tokenizer.json", chars=json.loads(
        (folder / "tokenizer.json").read_text(encoding="utf-8"))["chars"][:-3])  # fmt: skip
    return "tokenizer.json"


def tokenizer_damaged(folder: Path) -> str:
    _edit_json(folder / "tokenizer.json", chars=5)
    return "tokenizer.json"


DAMAGES = {
    "truncated safetensors": (truncate_weights, "not a complete safetensors file"),
    "NaN weights": (nan_weights, "NaN or infinite"),
    "n_head that does not divide n_embd": (indivisible_heads, "divisible by n_head=5"),
    "model_config wider than the weights": (wider_model, "do not fit the model_config"),
    "model_config deeper than the weights": (deeper_model, "do not fit the model_config"),
    "checkpoint.json not JSON": (manifest_not_json, "is not JSON"),
    "model_file outside the folder": (weights_outside, "points outside the checkpoint folder"),
    "model_file an absolute path": (weights_absolute, "points outside the checkpoint folder"),
    "tokenizer smaller than the model": (tokenizer_too_small, "not the tokenizer this model"),
    "tokenizer with no list of characters": (tokenizer_damaged, '"chars" must be a list'),
}


@pytest.mark.parametrize("damage", list(DAMAGES), ids=list(DAMAGES))
@pytest.mark.parametrize("command", ["eval", "sample"])
def test_a_damaged_run_folder_is_one_line_naming_the_file(run, tmp_path, capsys, damage, command):
    folder = tmp_path / "run"
    shutil.copytree(run, folder)
    make, words = DAMAGES[damage]
    file_name = make(folder)
    with pytest.raises(RunFolderError, match=words):
        load_trained(folder)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    status, out, err = run_dlf(capsys, command, folder, "--max-new-tokens" if command == "sample"
                            else "--batch-size", "4")  # fmt: skip
    line = one_line(err)
    assert status == 1 and words in line and file_name in line and out == ""
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"val_fraction": "abc"}, "val_fraction must be a number in (0, 1), got 'abc'"),
        ({"val_fraction": 1.5}, "val_fraction must be a number in (0, 1)"),
        ({"data": 3}, "data must be a path or a corpus name"),
        ({"data": "notes.txt"}, "records data=notes.txt, a relative path"),
    ],
)
def test_a_bad_config_json_isone_line(run, tmp_path, capsys, changes, words):
    folder = tmp_path / "run"
    shutil.copytree(run, folder)
    _edit_json(folder / "config.json", **changes)
    status, out, err = run_dlf(capsys, "eval", folder)
    line = one_line(err)
    assert status == 1 and words in line and "config.json" in line and out == ""


def test_a_config_json_that_is_not_json_isone_line(run, tmp_path, capsys):
    folder = tmp_path / "run"
    shutil.copytree(run, folder)
    (folder / "config.json").write_text("{not json")
    status, _, err = run_dlf(capsys, "eval", folder)
    assert status == 1 and "config.json is not JSON" in one_line(err)


def test_a_relative_data_path_is_stored_resolved(run, tmp_path, capsys, monkeypatch):
    """Trained on notes.txt of its own folder; evaluated from a folder holding another
    notes.txt, on the first all the same."""
    config = json.loads((run / "config.json").read_text(encoding="utf-8"))
    trained_on = Path(config["data"])
    assert trained_on.is_absolute() and trained_on.read_text(encoding="utf-8") == TEXT
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("JULIET: something else entirely, and longer. " * 40)
    status, out, _ = run_dlf(capsys, "eval", run)
    assert status == 0 and f"validation split of {trained_on} " in out


def test_a_clean_run_folder_loads(run):
    trained = load_trained(run)
    assert trained.tokenizer.vocab_size == trained.model.config.vocab_size
    assert trained.step == 10


@pytest.mark.slow  # a fresh interpreter importing torch
def test_sample_into_a_closed_pipe_ends_quietly(run):
    proc = subprocess.Popen(
        [sys.executable, "-m", "dlf", "sample", str(run), "--max-new-tokens", "100000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(5)
    proc.stdout.close()  # `| head -c 5`: the reader goes away while the model still writes
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141 and err == ""
