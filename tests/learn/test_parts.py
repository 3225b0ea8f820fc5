"""The path's projects trained with the learner's own code (``workspace=DIR``)."""

import pytest

from dlf.cli import main
from dlf.learn import get_exercise
from dlf.learn.check import solve
from dlf.learn.workspace import Workspace
from dlf.recipes import get_recipe, run_recipe
from dlf.scratch.recipes.mnist_mlp import learner_pieces

MLP_PIECES = sorted(set(learner_pieces(get_recipe("mnist-mlp").make_config(quick=True)).values()))


@pytest.fixture
def ws(tmp_path):
    workspace = Workspace(tmp_path / "ws")
    workspace.init()
    return workspace


def test_a_piece_that_does_not_pass_stops_the_run_before_anything_is_written(
    ws, tmp_path, capsys, needs_mnist
):
    solve(ws, [get_exercise(n) for n in MLP_PIECES if n != "sgd-momentum"])
    runs = tmp_path / "runs"
    code = main(["run", "mnist-mlp", "--quick", f"workspace={ws.root}", "--runs-dir", str(runs)])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1
    assert "your sgd-momentum" in err and "does not pass yet (not started)" in err
    assert not runs.exists()


def test_an_activation_the_learner_does_not_write_is_refused(ws, tmp_path, capsys):
    argv = ["run", "mnist-mlp", "--quick", f"workspace={ws.root}", "activation=gelu"]
    assert main([*argv, "--runs-dir", str(tmp_path / "runs")]) == 2
    assert "activation=relu or sigmoid" in capsys.readouterr().err


def test_a_missing_workspace_is_one_line(tmp_path, capsys, needs_mnist):
    argv = ["run", "mnist-mlp", "--quick", f"workspace={tmp_path / 'none'}"]
    assert main([*argv, "--runs-dir", str(tmp_path / "runs")]) == 1
    assert "no workspace at" in capsys.readouterr().err


@pytest.mark.slow
def test_mnist_mlp_with_the_solved_workspace_equals_the_projects_own_run(ws, tmp_path, needs_mnist):
    solve(ws, [get_exercise(n) for n in MLP_PIECES])
    recipe = get_recipe("mnist-mlp")
    ours = run_recipe(recipe, recipe.make_config(quick=True), tmp_path / "a", quiet=True)[1]
    config = recipe.make_config(quick=True, overrides={"workspace": str(ws.root)})
    run_dir, theirs = run_recipe(recipe, config, tmp_path / "b", quiet=True)
    assert theirs["status"] == "completed" and theirs["code"] == f"workspace {ws.root}"
    assert theirs["test_accuracy"] == ours["test_accuracy"]
    assert theirs["test_loss"] == pytest.approx(ours["test_loss"], rel=1e-6)
    page = (run_dir.path / "report.html").read_text()
    assert "Whose code ran" in page and "linear_layer.py" in page


@pytest.mark.slow
def test_cnn_mnist_trains_the_learners_cnn(ws, tmp_path, needs_mnist):
    solve(ws, [get_exercise("cnn-pytorch")])
    recipe = get_recipe("cnn-mnist")
    config = recipe.make_config(quick=True, overrides={"workspace": str(ws.root)})
    run_dir, summary = run_recipe(recipe, config, tmp_path, quiet=True)
    assert summary["status"] == "completed" and summary["code"] == f"workspace {ws.root}"
    assert summary["test_accuracy"] > 0.5
    assert "cnn_pytorch.py" in (run_dir.path / "report.html").read_text()
