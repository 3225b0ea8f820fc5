"""A critical checkpoint of the path: a claim, and a function that proves it with a number."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Evidence:
    """The verdict of a check and the figure that supports it, e.g. ``max rel. error 3e-10``."""

    passed: bool
    figure: str


@dataclass(frozen=True)
class Checkpoint:
    """``check()`` returns Evidence for ``claim``; it runs in seconds, on synthetic data."""

    module: int
    name: str
    claim: str
    check: Callable[[], Evidence]


@dataclass(frozen=True)
class CheckpointResult:
    module: int
    name: str
    claim: str
    status: str  # "pass", "fail" or "not built yet"
    figure: str
    seconds: float

    @property
    def mark(self) -> str:
        return {"pass": "✓", "fail": "✗"}.get(self.status, "·")


def run_checkpoint(cp: Checkpoint) -> CheckpointResult:
    """Run one check; an exception is a failure whose figure is the error's last line."""
    start = time.perf_counter()
    try:
        evidence = cp.check()
        status, figure = ("pass" if evidence.passed else "fail"), evidence.figure
    except Exception as err:  # a broken check is a failed check, shown with its error
        status = "fail"
        figure = f"error: {type(err).__name__}: {err}".splitlines()[0]
        figure += f" ({traceback.extract_tb(err.__traceback__)[-1].filename.split('/')[-1]})"
    return CheckpointResult(
        cp.module, cp.name, cp.claim, status, figure, time.perf_counter() - start
    )
