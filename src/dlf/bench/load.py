"""``dlf bench load``: a quick recipe's wall time on a busy machine against a quiet one.

The recipe runs as ``dlf run NAME --quick`` in a fresh process: first alone, then beside ``k``
busy processes (each a Python loop that never sleeps) for each ``k`` of ``busy``. The ratios
``beside k / alone`` say how much a busy machine slows a run. A fair share of the cores bounds
them from below: a run on one thread beside k busy loops on C cores gets at most
min(1, C / (k + 1)) of a core, so it takes at least ``alone on 1 thread / min(1, C / (k + 1))``;
the report gives that bound as a ratio to the quiet run. With ``all_cores``, each busy case
runs again with ``DLF_THREADS`` set to every CPU, as a run that assumes an idle machine would,
for comparison.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from dlf.bench import BenchReport

TARGETS = {1: 1.5, 5: 4.0}  # slow-down allowed beside k busy processes


def _timed_run(recipe: str, runs_dir: str, env: dict[str, str]) -> float:
    command = [sys.executable, "-m", "dlf", "run", recipe, "--quick", "--quiet"]
    start = time.perf_counter()
    subprocess.run([*command, "--runs-dir", runs_dir], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def _beside(k: int, recipe: str, runs_dir: str, env: dict[str, str]) -> float:
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(k)]
    try:
        time.sleep(0.5)  # let the loops start before the run counts the free cores
        return _timed_run(recipe, runs_dir, env)
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def bench_load(
    recipe: str = "resnet-depth", busy: tuple[int, ...] = (1, 5), all_cores: bool = True
) -> BenchReport:
    """Wall seconds of ``dlf run RECIPE --quick`` alone and beside ``k`` busy processes."""
    report = BenchReport(f"load ({recipe} --quick)")
    env = {k: v for k, v in os.environ.items() if k != "DLF_THREADS"}
    cpus = str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    with tempfile.TemporaryDirectory(prefix="dlf-bench-load-") as runs_dir:
        _timed_run(recipe, runs_dir, env)  # warm-up: imports and data files into the page cache
        alone = _timed_run(recipe, runs_dir, env)
        alone_1 = _timed_run(recipe, runs_dir, {**env, "DLF_THREADS": "1"})
        report.rows += [("alone", alone, "s"), ("alone, 1 thread", alone_1, "s")]
        for k in busy:
            seconds = _beside(k, recipe, runs_dir, env)
            ratio = seconds / alone
            bound = alone_1 / min(1.0, int(cpus) / (k + 1)) / alone
            report.rows += [(f"beside {k} busy", seconds, "s"), ("  ratio to alone", ratio, "x"),
                            ("  fair-share bound on 1 thread", bound, "x")]  # fmt: skip
            if k in TARGETS:
                met = "met" if ratio <= TARGETS[k] else "not met"
                report.notes.append(
                    f"beside {k}: {ratio:.2f}x (target <= {TARGETS[k]:g}x: {met}; a one-thread "
                    f"run's fair share allows {bound:.2f}x at best)"
                )
            if all_cores:
                fixed = _beside(k, recipe, runs_dir, {**env, "DLF_THREADS": cpus})
                report.rows.append((f"beside {k} busy, {cpus} threads", fixed, "s"))
        if busy:
            report.ratio, report.ratio_of = seconds / alone, f"time beside {busy[-1]} busy / alone"
            report.target = TARGETS.get(busy[-1])
    return report
