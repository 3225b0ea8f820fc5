"""``dlf learn watch``: grade the current exercise on every save, then move on (as rustlings)."""

from __future__ import annotations

import time
from collections.abc import Callable

from dlf.learn.catalog import exercises
from dlf.learn.exercise import Exercise
from dlf.learn.grading import PASSED, grade_in_subprocess, is_untouched
from dlf.learn.workspace import Workspace


def current_exercise(workspace: Workspace) -> Exercise | None:
    """The first exercise, in path order, that has not passed in its present form."""
    return next((e for e in exercises() if workspace.state(e) != PASSED), None)


def watch(
    workspace: Workspace,
    say: Callable[[str], None] = print,
    poll: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    rounds: int | None = None,
) -> int:
    """Watch the current exercise's file; grade it whenever it changes; advance when it passes.

    Returns 0 once every exercise passes. ``rounds`` bounds the number of polls (for tests);
    otherwise it runs until Ctrl-C.
    """
    exercise = current_exercise(workspace)
    seen: int | None = None
    done = 0
    while exercise is not None:
        path = workspace.path(exercise)
        mtime = path.stat().st_mtime_ns if path.is_file() else -1
        if mtime != seen:
            seen = mtime
            if path.is_file() and is_untouched(exercise, path):
                say(
                    f"→ {exercise.name}: {exercise.title}. Write it in {path}; it is graded when "
                    f"you save. (dlf learn hint {exercise.name})"
                )
            else:
                grade = grade_in_subprocess(exercise, path)
                workspace.record(grade)
                mark = "✓" if grade.passed else "✗"
                say(f"{mark} {exercise.name} ({grade.seconds:.1f} s)")
                for line in grade.lines():
                    say("  " + line)
                if grade.passed:
                    exercise, seen = current_exercise(workspace), None
                    continue
        done += 1
        if rounds is not None and done >= rounds:
            return 1
        sleep(poll)
    say(
        "✓ every exercise passes: train with your own code, e.g. "
        f"dlf run mnist-mlp --quick workspace={workspace.root}"
    )
    return 0
