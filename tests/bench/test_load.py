import math
import os

import pytest

from dlf.bench.load import bench_load


@pytest.mark.slow
def test_bench_load_times_a_quick_run_alone_and_beside_a_busy_process():
    report = bench_load("bias-variance", busy=(1,), all_cores=False)
    names = [row[0] for row in report.rows]
    assert names == ["alone", "alone, 1 thread", "beside 1 busy", "  ratio to alone",
                     "  fair-share bound on 1 thread"]  # fmt: skip
    assert all(value > 0 and math.isfinite(value) for _, value, _ in report.rows)
    values = dict(zip(names, (row[1] for row in report.rows), strict=True))
    assert report.ratio == pytest.approx(values["beside 1 busy"] / values["alone"])
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    share = min(1.0, cpus / 2)  # one thread beside one busy loop
    bound = values["alone, 1 thread"] / share / values["alone"]
    assert values["  fair-share bound on 1 thread"] == pytest.approx(bound)
    assert "target <= 1.5x" in report.notes[0] and "fair share" in report.notes[0]
    assert "ratio ours/peer" in report.format()
