"""The learner's code in a recipe: ``dlf run mnist-mlp workspace=DIR`` trains with it.

A recipe names the pieces it takes from the workspace (``{"Linear": "linear-layer", ...}``: an
attribute and the exercise whose file defines it). :func:`require_passing` stops the run, before
anything is written, unless every one of those exercises passes; :func:`load_parts` then imports
the learner's files into this process and returns the pieces.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlf.learn.catalog import get_exercise
from dlf.learn.errors import WorkspaceError
from dlf.learn.grading import PASSED, grade_in_subprocess, load_learner_module
from dlf.learn.workspace import Workspace


def require_passing(directory: str | Path, exercise_names: list[str]) -> Workspace:
    """Check that each named exercise passes in its present form (graded now if need be)."""
    workspace = Workspace(directory)
    if not workspace.exists():
        raise WorkspaceError(f"no workspace at {directory}: run `dlf learn init {directory}`")
    for name in dict.fromkeys(exercise_names):
        exercise = get_exercise(name)
        if workspace.state(exercise) == PASSED:
            continue
        grade = grade_in_subprocess(exercise, workspace.path(exercise))
        workspace.record(grade)
        if not grade.passed:
            raise WorkspaceError(
                f"your {name} ({workspace.path(exercise)}) does not pass yet ({grade.state}): "
                f"dlf learn check {name} --dir {directory}"
            )
    return workspace


def load_parts(directory: str | Path, wanted: dict[str, str]) -> dict[str, Any]:
    """``{attribute: the learner's object}`` for ``wanted`` = ``{attribute: exercise name}``."""
    workspace = require_passing(directory, list(wanted.values()))
    modules: dict[str, Any] = {}
    parts = {}
    for attribute, name in wanted.items():
        if name not in modules:
            modules[name] = load_learner_module(workspace.path(get_exercise(name)).resolve())
        parts[attribute] = getattr(modules[name], attribute)
    return parts


def whose_code(directory: str | Path, wanted: dict[str, str]) -> str:
    """A sentence for a report: which pieces came from which of the learner's files."""
    workspace = Workspace(directory)
    pieces = ", ".join(
        f"{attr} ({workspace.path(get_exercise(name))})" for attr, name in wanted.items()
    )
    return f"Your code from the workspace {Path(directory).resolve()}: {pieces}."
