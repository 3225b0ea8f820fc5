"""``dlf run gpt-shakespeare-char workspace=DIR``: the GPT made of the learner's attention and
block, trained by dlf's recipe; ``dlf sample`` on its run."""

import pytest

from dlf.cli import main
from dlf.gpt.recipes.text_lm import LEARNER_PIECES
from dlf.learn import get_exercise
from dlf.learn.check import solve
from dlf.learn.workspace import Workspace
from dlf.recipes import get_recipe, run_recipe
from tests.conftest import data_available

needs_shakespeare = pytest.mark.skipif(
    not data_available("tinyshakespeare"), reason="Tiny Shakespeare not in $DLF_DATA"
)


@pytest.fixture
def ws(tmp_path):
    workspace = Workspace(tmp_path / "ws")
    workspace.init()
    return workspace


@needs_shakespeare
def test_a_piece_that_does_not_pass_stops_the_run_before_anything_is_written(ws, tmp_path, capsys):
    solve(ws, [get_exercise("causal-self-attention")])
    runs = tmp_path / "runs"
    argv = ["run", "gpt-shakespeare-char", "--quick", f"workspace={ws.root}"]
    code = main([*argv, "--runs-dir", str(runs)])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1
    assert "your gpt-block" in err and "does not pass yet (not started)" in err
    assert not runs.exists()


@pytest.mark.slow
@needs_shakespeare
def test_the_solved_workspace_trains_to_the_projects_own_loss_and_samples(ws, tmp_path, capsys):
    solve(ws, [get_exercise(name) for name in LEARNER_PIECES.values()])
    recipe = get_recipe("gpt-shakespeare-char")
    ours = run_recipe(recipe, recipe.make_config(quick=True), tmp_path / "a", quiet=True)[1]
    config = recipe.make_config(quick=True, overrides={"workspace": str(ws.root)})
    run_dir, theirs = run_recipe(recipe, config, tmp_path / "b", quiet=True)
    assert theirs["status"] == "completed" and theirs["code"] == f"workspace {ws.root}"
    assert ours["code"] == "dlf"
    assert theirs["val_loss"] == pytest.approx(ours["val_loss"], abs=1e-4)
    page = (run_dir.path / "report.html").read_text()
    assert "Whose code ran" in page and "05_gpt_block.py" in page

    capsys.readouterr()
    argv = ["sample", str(run_dir.path), "--prompt", "ROMEO:", "--max-new-tokens", "30"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("ROMEO:") and len(out.strip()) > len("ROMEO:")
