"""Ctrl-C and SIGTERM end a run the same way: complete files, weights kept, "interrupted"."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from dlf.recipes import Recipe, run_recipe
from dlf.runs import RunDir, load_arrays
from tests.report_checks import check_self_contained

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class _Cfg:
    stop_at: int = 3
    steps: int = 1000


def _terminated_at(config: _Cfg, run_dir: RunDir) -> dict:
    for step in range(config.steps):
        run_dir.log(step, loss=1.0 / (step + 1))
        if step == config.stop_at:
            os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)  # the handler runs here at the latest
    return {"steps": config.steps}


_RECIPE = Recipe("sigterm", 0, "sends itself SIGTERM (tests only)", _Cfg, _terminated_at)


@pytest.fixture
def own_sigterm_handler():
    """A SIGTERM handler of the test's own, to see that run_recipe puts it back."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can be set only in the main thread")

    def mine(signum, frame):
        raise AssertionError("the run's handler should have been in place")

    old = signal.signal(signal.SIGTERM, mine)
    yield mine
    signal.signal(signal.SIGTERM, old)


def test_sigterm_ends_a_run_as_ctrl_c_does(tmp_path, own_sigterm_handler):
    with pytest.raises(KeyboardInterrupt):
        run_recipe(_RECIPE, _Cfg(), tmp_path, quiet=True)
    assert signal.getsignal(signal.SIGTERM) is own_sigterm_handler
    (run_dir,) = (tmp_path / "sigterm").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert summary["interrupted_by"] == "SIGTERM" and summary["interrupted_after_step"] == 3
    assert summary["weights_files"] == []
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == 4
    check_self_contained(run_dir / "report.html")


def test_sigterm_while_the_last_files_are_written_waits_for_them(
    tmp_path, monkeypatch, own_sigterm_handler
):
    finish = RunDir.finish

    def terminated_finish(self, summary, status="completed"):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)
        return finish(self, summary, status)

    monkeypatch.setattr(RunDir, "finish", terminated_finish)
    with pytest.raises(KeyboardInterrupt):
        run_recipe(_RECIPE, _Cfg(stop_at=-1, steps=2), tmp_path, quiet=True)
    assert signal.getsignal(signal.SIGTERM) is own_sigterm_handler
    (run_dir,) = (tmp_path / "sigterm").iterdir()
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "completed"
    check_self_contained(run_dir / "report.html")


# Run as `dlf run`, with SIGINT handled as on a terminal (a shell may start background jobs
# with SIGINT ignored, and Python then keeps it ignored).
_CLI = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler);"
    "from dlf.cli import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.mark.slow
@pytest.mark.usefixtures("needs_mnist")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_mnist_mlp_stopped_after_its_first_epoch_keeps_its_weights(tmp_path, signum):
    from dlf.scratch.mlp import mlp
    from dlf.scratch.recipes.mnist_data import mnist_splits
    from dlf.scratch.state import load_state_dict
    from dlf.scratch.trainer import evaluate

    # A tiny training set and more epochs than it will ever reach; a patience it never runs
    # out of, so the best epoch's weights are kept (and put back when the signal comes).
    argv = ["run", "mnist-mlp", "train_subset=200", "epochs=10000", "patience=10000",
            "hidden=[32]", "batch_size=50", "--runs-dir", str(tmp_path), "--quiet"]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c", _CLI, *argv],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120  # a hang guard only, not a time limit on the run
        metrics = None
        while metrics is None and time.monotonic() < deadline and proc.poll() is None:
            found = list(tmp_path.glob("mnist-mlp/*/metrics.jsonl"))
            if found and found[0].read_text().endswith("\n"):
                metrics = found[0]
            time.sleep(0.05)
        assert metrics is not None, f"the run never logged an epoch: {proc.poll()}"
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    # 130 for both: SIGTERM is turned into the same KeyboardInterrupt as Ctrl-C, and `dlf run`
    # has one exit status for an interrupted run; summary.json says which signal it was.
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err

    run_dir = metrics.parent
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert summary["interrupted_by"] == (
        "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C (SIGINT)"
    )
    assert summary["weights_files"] == ["model.safetensors"]
    assert summary["interrupted_after_step"] >= 1
    lines = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r["step"] for r in lines] == list(range(1, len(lines) + 1))
    assert json.loads((run_dir / "config.json").read_text())["recipe"] == "mnist-mlp"
    check_self_contained(run_dir / "report.html")
    assert not [p.name for p in run_dir.iterdir() if p.name.startswith(".")]

    # The weights load into the architecture, and they are the epoch the report names: their
    # validation loss is the one logged for that epoch (the same images, the same code).
    page = (run_dir / "report.html").read_text()
    epoch = int(re.search(r"the weights of epoch (\d+), the lowest validation loss", page)[1])
    logged = {r["step"]: r["val_loss"] for r in lines}
    assert logged[epoch] == min(logged[e] for e in logged if e <= epoch)
    model = mlp((784, 32, 10), "relu", 0.2, False)
    load_state_dict(model, load_arrays(run_dir / "model.safetensors"))
    data = mnist_splits(0.1, 200, seed=0)
    val_loss, _ = evaluate(model, data.x_val, data.y_val)
    # evaluate() here and in the run do the same float32 work on the same rows: equal but for
    # the order of BLAS sums, which may differ between processes only in the last bits
    assert np.isclose(val_loss, logged[epoch], rtol=1e-5, atol=0)
