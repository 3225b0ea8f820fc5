"""What every exercise of the catalog must do: its stub is not started, its solution passes, and
its test module plants known mistakes (``PLANTED``) that the grader must catch and name."""

import importlib

import pytest

from dlf.learn import EXERCISES, get_exercise

from ..conftest import data_available
from .helpers import grade_text

NEEDS_DATA = {"cnn-pytorch": "mnist", "bpe-tokenizer": "tinyshakespeare"}  # graded on real data


@pytest.mark.parametrize("name", EXERCISES)
def test_the_stub_is_not_started(name, tmp_path):
    assert grade_text(name, get_exercise(name).stub, tmp_path).state == "not started"


@pytest.mark.parametrize("name", EXERCISES)
def test_the_solution_passes(name, tmp_path):
    if name in NEEDS_DATA and not data_available(NEEDS_DATA[name]):
        pytest.skip(f"{NEEDS_DATA[name]} not in $DLF_DATA")
    grade = grade_text(name, get_exercise(name).solution, tmp_path)
    assert grade.state == "passed", grade.lines()


@pytest.mark.parametrize("name", EXERCISES)
def test_the_exercise_has_planted_mistakes(name):
    tests = importlib.import_module(f"{__package__}.test_{name.replace('-', '_')}")
    planted = getattr(tests, "PLANTED", [])
    assert len(planted) >= 2, f"{tests.__name__} plants {len(planted)} mistakes, fewer than 2"
    assert all(len(p) == 3 for p in planted)  # (text of the solution, the learner's, diagnosis)
    assert hasattr(tests, "test_a_planted_mistake_is_caught_and_named")
