"""Grading one exercise: load the learner's file, run the grader, in a subprocess with a limit.

The learner's code runs in a child process (``python -m dlf.learn.worker``), so that a syntax
error, an exception, a crash or a loop that never ends is reported as one message about the
learner's file, never a crash of ``dlf``. An untouched stub is "not started" without running.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType

from dlf.learn.exercise import Exercise
from dlf.learn.grader import Check, Grader, LearnerError, learner_location
from dlf.learn.source import calls_to_itself

NOT_STARTED, FAILING, PASSED = "not started", "failing", "passed"


@dataclass
class Grade:
    """The verdict on one exercise: its state, every check, and the error that stopped it."""

    exercise: str
    state: str
    checks: list[Check] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.state == PASSED

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Grade:
        checks = [Check(**c) for c in data.get("checks", [])]
        return cls(data["exercise"], data["state"], checks, data["error"], data["seconds"])

    def lines(self, failures_shown: int = 3) -> list[str]:
        """What a learner reads: the error, the failing checks, the count.

        A check that fails on several inputs is shown once, on its first input, with the number
        of other inputs it fails on; at most ``failures_shown`` distinct checks are shown.
        """
        out = [self.error] if self.error else []
        failed = [c for c in self.checks if not c.passed]
        first: dict[str, Check] = {}
        repeats: dict[str, int] = {}
        for c in failed:
            if c.what in first:
                repeats[c.what] = repeats.get(c.what, 0) + 1
            else:
                first[c.what] = c
        for what, c in list(first.items())[:failures_shown]:
            more = repeats.get(what, 0)
            line = c.line()
            if more:
                head, _, rest = line.partition("\n")
                line = f"{head} (and on {more} more input{'s' if more > 1 else ''})" + (
                    f"\n{rest}" if rest else ""
                )
            out.append(line)
        if len(first) > failures_shown:
            out.append(f"... and {len(first) - failures_shown} more failing checks")
        if self.checks:
            passed = len(self.checks) - len(failed)
            stopped = " before grading stopped" if self.error else ""
            out.append(f"{passed} of {len(self.checks)} checks pass{stopped}")
        return out


def load_learner_module(path: Path) -> ModuleType:
    """Import the file at ``path`` as a fresh module; any error -> LearnerError with file:line."""
    spec = importlib.util.spec_from_file_location(f"dlf_learner_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise LearnerError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        raise LearnerError(
            f"syntax error: {err.msg}\n    at {learner_location(err, path)}"
        ) from None
    except (Exception, SystemExit) as err:
        where = learner_location(err, path)
        raise LearnerError(
            f"importing {path.name} raised {type(err).__name__}: {err}"
            + (f"\n    at {where}" if where else "")
        ) from None
    return module


def is_untouched(exercise: Exercise, path: Path) -> bool:
    """Whether the file is still the stub as ``dlf learn init`` wrote it."""
    return path.read_text(encoding="utf-8") == exercise.stub


def grade_file(exercise: Exercise, path: Path) -> Grade:
    """Grade the learner's file in this process (the worker's job; tests call it directly)."""
    start = time.perf_counter()
    path = Path(path).resolve()

    def done(state: str, checks: list[Check], error: str = "") -> Grade:
        return Grade(exercise.name, state, checks, error, round(time.perf_counter() - start, 3))

    if not path.is_file():
        return done(NOT_STARTED, [], f"{path} is missing: `dlf learn init` writes it again")
    if is_untouched(exercise, path):
        return done(NOT_STARTED, [])
    grader = None
    try:
        grader = Grader(load_learner_module(path), path)
        borrowed = calls_to_itself(
            path.read_text(encoding="utf-8"), exercise.stub, vars(grader.module)
        )
        grader.check(
            "your own code (not dlf's)",
            not borrowed,
            "; ".join(borrowed),
            "the exercise is to write this piece yourself; dlf's version is the reference",
        )
        exercise.grade(grader)
    except LearnerError as err:
        return done(FAILING, grader.checks if grader else [], str(err))
    except (Exception, SystemExit) as err:
        where = learner_location(err, path)
        return done(
            FAILING,
            grader.checks if grader else [],
            f"grading stopped: {type(err).__name__}: {err}".splitlines()[0]
            + (
                f"\n    at {where}"
                if where
                else "\n    check what your code returns: its docstring gives the types and shapes"
            ),
        )
    ok = bool(grader.checks) and all(c.passed for c in grader.checks)
    return done(PASSED if ok else FAILING, grader.checks)


def worker_env() -> dict[str, str]:
    """The child's environment: one BLAS thread (graders use small arrays; two run at once)."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    return env


def grade_in_subprocess(exercise: Exercise, path: Path, timeout: float | None = None) -> Grade:
    """Grade in a child process, stopped after ``timeout`` seconds (the exercise's by default)."""
    path = Path(path).resolve()
    if not path.is_file() or is_untouched(exercise, path):
        return grade_file(exercise, path)
    limit = exercise.timeout if timeout is None else timeout
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "dlf.learn.worker", exercise.name, str(path)]
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=limit,
            env=worker_env(),
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return Grade(
            exercise.name,
            FAILING,
            [],
            f"grading took longer than {limit:g} s and was stopped: is there a loop that never "
            f"ends in {path}?",
            round(time.perf_counter() - start, 3),
        )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        return Grade(
            exercise.name,
            FAILING,
            [],
            f"the grading process ended with status {proc.returncode} while running {path}: {tail}",
            round(time.perf_counter() - start, 3),
        )
    grade = Grade.from_json(json.loads(lines[-1]))
    grade.seconds = round(time.perf_counter() - start, 3)
    return grade
