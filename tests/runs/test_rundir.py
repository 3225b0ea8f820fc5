import json
import multiprocessing
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from dlf.runs import RunDir, line_plot, save_arrays
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


def _create_in_rounds(root, barrier, rounds, out):
    """Worker of the race test: each round, wait for the others, then create a run folder."""
    for trial in range(rounds):
        barrier.wait(timeout=120)
        run = RunDir.create(Path(root) / f"trial{trial}", "demo", _Cfg(), quiet=True)
        out.put((trial, str(run.path)))


def test_processes_creating_run_folders_at_once_never_share_one(tmp_path):
    # Four processes, released together by a barrier, each make a folder for the same recipe in
    # the same second, 20 times over. A check-then-mkdir gives two of them one folder.
    processes, trials = 4, 20
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(processes), ctx.Queue()
    workers = [
        ctx.Process(target=_create_in_rounds, args=(str(tmp_path), barrier, trials, out))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    try:
        # a hang guard only: spawned processes on a loaded machine take a while to start
        results = [out.get(timeout=120) for _ in range(processes * trials)]
    finally:
        for worker in workers:
            worker.join(timeout=120)
            if worker.is_alive():
                worker.terminate()
    assert [worker.exitcode for worker in workers] == [0] * processes
    shared = [t for t in range(trials) if len({p for u, p in results if u == t}) < processes]
    assert shared == [], f"trials where two processes got one folder: {shared}"
    for trial in range(trials):
        made = [p.name for p in (tmp_path / f"trial{trial}" / "demo").iterdir()]
        assert len(made) == processes
        assert all(re.fullmatch(r"\d{8}-\d{6}(-[2-9])?", name) for name in made), made


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_run_files_get_the_modes_of_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        run = RunDir.create(tmp_path, "demo", _Cfg(), quiet=True)
        run.log(0, loss=1.0)
        save_arrays(run.path / "model.safetensors", {"w": np.ones((2, 3), np.float32)})
        run.finish({"final": 1.0})
    finally:
        os.umask(old)
    names = ["config.json", "summary.json", "report.html", "metrics.jsonl", "model.safetensors"]
    modes = {name: stat.S_IMODE((run.path / name).stat().st_mode) for name in names}
    assert modes == dict.fromkeys(names, mode)


def test_effects_open_the_report_and_count_in_the_summary(tmp_path):
    run_dir = RunDir.create(tmp_path, "effects", {}, quiet=True)
    assert run_dir.effect("the loss falls", True, "2.30 -> 0.41") is True
    assert run_dir.effect("momentum beats plain SGD", False, "0.52 vs 0.50") is False
    run_dir.full_figures["momentum beats plain SGD"] = "0.12 vs 0.31"
    summary = run_dir.finish({})
    assert summary["effects_shown"] == "1 of 2"
    assert [e["shown"] for e in summary["effects"]] == [True, False]
    page = (run_dir.path / "report.html").read_text()
    assert page.index("What this run shows") < page.index("Summary")
    assert '<span class="bad">✗</span>' in page and "0.12 vs 0.31" in page
