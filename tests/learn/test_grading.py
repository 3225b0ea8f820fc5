"""Whatever the learner's file does, grading ends in one clear verdict about that file."""

import pytest

from dlf.learn import get_exercise, grade_in_subprocess

NAME = "svm-loss"


def _write(tmp_path, text):
    path = tmp_path / "01_svm_loss.py"
    path.write_text(text)
    return path


def _solution_with(old, new):
    text = get_exercise(NAME).solution
    assert text.count(old) == 1
    return text.replace(old, new)


def test_an_untouched_stub_is_not_started_without_running(tmp_path):
    grade = grade_in_subprocess(get_exercise(NAME), _write(tmp_path, get_exercise(NAME).stub))
    assert (grade.state, grade.checks, grade.error) == ("not started", [], "")


def test_the_solution_passes_in_a_subprocess(tmp_path):
    grade = grade_in_subprocess(get_exercise(NAME), _write(tmp_path, get_exercise(NAME).solution))
    assert grade.state == "passed", grade.lines()
    assert grade.seconds > 0


def test_a_syntax_error_names_the_file_and_line(tmp_path):
    path = _write(tmp_path, _solution_with("loss = 0.0\n", "loss = = 0.0\n"))
    grade = grade_in_subprocess(get_exercise(NAME), path)
    assert grade.state == "failing"
    assert grade.error.startswith("syntax error")
    line = path.read_text().splitlines().index("    loss = = 0.0") + 1
    assert f"{path}:{line}:" in grade.error


def test_an_exception_names_the_function_the_file_and_the_line(tmp_path):
    path = _write(tmp_path, _solution_with("loss = 0.0\n", "loss = 0.0 / 0\n"))
    grade = grade_in_subprocess(get_exercise(NAME), path)
    assert grade.state == "failing"
    assert "svm_loss_naive raised ZeroDivisionError" in grade.error
    assert str(path) in grade.error and "on input [W (4, 3)" in grade.error


def test_a_half_written_file_says_what_is_not_written_yet(tmp_path):
    stub = get_exercise(NAME).stub
    naive_done = get_exercise(NAME).solution.split("def svm_loss(")[0]
    path = _write(tmp_path, naive_done + "def svm_loss(" + stub.split("def svm_loss(")[1])
    grade = grade_in_subprocess(get_exercise(NAME), path)
    assert grade.state == "failing"
    assert grade.error.startswith("svm_loss is not written yet")
    assert sum(c.passed for c in grade.checks) == 8  # own code, the naive version (6), no loop


def test_an_endless_loop_is_stopped_and_reported(tmp_path):
    path = _write(
        tmp_path, _solution_with("loss = 0.0\n", "loss = 0.0\n    while True:\n        pass\n")
    )
    grade = grade_in_subprocess(get_exercise(NAME), path, timeout=2)
    assert grade.state == "failing"
    assert "longer than 2 s" in grade.error and str(path) in grade.error


@pytest.mark.parametrize(
    ("code", "said"),
    [
        ("import sys\nsys.exit(3)\n", "importing 01_svm_loss.py raised SystemExit"),
        ("import os\nos._exit(7)\n", "ended with status 7"),
        ("raise ImportError('no module named magic')\n", "ImportError: no module named magic"),
        ("print('hello')\n", "defines no 'svm_loss_naive'"),
    ],
)
def test_a_file_that_exits_crashes_or_lacks_names_is_one_message(tmp_path, code, said):
    grade = grade_in_subprocess(get_exercise(NAME), _write(tmp_path, code))
    assert grade.state == "failing"
    assert said in grade.error


def test_a_wrong_return_type_is_a_message_not_a_crash(tmp_path):
    path = _write(tmp_path, _solution_with("    return loss, dW\n", "    return None\n"))
    grade = grade_in_subprocess(get_exercise(NAME), path)
    assert grade.state == "failing"
    assert "grading stopped: TypeError" in grade.error
    assert "docstring gives the types and shapes" in grade.error


@pytest.mark.parametrize(
    ("name", "old", "new", "said"),
    [
        (
            "svm-loss",
            "    s, labels = _check_labels",
            "    return _dlf(scores, y)\n    s, labels = _check_labels",
            "svm_loss calls dlf's dlf.scratch.losses.svm_loss",
        ),
        (
            "linear-layer",
            "        if x.shape[-1] != self.in_features:",
            "        return super().forward(x)\n        if x.shape[-1] != self.in_features:",
            "Linear.forward calls super().forward",
        ),
    ],
)
def test_handing_the_piece_to_dlfs_own_code_does_not_pass(tmp_path, name, old, new, said):
    text = get_exercise(name).solution
    assert text.count(old) == 1
    text = text.replace(old, new)
    if name == "svm-loss":
        text = "from dlf.scratch.losses import svm_loss as _dlf\n" + text
    path = tmp_path / "f.py"
    path.write_text(text)
    grade = grade_in_subprocess(get_exercise(name), path)
    assert grade.state == "failing"
    own = [c for c in grade.checks if c.what == "your own code (not dlf's)"]
    assert own and not own[0].passed and said in own[0].detail


def test_a_check_failing_on_several_inputs_is_shown_once_with_the_count(tmp_path):
    path = _write(tmp_path, _solution_with("ds /= n", "pass"))
    lines = grade_in_subprocess(get_exercise(NAME), path).lines()
    shown = [line for line in lines if line.startswith("✗ svm_loss: dscores")]
    assert len(shown) == 1
    head, diagnosis = shown[0].split("\n")
    assert head.endswith("(and on 2 more inputs)") and "forgot to divide by N" in diagnosis
    assert lines[-1] == "14 of 17 checks pass"
