"""Threads for a run from the cores free now, not from the count of an idle machine.

On a machine where other processes are running, a run that starts one thread per CPU gets
threads that wait for each other at every parallel step while the kernel hands their cores to
the other work: a short run can take many times its fair share. A run therefore takes as many
threads as there are CPUs that no other runnable process is using when it starts.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from collections.abc import Iterator

from threadpoolctl import threadpool_limits


def _cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _others_running() -> int | None:
    """Runnable tasks on the machine now, other than this one (Linux ``procs_running``)."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            for line in stat:
                if line.startswith("procs_running"):
                    return max(0, int(line.split()[1]) - 1)
    except OSError:
        return None
    return None


def free_cores(samples: int = 5, interval: float = 0.02) -> int:
    """CPUs not taken by other runnable processes now: ``cpus - others``, at least 1.

    ``others`` is the median of ``samples`` readings of the runnable tasks, ``interval``
    seconds apart. Example: 2 CPUs, one busy process beside this one -> 1; an idle machine
    -> 2. Where the count cannot be read (not Linux), all CPUs.
    """
    readings = []
    for i in range(samples):
        others = _others_running()
        if others is None:
            return _cpus()
        readings.append(others)
        if i + 1 < samples:
            time.sleep(interval)
    return max(1, _cpus() - round(statistics.median(readings)))


def run_threads() -> int:
    """The thread count for a run: ``$DLF_THREADS`` if set (a whole number >= 1), else the
    cores free now (:func:`free_cores`)."""
    text = os.environ.get("DLF_THREADS", "").strip()
    if not text:
        return free_cores()
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"DLF_THREADS must be a whole number >= 1, got {text!r}")
    return int(text)


@contextlib.contextmanager
def use_threads(n: int) -> Iterator[int]:
    """Inside the block, BLAS, OpenMP and (if imported) PyTorch use ``n`` threads; restored after.

    A recipe that sets its own count inside (a tiny model that runs fastest on one thread)
    still does so.
    """
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=n):
        if torch is not None:
            torch.set_num_threads(n)
        try:
            yield n
        finally:
            if torch is not None:
                torch.set_num_threads(before)
