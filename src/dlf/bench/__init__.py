"""Benchmarks: ours against a peer, measured in the same run, reported as a ratio.

Timings live here and never in tests: machines are shared and noisy, so a benchmark takes the
best of several repeats after a warm-up, and reports the ratio ``ours / peer`` (below 1: faster).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


def best_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Best wall-clock seconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls.

    The minimum is the figure least disturbed by other work on the machine.
    Example: ``best_time(lambda: sum(range(10**6)), repeats=3)`` -> ``0.012`` (seconds).
    """
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


@dataclass
class BenchReport:
    """What one benchmark measured: rows of (what, value, unit) and the headline ratio.

    ``ratio`` is ours / peer for the quantity named by ``ratio_of`` (e.g. "time per epoch"), and
    ``target`` the ratio the project aims for (``ratio <= target`` meets it).
    """

    name: str
    rows: list[tuple[str, float, str]] = field(default_factory=list)
    ratio: float | None = None
    ratio_of: str = ""
    target: float | None = None
    notes: list[str] = field(default_factory=list)

    def format(self) -> str:
        """The report as aligned plain-text lines, ready to print."""
        width = max([len(r[0]) for r in self.rows] + [10])
        lines = [f"bench {self.name}"]
        lines += [f"  {what:<{width}}  {value:>12.4g} {unit}" for what, value, unit in self.rows]
        if self.ratio is not None:
            verdict = ""
            if self.target is not None:
                met = "met" if self.ratio <= self.target else "not met"
                verdict = f"  (target <= {self.target:g}: {met})"
            lines.append(f"  ratio ours/peer, {self.ratio_of}: {self.ratio:.3f}{verdict}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)
