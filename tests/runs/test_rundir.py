import json
from dataclasses import dataclass

import numpy as np

from dlf.runs import RunDir, line_plot
from tests.report_checks import check_self_contained


@dataclass
class _Cfg:
    lr: float = 0.1
    hidden: tuple[int, ...] = (3, 4)


def test_run_dir_files(tmp_path):
    run = RunDir.create(tmp_path, "demo", _Cfg(), quiet=True)
    assert run.path.parent == tmp_path / "demo"
    for step in range(3):
        run.log(step, loss=np.float32(1.0 / (step + 1)), split="train")
    run.figure("loss", line_plot({"loss": run.series("loss")}, "step", "loss"), "the loss")
    run.table("A table", ["a", "b"], [[1, 2.5], ["<x>", None]])
    summary = run.finish({"final": np.float64(0.25)})
    assert summary["status"] == "completed" and summary["final"] == 0.25
    assert json.loads((run.path / "config.json").read_text()) == {
        "recipe": "demo",
        "lr": 0.1,
        "hidden": [3, 4],
    }
    lines = (run.path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [0, 1, 2]
    assert json.loads((run.path / "summary.json").read_text())["final"] == 0.25
    assert (run.path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert check_self_contained(run.path / "report.html") == 1
    assert "&lt;x&gt;" in (run.path / "report.html").read_text()
    assert not list(run.path.glob("*.tmp"))


def test_two_runs_in_the_same_second_get_two_folders(tmp_path):
    a = RunDir.create(tmp_path, "demo", _Cfg(), quiet=True)
    b = RunDir.create(tmp_path, "demo", _Cfg(), quiet=True)
    assert a.path != b.path


def test_series_filters(tmp_path):
    run = RunDir.create(tmp_path, "demo", _Cfg(), quiet=True)
    run.log(0, loss=1.0, opt="sgd")
    run.log(0, loss=2.0, opt="adam")
    run.log(1, loss=0.5, opt="sgd")
    assert run.series("loss", {"opt": "sgd"}) == ([0, 1], [1.0, 0.5])
