"""Grading a text as if a learner had saved it, and the planted-mistake check every exercise has."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dlf.learn import Grade, get_exercise, grade_file


def grade_text(name: str, text: str, folder: Path) -> Grade:
    """Grade ``text`` as the learner's file for exercise ``name`` (in this process)."""
    exercise = get_exercise(name)
    path = folder / Path(exercise.filename).name
    path.write_text(text, encoding="utf-8")
    return grade_file(exercise, path)


def plant(name: str, old: str, new: str) -> str:
    """The exercise's solution with one planted mistake: ``old`` (found exactly once) -> ``new``."""
    solution = get_exercise(name).solution
    assert solution.count(old) == 1, f"{old!r} is not exactly once in the {name} solution"
    return solution.replace(old, new)


def assert_caught(name: str, old: str, new: str, diagnosis: str, folder: Path) -> Grade:
    """The planted mistake fails, and some failing check (or the error) names ``diagnosis``."""
    grade = grade_text(name, plant(name, old, new), folder)
    assert grade.state == "failing", f"{name}: the mistake {new!r} was not caught"
    said = [c.diagnosis for c in grade.checks if not c.passed] + [grade.error]
    assert any(diagnosis in s for s in said), (name, diagnosis, said)
    return grade


def planted_test(name: str, planted: list[tuple[str, str, str]], *marks) -> Callable:
    """The test that each planted mistake of exercise ``name`` is caught and named, parametrized
    over ``planted`` = [(text of the solution, the learner's version, the diagnosis), ...]; with
    ``marks`` (e.g. ``pytest.mark.filterwarnings(...)``). In a test module::

        test_a_planted_mistake_is_caught_and_named = planted_test(NAME, PLANTED)
    """

    @pytest.mark.parametrize(("old", "new", "diagnosis"), planted)
    def test(old: str, new: str, diagnosis: str, tmp_path: Path) -> None:
        assert_caught(name, old, new, diagnosis, tmp_path)

    for mark in marks:
        test = mark(test)
    return test
