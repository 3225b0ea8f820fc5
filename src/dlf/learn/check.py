"""Grading a workspace: several exercises at once, each in its own process, the verdicts kept."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from dlf.learn.catalog import get_exercise
from dlf.learn.exercise import Exercise
from dlf.learn.grading import Grade, grade_in_subprocess, is_untouched
from dlf.learn.workspace import Workspace
from dlf.runs.atomic import atomic_write_text


def check(
    workspace: Workspace,
    names: list[str] | None = None,
    timeout: float | None = None,
    workers: int | None = None,
) -> list[Grade]:
    """Grade the named exercises (default: every started one), in path order; record each.

    Gradings run side by side, one process each, as many at once as there are cores.
    """
    chosen: list[Exercise] = [get_exercise(n) for n in names] if names else workspace.started()
    workers = workers or max(1, min(len(chosen), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        grades = list(
            pool.map(lambda e: grade_in_subprocess(e, workspace.path(e), timeout), chosen)
        )
    for grade in grades:
        workspace.record(grade)
    return grades


def next_hint(workspace: Workspace, exercise: Exercise) -> tuple[int, str]:
    """The next hint not yet shown (1-based number and text); the last one again when all were."""
    shown = workspace.load_progress()["exercises"].get(exercise.name, {}).get("hints_shown", 0)
    number = min(shown + 1, len(exercise.hints))
    workspace.update(exercise.name, hints_shown=number)
    return number, exercise.hints[number - 1]


def solve(workspace: Workspace, chosen: list[Exercise], force: bool = False) -> list[str]:
    """Write the reference solutions; a file the learner changed is kept unless ``force``.

    Returns one line per exercise saying what was done. Progress notes ``solved_by_dlf``.
    """
    lines = []
    for e in chosen:
        path = workspace.path(e)
        if path.is_file() and not is_untouched(e, path) and not force:
            if path.read_text(encoding="utf-8") != e.solution:
                lines.append(f"kept {path}: it holds your own work (--force replaces it)")
                continue
        atomic_write_text(path, e.solution)
        workspace.update(e.name, solved_by_dlf=True)
        lines.append(f"wrote {path}")
    return lines
