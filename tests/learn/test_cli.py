"""``dlf learn`` as a learner types it: init, check, hint, solution, solve, list, report."""

import json

import pytest

from dlf.cli import main
from dlf.learn import exercises, get_exercise


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def ws(tmp_path, capsys):
    root = tmp_path / "ws"
    assert run(capsys, "learn", "init", str(root))[0] == 0
    return root


def test_init_writes_every_stub_in_path_order_and_never_replaces_a_file(ws, capsys):
    for e in exercises():
        assert (ws / e.filename).read_text() == e.stub
    numbers = [(e.module, e.number) for e in exercises()]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    mine = ws / get_exercise("svm-loss").filename
    mine.write_text("# my own work\n")
    code, out, _ = run(capsys, "learn", "init", str(ws))
    assert code == 0 and out.startswith("0 files written")
    assert mine.read_text() == "# my own work\n"


def test_check_on_a_fresh_workspace_says_not_started_and_exits_1(ws, capsys):
    code, out, _ = run(capsys, "learn", "check", "--dir", str(ws))
    assert code == 1
    assert f"all {len(exercises())} exercises are not started" in out


def test_checking_a_named_untouched_exercise_is_not_started_never_a_pass(ws, capsys):
    code, out, _ = run(capsys, "learn", "check", "svm-loss", "--dir", str(ws), "--json")
    assert code == 1
    assert json.loads(out)["exercises"][0]["state"] == "not started"


def test_one_mistake_exits_1_naming_the_exercise_the_check_and_the_input(ws, capsys):
    path = ws / get_exercise("svm-loss").filename
    path.write_text(get_exercise("svm-loss").solution.replace("ds /= n", "pass"))
    code, out, _ = run(capsys, "learn", "check", "--dir", str(ws))
    assert code == 1
    assert "✗ svm-loss: failing" in out
    assert "✗ svm_loss: dscores [scores (5, 3), seed 0]: relative error" in out
    assert "likely mistake: forgot to divide by N" in out
    progress = json.loads((ws / "progress.json").read_text())
    assert progress["exercises"]["svm-loss"]["state"] == "failing"


def test_hints_come_one_at_a_time_and_the_solution_is_noted(ws, capsys):
    hints = get_exercise("svm-loss").hints
    assert run(capsys, "learn", "hint", "svm-loss", "--dir", str(ws))[1].startswith(
        f"hint 1 of {len(hints)} for svm-loss: {hints[0]}"
    )
    assert (
        f"hint 2 of {len(hints)}" in run(capsys, "learn", "hint", "svm-loss", "--dir", str(ws))[1]
    )
    code, out, _ = run(capsys, "learn", "solution", "svm-loss", "--dir", str(ws))
    assert code == 0 and out == get_exercise("svm-loss").solution
    entry = json.loads((ws / "progress.json").read_text())["exercises"]["svm-loss"]
    assert entry["hints_shown"] == 2 and entry["solution_viewed"] is True


def test_solve_keeps_the_learners_work_unless_forced(ws, capsys):
    path = ws / get_exercise("svm-loss").filename
    path.write_text("# mine\n")
    out = run(capsys, "learn", "solve", "svm-loss", "--dir", str(ws))[1]
    assert out.startswith("kept") and path.read_text() == "# mine\n"
    run(capsys, "learn", "solve", "svm-loss", "--dir", str(ws), "--force")
    assert path.read_text() == get_exercise("svm-loss").solution


def test_list_shows_states_and_the_count(ws, capsys):
    run(capsys, "learn", "solve", "svm-loss", "--dir", str(ws))
    run(capsys, "learn", "check", "svm-loss", "--dir", str(ws))
    data = json.loads(run(capsys, "learn", "list", "--dir", str(ws), "--json")[1])
    states = {e["name"]: e["state"] for e in data["exercises"]}
    assert states["svm-loss"] == "passed" and data["passed"] == 1
    assert set(states.values()) == {"passed", "not started"}
    (ws / get_exercise("svm-loss").filename).write_text("# edited\n")
    assert "not checked" in run(capsys, "learn", "list", "--dir", str(ws))[1]


def test_report_is_one_html_page_with_every_exercise(ws, capsys):
    code, out, _ = run(capsys, "learn", "report", "--dir", str(ws))
    page = (ws / "report.html").read_text()
    assert code == 0 and out.strip() == f"report: {ws / 'report.html'}"
    assert all(e.name in page for e in exercises())


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["learn", "check", "nope"], "no exercise named 'nope'"),
        (["learn", "hint", "svm-loss", "--dir", "/nonexistent/ws"], "no workspace at"),
        (["learn", "solve", "--dir", "WS"], "name exercises or give --all"),
        (["learn", "bogus"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(ws, capsys, argv, said):
    argv = [str(ws) if a == "WS" else a for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_solve_all_then_check_passes_everything_within_a_minute(ws, capsys):
    assert run(capsys, "learn", "solve", "--all", "--dir", str(ws))[0] == 0
    code, out, _ = run(capsys, "learn", "check", "--dir", str(ws), "--json")
    data = json.loads(out)
    failing = [(e["exercise"], e["error"]) for e in data["exercises"] if e["state"] != "passed"]
    assert code == 0 and not failing
    assert data["passed"] == data["graded"] == len(exercises())
    assert all(e["seconds"] > 0 for e in data["exercises"])  # the time per exercise is reported
