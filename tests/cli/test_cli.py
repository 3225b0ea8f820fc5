"""The command line's promises: exit statuses, one-line errors, nothing half-written."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlf.cli import main
from dlf.recipes import register
from tests.conftest import data_available
from tests.report_checks import check_self_contained
from tests.toy_recipe import RECIPE

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def toy():
    register(RECIPE)


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_run_writes_a_run_directory(tmp_path, capsys):
    status, out, _ = _run(capsys, "run", "toy", "--quick", "lr=0.2", "--runs-dir", str(tmp_path))
    assert status == 0
    (run_dir,) = (tmp_path / "toy").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    config = json.loads((run_dir / "config.json").read_text())
    assert summary["status"] == "completed" and config["steps"] == 3 and config["lr"] == 0.2
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == 3
    assert check_self_contained(run_dir / "report.html") == 1
    assert str(run_dir / "report.html") in out


def test_a_named_setting_then_overrides(tmp_path, capsys):
    argv = ["run", "toy", "--setting", "fast", "lr=0.2", "--runs-dir", str(tmp_path)]
    status, _, _ = _run(capsys, *argv)
    assert status == 0
    (run_dir,) = (tmp_path / "toy").iterdir()
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["steps"], config["lr"]) == (5, 0.2)


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--setting", "slow"], "toy has no setting 'slow'; its settings: fast"),
     (["--setting", "fast", "--quick"], "not both")],
)  # fmt: skip
def test_a_bad_setting_is_one_line_and_writes_nothing(tmp_path, capsys, extra, message):
    status, _, err = _run(capsys, "run", "toy", *extra, "--runs-dir", str(tmp_path))
    assert status == 2 and message in _one_line(err)
    assert not tmp_path.joinpath("toy").exists()


def test_unknown_recipe_names_the_valid_ones(tmp_path, capsys):
    status, _, err = _run(capsys, "run", "no-such-recipe", "--runs-dir", str(tmp_path))
    assert status == 2
    line = _one_line(err)
    assert "no-such-recipe" in line and "valid recipes:" in line and "toy" in line
    assert not tmp_path.joinpath("no-such-recipe").exists()


def test_unknown_key_lists_the_valid_keys(tmp_path, capsys):
    status, _, err = _run(capsys, "run", "toy", "no_such_key=1", "--runs-dir", str(tmp_path))
    assert status == 2
    assert "valid keys: steps, lr, hidden, sleep, dataset, use_bias" in _one_line(err)
    assert not list(tmp_path.iterdir())


def test_bad_value_names_the_type(tmp_path, capsys):
    status, _, err = _run(capsys, "run", "toy", "steps=abc", "--runs-dir", str(tmp_path))
    assert status == 2
    assert "steps wants an int, got 'abc'" in _one_line(err)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["run"], ["path", "--modules", "x"]])
def test_bad_command_lines_are_one_line_and_exit_2(argv, capsys):
    status, _, err = _run(capsys, *argv)
    assert status == 2
    _one_line(err)


def test_missing_data_offline_is_exit_1_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DLF_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    runs = tmp_path / "runs"
    status, _, err = _run(capsys, "run", "toy", "dataset=mnist", "--runs-dir", str(runs))
    assert status == 1
    line = _one_line(err)
    assert "data set 'mnist' not found" in line and "train-images-idx3-ubyte.gz" in line
    assert str(tmp_path / "empty" / "mnist") in line
    assert not runs.exists()


def test_a_flipped_byte_is_refused(tmp_path, capsys, monkeypatch):
    if not data_available("tinyshakespeare"):
        pytest.skip("Tiny Shakespeare not in $DLF_DATA")
    from dlf.data import dataset_files

    copy = tmp_path / "data" / "tinyshakespeare" / "input.txt"
    copy.parent.mkdir(parents=True)
    shutil.copy(dataset_files("tinyshakespeare")["input.txt"], copy)
    blob = bytearray(copy.read_bytes())
    blob[1000] ^= 0x20
    copy.write_bytes(bytes(blob))
    monkeypatch.setenv("DLF_DATA", str(tmp_path / "data"))
    runs = tmp_path / "runs"
    status, _, err = _run(capsys, "run", "toy", "dataset=tinyshakespeare", "--runs-dir", str(runs))
    assert status == 1
    line = _one_line(err)
    assert str(copy) in line and "sha256" in line
    assert not runs.exists()


def test_ctrl_c_leaves_complete_files_and_an_interrupted_summary(tmp_path):
    code = (
        "import sys; from dlf.recipes import register; from tests.toy_recipe import RECIPE;"
        "register(RECIPE); from dlf.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    argv = ["run", "toy", "steps=100000", "sleep=0.002", "--runs-dir", str(tmp_path), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code, *argv], cwd=ROOT, env=env,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.time() + 60
    metrics = None
    while time.time() < deadline:
        found = list(tmp_path.glob("toy/*/metrics.jsonl"))
        if found and len(found[0].read_text().splitlines()) >= 5:
            metrics = found[0]
            break
        time.sleep(0.05)
    assert metrics is not None, "the run never logged"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    run_dir = metrics.parent
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["interrupted_after_step"] >= 4
    for line in metrics.read_text().splitlines():
        json.loads(line)
    json.loads((run_dir / "config.json").read_text())
    check_self_contained(run_dir / "report.html")
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".")]


def test_sweep_runs_the_grid_and_writes_one_report(tmp_path, capsys):
    status, out, _ = _run(
        capsys, "sweep", "toy", "lr=0.1,0.3", "steps=4,6", "--runs-dir", str(tmp_path), "--quiet"
    )
    assert status == 0
    assert len(list((tmp_path / "toy").iterdir())) == 4
    (sweep_dir,) = (tmp_path / "sweeps" / "toy").iterdir()
    assert check_self_contained(sweep_dir / "report.html") == 1  # one overlay: the loss
    page = (sweep_dir / "report.html").read_text()
    assert page.count("lr=0.3, steps=6") == 1


def test_list_shows_each_recipe(capsys):
    status, out, _ = _run(capsys, "list")
    assert status == 0
    assert any(line.startswith("toy ") for line in out.splitlines())
    assert "dlf run toy --setting fast  (steps=5 lr=0.3)" in out.splitlines()


def test_list_shows_what_a_measured_setting_reached(capsys, monkeypatch):
    from dlf.bench import measured

    record = {"seconds": 42.0, "effects": [{"claim": "c", "shown": True, "figure": "loss 0.12"}]}
    monkeypatch.setattr(
        measured, "recipe_record", lambda name, setting: record if setting == "fast" else None
    )
    status, out, _ = _run(capsys, "list")
    lines = out.splitlines()
    at = lines.index("dlf run toy --setting fast  (steps=5 lr=0.3)")
    assert status == 0 and lines[at + 1] == "    measured 42 s: loss 0.12"
