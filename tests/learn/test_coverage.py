"""``dlf path --workspace``: the checkpoints the learner's own code proves."""

from dlf.learn import EXERCISES, get_exercise
from dlf.learn.check import solve
from dlf.learn.coverage import COVERS, learner_proofs
from dlf.learn.report import path_section
from dlf.learn.workspace import Workspace
from dlf.path import MODULES
from dlf.runs import RunDir


def test_every_covered_checkpoint_exists_and_names_real_exercises():
    names = {(m.number, cp.name) for m in MODULES for cp in m.load_checkpoints() or []}
    assert set(COVERS) <= names
    covering = {n for exercises in COVERS.values() for n in exercises}
    assert covering <= set(EXERCISES)


def test_a_checkpoint_holds_for_the_learners_code_when_its_exercises_pass(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.init()
    solve(ws, [get_exercise(n) for n in ("linear-layer", "activations", "two-layer-net")])
    path = ws.path(get_exercise("l2-penalty"))
    path.write_text(get_exercise("l2-penalty").solution.replace("0.5 *", "1.0 *", 1))
    states = {p.checkpoint: p.state for p in learner_proofs(ws, [1])}
    assert states["backprop"] == "passed"
    assert states["L2"] == "failing"
    assert states["dropout"] == "not started"
    run_dir = RunDir.create(tmp_path / "runs", "path", {}, quiet=True)
    figures = path_section(run_dir, ws, [1])
    assert figures["checkpoints_proved_by_your_code"] == f"1 of {len(states)}"
    page = run_dir.report.render()
    assert "Your code" in page and "backprop" in page and "your exercises" in page
