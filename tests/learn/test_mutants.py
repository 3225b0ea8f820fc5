"""Every grader can fail: most mechanical mutants of each reference solution are caught."""

import signal

import pytest

from dlf.learn import EXERCISES, get_exercise

from .helpers import grade_text
from .mutants import mutants

SLOW_TO_GRADE = {"cnn-pytorch"}  # each grading trains a CNN: its planted mistakes prove it
MOST = 0.5


def _grade_with_limit(name, text, folder, seconds=20):
    def stop(*_):
        raise TimeoutError("mutant ran too long")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        return grade_text(name, text, folder).state
    except TimeoutError:
        return "failing"  # the subprocess time limit stops such code in real grading
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # a mutant may overflow: it is then caught
@pytest.mark.parametrize("name", [n for n in EXERCISES if n not in SLOW_TO_GRADE])
def test_most_mutants_of_the_reference_are_caught(name, tmp_path):
    found = mutants(get_exercise(name))
    assert found, f"{name}: no mutable site in the solution"
    survivors = [
        what for what, text in found if _grade_with_limit(name, text, tmp_path) == "passed"
    ]
    caught = 1 - len(survivors) / len(found)
    print(f"{name}: {len(found) - len(survivors)} of {len(found)} mutants caught ({caught:.0%})")
    assert caught > MOST, f"{name}: only {caught:.0%} caught; survivors: {survivors}"
