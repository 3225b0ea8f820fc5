"""A run takes its threads from the cores free now."""

import os
import subprocess
import sys
import time

import pytest

from dlf.cli import main
from dlf.runs import threads
from dlf.runs.threads import free_cores, run_threads, use_threads


def test_free_cores_subtracts_the_other_runnable_tasks(monkeypatch):
    monkeypatch.setattr(threads, "_cpus", lambda: 4)
    readings = iter([1, 3, 1, 1, 2])
    monkeypatch.setattr(threads, "_others_running", lambda: next(readings))
    assert free_cores(interval=0) == 3  # the median of the readings is 1
    monkeypatch.setattr(threads, "_others_running", lambda: 9)
    assert free_cores(interval=0) == 1  # never fewer than one
    monkeypatch.setattr(threads, "_others_running", lambda: None)
    assert free_cores(interval=0) == 4  # no count where /proc/stat cannot be read


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="Linux only")
def test_busy_processes_beside_take_the_cores():
    cpus = len(os.sched_getaffinity(0))
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cpus)]
    try:
        time.sleep(0.3)
        assert free_cores() == 1
    finally:
        for p in busy:
            p.kill()
            p.wait()


def test_dlf_threads_overrides_and_is_checked(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DLF_THREADS", "3")
    assert run_threads() == 3
    monkeypatch.setenv("DLF_THREADS", "0")
    status = main(["run", "mnist-mlp", "--quick", "--runs-dir", str(tmp_path)])
    assert status == 2
    message = "dlf: error: DLF_THREADS must be a whole number >= 1, got '0'\n"
    assert capsys.readouterr().err == message
    assert not any(tmp_path.iterdir())


def test_use_threads_sets_blas_and_torch_and_restores():
    torch = pytest.importorskip("torch")
    from threadpoolctl import threadpool_info

    before = torch.get_num_threads()
    with use_threads(1):
        assert torch.get_num_threads() == 1
        assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas")
    assert torch.get_num_threads() == before
