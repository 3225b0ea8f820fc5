"""Benchmarks: ours against a peer, measured in the same run, reported as a ratio.

Timings live here and never in tests: machines are shared and noisy, so a benchmark takes the
best of several repeats after a warm-up, and reports the ratio ``ours / peer`` (below 1: faster).
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def best_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Best wall-clock seconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls.

    The minimum is the figure least disturbed by other work on the machine.
    Example: ``best_time(lambda: sum(range(10**6)), repeats=3)`` -> the fastest of 3 calls, in
    seconds.
    """
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def cpu_model() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo; else ``platform.processor()``) and the number
    of CPUs: ``"<model name> (<n> CPUs)"``."""
    name = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{name} ({os.cpu_count()} CPUs)"


def load_average() -> float:
    """The 1-minute load average (NaN where the system has none): other work skews timings."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


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
