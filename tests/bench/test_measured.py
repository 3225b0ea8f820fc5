"""Measured figures live in one data file, written by commands and read by dlf list."""

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import dlf
from dlf.bench import BenchReport, measured
from dlf.cli import main
from dlf.recipes import Recipe, register
from dlf.recipes.describe import describe


@dataclass
class _Cfg:
    steps: int = 3


def _shows_its_effect(config: _Cfg, run_dir) -> dict:
    for step in range(config.steps):
        run_dir.log(step, loss=1.0 / (step + 1))
    run_dir.effect("the loss falls", True, "1.00 -> 0.33")
    return {"final_loss": 1.0 / config.steps}


_RECIPE = register(
    Recipe("measured-test", 0, "a loss that falls (tests only)", _Cfg, _shows_its_effect)
)


@pytest.fixture
def data_file(tmp_path, monkeypatch):
    path = tmp_path / "measured.json"
    monkeypatch.setattr(measured, "MEASURED", path)
    return path


def test_the_shipped_file_is_valid():
    data = measured.load(measured.MEASURED)
    for settings in data["recipes"].values():
        for record in settings.values():
            assert record["seconds"] > 0 and record["machine"]["cpu"] and record["machine"]["date"]


def test_measure_records_seconds_figures_effects_and_the_machine(tmp_path, data_file, capsys):
    status = main(["measure", "measured-test", "--quick", "--quiet", "--runs-dir", str(tmp_path)])
    assert status == 0
    record = json.loads(data_file.read_text())["recipes"]["measured-test"]["quick"]
    assert record["seconds"] >= 0 and record["status"] == "completed"
    assert record["figures"] == {"final_loss": pytest.approx(1 / 3)}
    assert record["effects"] == [
        {"claim": "the loss falls", "shown": True, "figure": "1.00 -> 0.33"}
    ]
    assert set(record["machine"]) == {"cpu", "load", "numpy", "torch", "date"}


def test_list_and_help_read_the_file(tmp_path, data_file, capsys):
    main(["measure", "measured-test", "--quiet", "--runs-dir", str(tmp_path)])
    capsys.readouterr()
    main(["list"])
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("measured-test"))
    assert re.search(r"\?\s+0 s$", row), row  # quick never measured, full measured
    assert "full setting: the defaults above; measured 0 s on" in describe(_RECIPE)


def test_a_quick_report_shows_the_full_settings_effect(tmp_path, data_file):
    main(["measure", "measured-test", "--quiet", "--runs-dir", str(tmp_path / "full")])
    assert measured.full_effects("measured-test")["the loss falls"].startswith("✓ 1.00 -> 0.33 (")
    main(["run", "measured-test", "--quiet", "steps=2", "--runs-dir", str(tmp_path / "quick")])
    (folder,) = (tmp_path / "quick" / "measured-test").iterdir()
    assert "✓ 1.00 -&gt; 0.33 (" in (folder / "report.html").read_text()


def test_bench_record_keeps_rows_ratio_and_machine(data_file):
    report = BenchReport("toy", rows=[("ours", 1.0, "s"), ("peer", 2.0, "s")], ratio=0.5)
    measured.record_bench("toy", report, 0.3)
    record = measured.load()["bench"]["toy"]
    assert record["ratio"] == 0.5 and record["rows"][0] == ["ours", 1.0, "s"]
    assert record["machine"]["load"] == 0.3


MACHINE = re.compile(r"EPYC|Xeon|Ryzen|\d-core|load (average )?[~≈]?\d|\bissues? \d+", re.I)
TIMING = re.compile(
    r"\b(measured|took|takes|about|wall)\b.*\b\d+(\.\d+)? ?(s|seconds|min|minutes)\b", re.I
)


def test_no_source_file_states_a_machine_or_a_wall_time():
    """Times and machines belong in measured.json, written by a command: a source line such as
    "took 12 s" or "measured on an EPYC" is a figure typed in by hand, and "issue 13" is the
    project's history, not what the code does. The reader of the data
    file and ``cpu_model`` (whose docstring shows what it returns) are the exceptions."""
    root = Path(dlf.__file__).parent
    readers = {root / "bench" / "measured.py", root / "bench" / "__init__.py"}
    offenders = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        if path not in readers
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if MACHINE.search(line) or TIMING.search(line)
    ]
    assert not offenders, "\n".join(offenders)
